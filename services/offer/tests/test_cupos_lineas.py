"""Slots of a program for many lines in one request (`PUT /v1/programas/{id}/cupos`): the same
events and read models as one PUT per line, in one transaction, all or nothing, idempotent,
bounded."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from offer.api_cupos import MAX_LINEAS
from sqlalchemy import text

from .conftest import entidad, eventos, registrar

MUNICIPIOS = ["05001", "05002", "05004"]
FILAS = [("05001", "2026", 4), ("05002", "2026", 0), ("05004", "2026-S2", 7)]


def _lineas(*filas: tuple[str, str, int]) -> dict:
    return {"lineas": [{"municipio": m, "periodo": per, "cupos": n} for m, per, n in filas]}


async def _put(client: httpx.AsyncClient, app: FastAPI, p: dict, cuerpo: dict) -> httpx.Response:
    return await client.put(
        f"/v1/programas/{p['programa_id']}/cupos", json=cuerpo, headers=entidad(app)
    )


async def _filas(app: FastAPI, sql: str, **params: object) -> list[tuple]:
    async with app.state.offer.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text(sql), params)]


def _sin_programa(filas: list[dict]) -> list[dict]:
    return [{k: v for k, v in f.items() if k != "programa_id"} for f in filas]


async def test_the_lines_give_the_same_events_and_read_models_as_one_put_each(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    uno = await registrar(client, app, municipios=MUNICIPIOS)
    lote = await registrar(client, app, municipios=MUNICIPIOS)
    for m, per, n in FILAS:
        r = await client.put(
            f"/v1/programas/{uno['programa_id']}/cupos/{m}/{per}",
            json={"cupos": n},
            headers=entidad(app),
        )
        assert r.status_code == 200, r.text
    r = await _put(client, app, lote, _lineas(*FILAS))
    assert r.status_code == 200, r.text
    assert r.json()["cambiadas"] == 3
    vistas = [
        (x["municipio"], x["periodo"], x["capacidad"], x["libres"], x["version"])
        for x in r.json()["lineas"]
    ]
    assert vistas == [(m, per, n, n, 1) for m, per, n in FILAS]
    habilitados = await eventos(app, "CuposHabilitados")
    por_uno = [e for e in habilitados if e["programa_id"] == uno["programa_id"]]
    por_lote = [e for e in habilitados if e["programa_id"] == lote["programa_id"]]
    assert len(por_uno) == 3 and _sin_programa(por_lote) == _sin_programa(por_uno)
    leer = "SELECT municipio, periodo, entidad, capacidad, asignados, version FROM cupos"
    leer += " WHERE programa_id = :p ORDER BY municipio, periodo"
    assert await _filas(app, leer, p=lote["programa_id"]) == await _filas(
        app, leer, p=uno["programa_id"]
    )
    # both programs serve LB8: the supply of each municipality counts both, once each
    balance = await _filas(app, "SELECT municipio, cupos FROM balance WHERE logro = 'LB8'")
    assert dict(balance) == {"05001": 8, "05002": 0, "05004": 14}


async def test_the_same_lines_again_change_nothing_and_a_changed_line_only_itself(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    p = await registrar(client, app, municipios=MUNICIPIOS)
    assert (await _put(client, app, p, _lineas(*FILAS))).status_code == 200
    again = await _put(client, app, p, _lineas(*FILAS))
    assert again.status_code == 200 and again.json()["cambiadas"] == 0
    assert [x["version"] for x in again.json()["lineas"]] == [1, 1, 1]
    assert len(await eventos(app, "CuposHabilitados")) == 3
    otra = await _put(client, app, p, _lineas(("05001", "2026", 4), ("05004", "2026-S2", 9)))
    assert otra.json()["cambiadas"] == 1
    assert [x["version"] for x in otra.json()["lineas"]] == [1, 2]
    assert [e["cupos"] for e in await eventos(app, "CuposHabilitados")] == [4, 0, 7, 9]


async def test_one_bad_line_refuses_them_all_naming_every_bad_line(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    p = await registrar(client, app, municipios=["05001"])
    cuerpo = _lineas(
        ("05001", "2026", 3),
        ("05002", "2026", 5),  # the program does not run there
        ("05002", "2027", 0),  # 0 where it does not run: allowed, as in the single PUT
        ("05001", "2026", 4),  # the same line twice
    )
    r = await _put(client, app, p, cuerpo)
    assert r.status_code == 422, r.text
    problema = r.json()
    assert problema["type"].endswith("invalid-lines")
    assert [m.split(":")[0] for m in problema["motivos"]] == ["lineas[1]", "lineas[3]"]
    assert "does not run in municipality 05002" in problema["motivos"][0]
    assert "lineas[0]" in problema["motivos"][1]
    assert await eventos(app, "CuposHabilitados") == [], "nothing of a refused request is written"
    assert await _filas(app, "SELECT * FROM cupos") == []


async def test_the_number_of_lines_is_bounded(client: httpx.AsyncClient, app: FastAPI) -> None:
    p = await registrar(client, app, municipios=["05001"])
    demasiadas = _lineas(*(("05001", str(2026 + i), 1) for i in range(MAX_LINEAS + 1)))
    r = await _put(client, app, p, demasiadas)
    assert r.status_code == 422, r.text
    assert "body.lineas" in r.json()["detail"] and f"{MAX_LINEAS}" in r.json()["detail"]
    assert (await _put(client, app, p, {"lineas": []})).status_code == 422
    assert await eventos(app, "CuposHabilitados") == []


async def test_concurrent_requests_over_the_same_lines_never_lose_a_version(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Two bulk requests and a single PUT on overlapping streams: each is retried on fresh
    state, every event gets its own version, the streams end at one request's values."""
    p = await registrar(client, app, municipios=MUNICIPIOS)
    a = _lineas(*((m, "2026", 10) for m in MUNICIPIOS))
    b = _lineas(*((m, "2026", 20) for m in reversed(MUNICIPIOS)))
    respuestas = await asyncio.gather(
        _put(client, app, p, a),
        _put(client, app, p, b),
        client.put(
            f"/v1/programas/{p['programa_id']}/cupos/05002/2026",
            json={"cupos": 30},
            headers=entidad(app),
        ),
    )
    assert [r.status_code for r in respuestas] == [200, 200, 200], [r.text for r in respuestas]
    versiones = await _filas(
        app,
        "SELECT stream_id, array_agg(version ORDER BY version) FROM events"
        " WHERE stream_type = 'cupos' GROUP BY stream_id",
    )
    assert len(versiones) == 3
    for _, v in versiones:
        assert v == list(range(1, len(v) + 1))
    finales = await _filas(app, "SELECT municipio, capacidad FROM cupos ORDER BY municipio")
    assert {c for m, c in finales if m != "05002"} in ({10}, {20})
