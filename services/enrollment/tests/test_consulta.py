"""The bulk detail read (`POST /v1/familias/consulta`): each family as the single read answers
it and audits it (one LEER_FAMILIA row per family, same actor and role), in a number of
statements that does not grow with the list; all or nothing, so a refusal reads and audits
nothing."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from juntos_testing.db import statements
from juntos_web import Role
from sqlalchemy import text

from .conftest import como
from .test_lotes import DESCONOCIDA, hogares

N, M, C = Role.NACIONAL, Role.MUNICIPAL, Role.COGESTOR
MUNICIPAL = "coordinadora-05001"


def municipal(app: FastAPI) -> dict[str, str]:
    return como(app, M, "05001", sub=MUNICIPAL)


async def consulta(
    client: httpx.AsyncClient, headers: dict[str, str], ids: list[str]
) -> httpx.Response:
    return await client.post("/v1/familias/consulta", json={"familia_ids": ids}, headers=headers)


async def lecturas(app: FastAPI) -> list[tuple[str, str, str]]:
    """Every LEER_FAMILIA audit row as (actor, role, family), oldest first."""
    async with app.state.engine.connect() as conn:
        filas = await conn.execute(
            text(
                "SELECT actor, rol, familia_id FROM auditoria WHERE accion = 'LEER_FAMILIA'"
                " ORDER BY id"
            )
        )
        return [tuple(f) for f in filas]


async def test_each_family_as_the_single_read_answers_and_audits_it(client, app) -> None:
    familias = [f["familia_id"] for f in await hogares(client, app, "05001", 3, "7")]
    borrada = familias[1]  # erased: its members without personal data, as the single read says
    r = await client.delete(f"/v1/familias/{borrada}/datos-personales", headers=como(app, N))
    assert r.status_code == 200, r.text
    pedidas = [familias[2], familias[0], borrada]  # the answer keeps the order asked

    antes = len(await lecturas(app))
    junta = await consulta(client, municipal(app), pedidas)
    assert junta.status_code == 200, junta.text
    auditadas_juntas = (await lecturas(app))[antes:]
    solas = []
    for fid in pedidas:
        r = await client.get(f"/v1/familias/{fid}", headers=municipal(app))
        assert r.status_code == 200, r.text
        solas.append(r.json())
    auditadas_solas = (await lecturas(app))[antes + len(pedidas) :]

    assert junta.json()["familias"] == solas
    assert all(i["datos"] is None for i in solas[2]["integrantes"])
    assert all(i["datos"]["numero_documento"] for i in solas[0]["integrantes"])
    assert auditadas_juntas == auditadas_solas == [(MUNICIPAL, "MUNICIPAL", f) for f in pedidas]


async def test_the_statements_do_not_grow_with_the_list(client, app) -> None:
    familias = [f["familia_id"] for f in await hogares(client, app, "05001", 12, "8")]
    enviadas = statements(app.state.engine)
    assert (await consulta(client, como(app, N), familias[:1])).status_code == 200
    una = len(enviadas)
    enviadas.clear()
    r = await consulta(client, como(app, N), familias)
    assert r.status_code == 200 and len(r.json()["familias"]) == 12
    assert len(enviadas) == una, enviadas
    assert sum("auditoria" in s for s in enviadas) == 1  # the 12 audit rows in one insert


async def test_a_family_outside_the_scope_or_unknown_refuses_all_and_audits_nothing(
    client, app
) -> None:
    propia = (await hogares(client, app, "05001", 1, "5"))[0]["familia_id"]
    ajena = (await hogares(client, app, "05002", 1, "6"))[0]["familia_id"]
    antes = await lecturas(app)

    fuera = await consulta(client, municipal(app), [propia, ajena, DESCONOCIDA])
    assert fuera.status_code == 403, fuera.text
    assert fuera.headers["content-type"].startswith("application/problem+json")
    assert fuera.json()["type"].endswith("out-of-scope")
    assert fuera.json()["motivos"] == [
        "familia_ids[1]: the family is outside your scope",
        "familia_ids[2]: no family with that id",
    ]
    desconocida = await consulta(client, municipal(app), [propia, DESCONOCIDA])
    assert desconocida.status_code == 404, desconocida.text
    assert desconocida.json()["motivos"] == ["familia_ids[1]: no family with that id"]
    # a cogestor reads only the families assigned to it, as with the single read
    cogestor = await consulta(client, como(app, C, "05001", sub="cgs-nadie"), [propia])
    assert cogestor.status_code == 403, cogestor.text
    assert await lecturas(app) == antes

    vacia = await consulta(client, como(app, N), [])
    assert vacia.status_code == 422
    assert vacia.headers["content-type"].startswith("application/problem+json")
    assert await lecturas(app) == antes

    # a family listed twice is answered twice, and read (audited) once
    dos_veces = await consulta(client, como(app, N, sub="nacional"), [propia, propia])
    assert dos_veces.status_code == 200, dos_veces.text
    assert [f["familia_id"] for f in dos_veces.json()["familias"]] == [propia, propia]
    assert (await lecturas(app))[len(antes) :] == [("nacional", "NACIONAL", propia)]
