"""Bulk commands: a cogestor's signed acuerdos (`POST /v1/vinculaciones`) get, item by item,
what the single vinculación gives, in a number of statements that does not grow with the batch,
one by one again when a race is lost; a list of families for one cogestor
(`PUT /v1/cogestores/{id}/familias`) is all or nothing, its capacity checked once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from enrollment import domain, handlers
from enrollment.events import Integrante
from fastapi import FastAPI
from juntos_testing.db import statements
from juntos_web import Role

from .conftest import como

C, N = Role.COGESTOR, Role.NACIONAL
COGESTORA = "cgs-ana"
DESCONOCIDA = "00000000-0000-4000-8000-000000000000"
FECHA = "2026-01-15"
CABECERA = (
    "hogar,tipo_documento,numero_documento,primer_nombre,segundo_nombre,primer_apellido,"
    "segundo_apellido,fecha_nacimiento,sexo,parentesco,municipio,discapacidad,gestante,etnia,"
    "telefono,direccion,nivel_sisben"
)


async def hogares(
    client: httpx.AsyncClient, app: FastAPI, municipio: str, n: int, serie: str
) -> list[dict[str, Any]]:
    """`n` new SISBEN households (an adult head and a child) in `municipio`, in order:
    each as {"familia_id", "jefe", "hijo"} (member ids)."""
    filas = [CABECERA]
    for k in range(n):
        hogar, doc = f"H-{serie}-{k:03d}", f"9{serie}{k:04d}"
        filas.append(f"{hogar},CC,{doc}1,A,,B,,1980-01-01,M,JEFE,{municipio},N,N,NINGUNA,,,1")
        filas.append(f"{hogar},TI,{doc}2,C,,B,,2015-01-01,H,HIJO,{municipio},N,N,NINGUNA,,,1")
    r = await client.post(
        "/v1/importaciones/SISBEN",
        content="\n".join(filas) + "\n",
        headers={"content-type": "text/csv", **como(app, N)},
    )
    assert r.status_code == 200 and r.json()["resumen"]["hogares_nuevos"] == n, r.text
    por_documento = {}
    cursor = ""
    while True:
        pagina = (
            await client.get(
                f"/v1/familias?municipio={municipio}&limite=500"
                + (f"&cursor={cursor}" if cursor else ""),
                headers=como(app, N),
            )
        ).json()
        for f in pagina["items"]:
            detalle = (
                await client.get(f"/v1/familias/{f['familia_id']}", headers=como(app, N))
            ).json()
            ids = {i["parentesco"]: i for i in detalle["integrantes"]}
            por_documento[ids["JEFE"]["datos"]["numero_documento"]] = {
                "familia_id": f["familia_id"],
                "jefe": ids["JEFE"]["integrante_id"],
                "hijo": ids.get("HIJO", {}).get("integrante_id"),
                "hijo_atributos": ids.get("HIJO"),
            }
        if not (cursor := pagina["siguiente"]):
            break
    return [por_documento[f"9{serie}{k:04d}1"] for k in range(n)]


def acuerdo(familia: dict, firmante: str, fecha: str = FECHA, lugar: str = "05001") -> dict:
    return {
        "familia_id": familia["familia_id"],
        "fecha": fecha,
        "firmante_id": familia[firmante],
        "lugar_municipio": lugar,
    }


def cogestora(app: FastAPI) -> dict[str, str]:
    return como(app, C, "05001", sub=COGESTORA)


async def uno(client: httpx.AsyncClient, app: FastAPI, item: dict) -> httpx.Response:
    cuerpo = {k: v for k, v in item.items() if k != "familia_id"}
    return await client.post(
        f"/v1/familias/{item['familia_id']}/vinculacion", json=cuerpo, headers=cogestora(app)
    )


async def lote(client: httpx.AsyncClient, app: FastAPI, items: list[dict]) -> dict:
    r = await client.post("/v1/vinculaciones", json={"items": items}, headers=cogestora(app))
    assert r.status_code == 200, r.text
    return r.json()


async def eventos(app: FastAPI, stream: str) -> list[Any]:
    async with app.state.engine.connect() as conn:
        return [r.event for r in await handlers.store.read(conn, stream)]


# --- vinculaciones ----------------------------------------------------------------------------


def casos(w: list[dict], lejos: dict) -> list[dict]:
    """One item of each kind, over a world of four families of 05001 and one of 05002."""
    a, b, c, d = w
    return [
        acuerdo(a, "jefe"),  # new
        acuerdo(b, "jefe"),  # b signed this very acuerdo before: a resend
        acuerdo(c, "hijo"),  # refused: the signer is a child
        acuerdo(lejos, "jefe", lugar="05002"),  # another municipality's family
        {**acuerdo(a, "jefe"), "familia_id": DESCONOCIDA},  # no such family
        acuerdo(d, "hijo"),  # d four times, in order: refused,
        acuerdo(d, "jefe"),  # applied,
        acuerdo(d, "jefe"),  # resent,
        acuerdo(d, "jefe", fecha="2026-02-01"),  # another acuerdo: already vinculada
    ]


REENVIOS = {1, 7}  # the single route answers 409 already-vinculada; the batch DUPLICADO


async def test_every_kind_of_item_gets_what_the_single_route_gives(client, app) -> None:
    solo, junto = (
        await hogares(client, app, "05001", 4, "1"),
        await hogares(client, app, "05001", 4, "2"),
    )
    lejos_solo, lejos_junto = await hogares(client, app, "05002", 2, "3")
    for w in (solo, junto):
        assert (await uno(client, app, acuerdo(w[1], "jefe"))).status_code == 200
    esperados = []
    for n, item in enumerate(casos(solo, lejos_solo)):
        r = await uno(client, app, item)
        cuerpo = r.json()
        if r.status_code == 200:
            esperados.append(("APLICADO", cuerpo["version"], None, None, None))
        elif n in REENVIOS:
            assert cuerpo["type"].endswith("already-vinculada"), cuerpo
            esperados.append(("DUPLICADO", None, None, None, None))
        else:
            tipo = cuerpo["type"].removeprefix("urn:juntos:problem:")
            esperados.append(("RECHAZADO", None, r.status_code, tipo, cuerpo["detail"]))
    respuesta = await lote(client, app, casos(junto, lejos_junto))
    obtenidos = [
        (
            r["estado"],
            r["version"] if r["estado"] == "APLICADO" else None,
            r["status"],
            r["tipo"],
            r["detalle"],
        )
        for r in respuesta["resultados"]
    ]
    assert obtenidos == esperados
    assert [r["estado"] for r in respuesta["resultados"]] == [
        "APLICADO",
        "DUPLICADO",
        "RECHAZADO",
        "RECHAZADO",
        "RECHAZADO",
        "RECHAZADO",
        "APLICADO",
        "DUPLICADO",
        "RECHAZADO",
    ]
    assert respuesta["resumen"] == {"APLICADO": 2, "DUPLICADO": 2, "RECHAZADO": 5}
    assert [r["status"] for r in respuesta["resultados"]] == [
        None,
        None,
        422,
        403,
        404,
        422,
        None,
        None,
        409,
    ]
    # a resend answers the family's current version, and the same families hold the same events
    for n, r in enumerate(respuesta["resultados"][:3]):
        assert r["familia_id"] == junto[n]["familia_id"]
    for antes, ahora in zip([*solo, lejos_solo], [*junto, lejos_junto], strict=True):
        eventos_solo = await eventos(app, antes["familia_id"])
        eventos_junto = await eventos(app, ahora["familia_id"])
        assert [e.event_type for e in eventos_junto] == [e.event_type for e in eventos_solo]
        for x, y in zip(eventos_solo, eventos_junto, strict=True):
            if isinstance(x, domain.FamiliaVinculada):
                ignorar = {"familia_id", "firmante_id"}
                assert x.model_dump(exclude=ignorar) == y.model_dump(exclude=ignorar)
    # the read model follows, and each family's version is what the batch answered
    for r in respuesta["resultados"]:
        if r["version"] is not None:
            f = await client.get(f"/v1/familias/{r['familia_id']}", headers=como(app, N))
            assert f.headers["ETag"] == f'"{r["version"]}"'
            assert f.json()["estado"] == "VINCULADA"


async def test_a_batch_costs_the_same_statements_for_one_family_or_twenty(client, app) -> None:
    familias = await hogares(client, app, "05001", 21, "4")
    enviados = statements(app.state.engine)
    await lote(client, app, [acuerdo(familias[0], "jefe")])
    por_una = len(enviados)
    enviados.clear()
    respuesta = await lote(client, app, [acuerdo(f, "jefe") for f in familias[1:]])
    assert respuesta["resumen"] == {"APLICADO": 20}
    assert len(enviados) == por_una, enviados


async def test_a_lost_race_sends_the_batch_one_by_one(client, app, monkeypatch) -> None:
    a, b = await hogares(client, app, "05001", 2, "5")
    anexar = handlers.store.append_many
    carreras: list[handlers.Resultado] = []

    async def con_carrera(conn, stream_type, streams, **opciones):
        # between the batch's read of the families and its append, another writer corrects a
        if not carreras and stream_type == handlers.FAMILIA:
            hijo = {k: v for k, v in a["hijo_atributos"].items() if k != "datos"}
            integrante = Integrante.model_validate({**hijo, "etnia": "RAIZAL"})
            correccion = domain.CorregirIntegrante(integrante=integrante, sellado=None)
            carreras.append(
                await handlers.ejecutar(
                    app.state.enrollment,
                    a["familia_id"],
                    handlers.comando(correccion),
                    actor="otro",
                )
            )
        return await anexar(conn, stream_type, streams, **opciones)

    monkeypatch.setattr(handlers.store, "append_many", con_carrera)
    respuesta = await lote(client, app, [acuerdo(a, "jefe"), acuerdo(b, "jefe")])
    assert carreras and carreras[0].events
    assert [r["estado"] for r in respuesta["resultados"]] == ["APLICADO", "APLICADO"], respuesta
    assert respuesta["resultados"][0]["version"] == carreras[0].version + 1
    for familia in (a, b):
        tipos = [e.event_type for e in await eventos(app, familia["familia_id"])]
        assert tipos.count("FamiliaVinculada") == 1, tipos
    assert "IntegranteActualizado" in [e.event_type for e in await eventos(app, a["familia_id"])]


# --- bulk assignment --------------------------------------------------------------------------


async def registrar(client, app, cogestor_id: str, capacidad: int) -> None:
    r = await client.put(
        f"/v1/cogestores/{cogestor_id}",
        json={
            "operador": "op",
            "microrregion": "mr",
            "municipios": ["05001"],
            "capacidad": capacidad,
        },
        headers=como(app, N),
    )
    assert r.status_code == 200, r.text


async def asignar(
    client, app, cogestor_id: str, familias: list[dict], quien=None
) -> httpx.Response:
    return await client.put(
        f"/v1/cogestores/{cogestor_id}/familias",
        json={"familias": [f["familia_id"] for f in familias]},
        headers=quien or como(app, Role.MUNICIPAL, "05001"),
    )


async def carga(client, app, cogestor_id: str) -> int:
    return (await client.get(f"/v1/cogestores/{cogestor_id}", headers=como(app, N))).json()["carga"]


async def cogestor_de(client, app, familia: dict) -> str | None:
    r = await client.get(f"/v1/familias/{familia['familia_id']}", headers=como(app, N))
    return r.json()["cogestor_id"]


async def test_bulk_assignment_is_all_or_nothing_and_names_every_bad_family(client, app) -> None:
    cerca = await hogares(client, app, "05001", 4, "6")
    (lejos,) = await hogares(client, app, "05002", 1, "7")
    await registrar(client, app, COGESTORA, 10)
    retiro = await client.post(
        f"/v1/familias/{cerca[3]['familia_id']}/retiro",
        json={"motivo": "VOLUNTARIO", "fecha": "2026-02-01"},
        headers=como(app, N),
    )
    assert retiro.status_code == 200
    r = await asignar(client, app, COGESTORA, [cerca[0], lejos, cerca[3], cerca[0]], como(app, N))
    assert r.status_code == 422 and r.json()["type"].endswith("invalid-families"), r.text
    assert r.json()["motivos"] == [
        "familias[1]: the cogestor's microregion does not include municipality 05002",
        "familias[2]: a family that is RETIRADA cannot be assigned a cogestor",
        "familias[3]: the same family as familias[0]",
    ]
    assert await carga(client, app, COGESTORA) == 0
    assert await cogestor_de(client, app, cerca[0]) is None
    # scope first: a municipal coordinator of 05001 cannot list a family of 05002
    fuera = await asignar(client, app, COGESTORA, [cerca[0], lejos])
    assert fuera.status_code == 403, fuera.text
    assert fuera.json()["motivos"] == ["familias[1]: the family is outside your scope"]
    desconocida = await asignar(client, app, COGESTORA, [{"familia_id": DESCONOCIDA}])
    assert desconocida.status_code == 404
    assert desconocida.json()["motivos"] == ["familias[0]: no family with that id"]
    nadie = await asignar(client, app, "cgs-nadie", [cerca[0]])
    assert nadie.status_code == 404 and "not registered" in nadie.json()["detail"]
    assert await carga(client, app, COGESTORA) == 0


async def test_bulk_assignment_checks_the_capacity_once_and_moves_families(client, app) -> None:
    cerca = await hogares(client, app, "05001", 3, "8")
    await registrar(client, app, COGESTORA, 2)
    lleno = await asignar(client, app, COGESTORA, cerca)
    assert lleno.status_code == 409 and lleno.json()["type"].endswith("over-capacity"), lleno.text
    assert "already has 0 families and 3 more were asked for" in lleno.json()["detail"]
    assert await carga(client, app, COGESTORA) == 0
    hecho = await asignar(client, app, COGESTORA, cerca[:2])
    assert hecho.status_code == 200, hecho.text
    assert hecho.json()["cambiadas"] == 2 and hecho.json()["cogestor"]["carga"] == 2
    versiones = [f["version"] for f in hecho.json()["familias"]]
    for f, v in zip(cerca[:2], versiones, strict=True):
        detalle = await client.get(f"/v1/familias/{f['familia_id']}", headers=como(app, N))
        assert detalle.headers["ETag"] == f'"{v}"' and detalle.json()["cogestor_id"] == COGESTORA
    # the same list again changes nothing, and is not over the (full) capacity
    otra_vez = await asignar(client, app, COGESTORA, cerca[:2])
    assert otra_vez.status_code == 200 and otra_vez.json()["cambiadas"] == 0
    # another cogestor takes one of them and the third: the first one's place is freed
    await registrar(client, app, "cgs-beto", 5)
    movidas = await asignar(client, app, "cgs-beto", cerca[1:])
    assert movidas.status_code == 200 and movidas.json()["cambiadas"] == 2, movidas.text
    assert await carga(client, app, COGESTORA) == 1 and await carga(client, app, "cgs-beto") == 2
    tipos = [e.event_type for e in await eventos(app, handlers.cogestor_stream(COGESTORA))]
    assert tipos == [
        "CogestorRegistrado",
        "FamiliaAsignadaACogestor",
        "FamiliaAsignadaACogestor",
        "FamiliaLiberadaDeCogestor",
    ]
    (movida,) = [
        e
        for e in await eventos(app, cerca[1]["familia_id"])
        if isinstance(e, domain.CogestorAsignado) and e.cogestor_id == "cgs-beto"
    ]
    assert movida.anterior_id == COGESTORA


async def test_concurrent_lists_for_the_last_places_one_wins(client, app) -> None:
    cerca = await hogares(client, app, "05001", 4, "9")
    await registrar(client, app, COGESTORA, 3)
    a, b = await asyncio.gather(
        asignar(client, app, COGESTORA, cerca[:2]), asignar(client, app, COGESTORA, cerca[2:])
    )
    assert sorted([a.status_code, b.status_code]) == [200, 409], (a.text, b.text)
    assert await carga(client, app, COGESTORA) == 2


async def test_a_bulk_assignment_costs_the_same_statements_for_one_family_or_twenty(
    client, app
) -> None:
    familias = await hogares(client, app, "05001", 21, "0")
    await registrar(client, app, COGESTORA, 100)
    enviados = statements(app.state.engine)
    assert (await asignar(client, app, COGESTORA, familias[:1])).status_code == 200
    por_una = len(enviados)
    enviados.clear()
    r = await asignar(client, app, COGESTORA, familias[1:])
    assert r.status_code == 200 and r.json()["cambiadas"] == 20
    assert len(enviados) == por_una, enviados
