"""The program-level batch (`POST /v1/programas/{id}/asignacion-masiva`): the same picks,
explanations, events and read models as the per-line batch called line by line, in one
transaction, within the caller's scope, nothing written by a simulation or a refusal."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from juntos_web import Role

from .conftest import como, entidad, eventos, familia, habilitar, miembro, plan, registrar, tablero

MUNICIPIOS = ["05001", "05002", "05004"]
LINEAS = [("05001", "2026", 3), ("05002", "2026", 2), ("05004", "2026", 1), ("05001", "2026-S2", 4)]


async def _poblacion(app: FastAPI) -> None:
    """Families with a child pending LB8 in 05001 and 05002 (none in 05004): more than slots."""
    for i, (m, desde) in enumerate(
        [
            ("05001", "2026-01-01"),
            ("05001", "2026-03-01"),
            ("05001", "2026-03-01"),
            ("05001", "2026-05-01"),
            ("05002", "2026-02-01"),
            ("05002", "2026-02-01"),
            ("05002", "2026-06-01"),
        ]
    ):
        f = await familia(
            app,
            miembro("1985-01-01", parentesco="JEFE"),
            miembro("2024-02-02"),
            miembro("2023-05-05"),
            municipio=m,
            desplazada=i % 3 == 0,
            familia_id=f"fam-{i}",
        )
        await tablero(app, f, desde, {"LB8": [f.id_de(1), f.id_de(2)]})
        if i in (3, 6):
            await plan(app, f, 1, ["LB8"])


async def _programa(client: httpx.AsyncClient, app: FastAPI) -> dict:
    p = await registrar(client, app, municipios=MUNICIPIOS)
    for m, periodo, n in LINEAS:
        await habilitar(client, app, p, n, municipio=m, periodo=periodo)
    return p


def _sin_ids(x: dict) -> dict:
    return {k: v for k, v in x.items() if k not in ("cupo_id", "programa_id")}


async def _asignados(app: FastAPI, p: dict) -> list[dict]:
    return [
        _sin_ids(e)
        for e in await eventos(app, "CupoAsignado")
        if e["programa_id"] == p["programa_id"]
    ]


async def _lineas(client: httpx.AsyncClient, app: FastAPI, p: dict) -> list[tuple]:
    vistas = []
    for m, periodo, _ in LINEAS:
        r = await client.get(
            f"/v1/programas/{p['programa_id']}/cupos/{m}/{periodo}", headers=entidad(app)
        )
        v = r.json()
        vistas.append((m, periodo, v["capacidad"], v["asignados"], v["libres"], v["version"]))
    return vistas


def _masiva(p: dict) -> str:
    return f"/v1/programas/{p['programa_id']}/asignacion-masiva"


async def test_the_program_batch_picks_and_writes_as_the_line_batches_one_by_one(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await _poblacion(app)
    por_linea, programa = await _programa(client, app), await _programa(client, app)
    esperadas = []
    for m in ("05001", "05002", "05004"):
        r = await client.post(
            f"/v1/programas/{por_linea['programa_id']}/cupos/{m}/2026/asignacion-masiva",
            json={"fecha": "2026-09-01"},
            headers=como(app, Role.NACIONAL),
        )
        assert r.status_code == 200, r.text
        esperadas.append(r.json())

    r = await client.post(
        _masiva(programa),
        json={"periodo": "2026", "fecha": "2026-09-01"},
        headers=como(app, Role.NACIONAL),
    )
    assert r.status_code == 200, r.text
    lote = r.json()
    assert not lote["simulacion"] and lote["criterio"] == esperadas[0]["criterio"]
    assert [x["municipio"] for x in lote["lineas"]] == ["05001", "05002", "05004"]
    for linea, una in zip(lote["lineas"], esperadas, strict=True):
        assert (linea["libres"], linea["candidatos"]) == (una["libres"], una["candidatos"])
        assert [_sin_ids(x) for x in linea["asignaciones"]] == [
            _sin_ids(x) for x in una["asignaciones"]
        ]
    assert [len(x["asignaciones"]) for x in lote["lineas"]] == [3, 2, 0]
    assert lote["lineas"][0]["candidatos"] == 8  # two children in each of 05001's 4 families
    # same events (but the ids), same read models; the 2026-S2 line is not touched
    assert await _asignados(app, programa) == await _asignados(app, por_linea)
    assert len(await _asignados(app, programa)) == 5
    assert await _lineas(client, app, programa) == await _lineas(client, app, por_linea)
    asignados = {e["cupo_id"] for e in await eventos(app, "CupoAsignado")}
    assert {x["cupo_id"] for lin in lote["lineas"] for x in lin["asignaciones"]} <= asignados
    listado = await client.get(
        f"/v1/cupos?programa_id={programa['programa_id']}", headers=como(app, Role.NACIONAL)
    )
    assert len(listado.json()["items"]) == 5
    # nothing left to assign: a second batch picks nobody and writes nothing
    otra = await client.post(
        _masiva(programa),
        json={"periodo": "2026", "fecha": "2026-09-01"},
        headers=como(app, Role.NACIONAL),
    )
    assert [x["asignaciones"] for x in otra.json()["lineas"]] == [[], [], []]
    assert len(await _asignados(app, programa)) == 5


async def test_a_simulation_writes_nothing_and_previews_the_picks(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await _poblacion(app)
    p = await _programa(client, app)
    cuerpo = {"periodo": "2026", "municipios": ["05002", "05001"], "fecha": "2026-09-01"}
    vista = await client.post(
        _masiva(p), json={**cuerpo, "simular": True}, headers=como(app, Role.NACIONAL)
    )
    assert vista.status_code == 200, vista.text
    assert vista.json()["simulacion"]
    assert await eventos(app, "CupoAsignado") == []
    assert [x[3] for x in await _lineas(client, app, p)] == [0, 0, 0, 0]
    real = await client.post(_masiva(p), json=cuerpo, headers=como(app, Role.NACIONAL))
    for simulada, hecha in zip(vista.json()["lineas"], real.json()["lineas"], strict=True):
        assert all(x["cupo_id"] is None for x in simulada["asignaciones"])
        assert [{**x, "cupo_id": None} for x in hecha["asignaciones"]] == simulada["asignaciones"]
    assert [x["municipio"] for x in real.json()["lineas"]] == ["05002", "05001"]


async def test_scope_and_refusals_write_nothing(client: httpx.AsyncClient, app: FastAPI) -> None:
    await _poblacion(app)
    p = await _programa(client, app)
    medellin = como(app, Role.MUNICIPAL, "05001")
    fuera = await client.post(
        _masiva(p), json={"periodo": "2026", "municipios": ["05001", "05002"]}, headers=medellin
    )
    assert fuera.status_code == 403 and "05002" in fuera.json()["detail"]
    otra = await client.post(
        _masiva(p), json={"periodo": "2026"}, headers=como(app, Role.ENTIDAD, "otra-entidad")
    )
    assert otra.status_code == 403
    sin_cupos = await client.post(
        _masiva(p),
        json={"periodo": "2026-S1", "municipios": ["05001", "05002"]},
        headers=como(app, Role.NACIONAL),
    )
    assert sin_cupos.status_code == 409 and sin_cupos.json()["type"].endswith("no-slots")
    assert sin_cupos.json()["motivos"] == ["05001: no slots enabled", "05002: no slots enabled"]
    dos_veces = await client.post(
        _masiva(p),
        json={"periodo": "2026", "municipios": ["05001", "05001"]},
        headers=como(app, Role.NACIONAL),
    )
    assert dos_veces.status_code == 422 and "at most once" in dos_veces.text
    ninguna = await client.post(
        _masiva(p), json={"periodo": "2027"}, headers=como(app, Role.NACIONAL)
    )  # no line in that period: nothing to fill
    assert ninguna.status_code == 200 and ninguna.json()["lineas"] == []
    assert await eventos(app, "CupoAsignado") == []
    # without `municipios`, a municipal caller fills the lines of its own municipality only
    propias = await client.post(
        _masiva(p), json={"periodo": "2026", "fecha": "2026-09-01"}, headers=medellin
    )
    assert propias.status_code == 200, propias.text
    assert [x["municipio"] for x in propias.json()["lineas"]] == ["05001"]
    assert {e["municipio"] for e in await eventos(app, "CupoAsignado")} == {"05001"}


async def test_concurrent_batches_never_exceed_capacity_nor_assign_twice(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Lost races retry the whole batch on fresh state: each slot goes once."""
    await _poblacion(app)
    p = await _programa(client, app)
    cuerpo = {"periodo": "2026", "fecha": "2026-09-01"}
    respuestas = await asyncio.gather(
        *(client.post(_masiva(p), json=cuerpo, headers=como(app, Role.NACIONAL)) for _ in range(3)),
        client.post(
            f"/v1/programas/{p['programa_id']}/cupos/05001/2026/asignacion-masiva",
            json={"fecha": "2026-09-01"},
            headers=como(app, Role.NACIONAL),
        ),
    )
    assert [r.status_code for r in respuestas] == [200] * 4
    asignados = await _asignados(app, p)
    assert len(asignados) == 5
    assert len({(e["municipio"], e["integrante_id"]) for e in asignados}) == 5
    assert [x[3] for x in await _lineas(client, app, p)] == [3, 2, 0, 0]
