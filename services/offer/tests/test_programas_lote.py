"""Programs and slot lines in one request (`POST /v1/programas/lote`): the same events and read
models as one POST per program and one PUT per line, in one transaction, all or nothing,
idempotent, bounded, and an entity only for its own programs."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from juntos_web import Role
from offer.api import MAX_PROGRAMAS
from sqlalchemy import text

from .conftest import como, entidad, eventos, programa_body, registrar

LINEAS = [("05001", "2026", 4), ("05002", "2026", 0), ("05002", "2026-S2", 7)]


def _programa(**cambios: object) -> dict:
    return {"programa_id": str(uuid.uuid4()), **programa_body(**cambios)}


def _lineas(pid: str, *filas: tuple[str, str, int]) -> list[dict]:
    return [{"programa_id": pid, "municipio": m, "periodo": per, "cupos": n} for m, per, n in filas]


async def _lote(
    client: httpx.AsyncClient, app: FastAPI, cuerpo: dict, quien: dict | None = None
) -> httpx.Response:
    return await client.post("/v1/programas/lote", json=cuerpo, headers=quien or entidad(app))


async def _filas(app: FastAPI, sql: str, **params: object) -> list[tuple]:
    async with app.state.offer.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text(sql), params)]


def _sin_programa(filas: list[dict]) -> list[dict]:
    return [{k: v for k, v in f.items() if k != "programa_id"} for f in filas]


PROGRAMA = (
    "SELECT entidad, titulo, nivel, alcance, logros, dimensiones, elegibilidad, municipios,"
    " version FROM programas WHERE programa_id = :p"
)
CUPOS = (
    "SELECT municipio, periodo, entidad, capacidad, asignados, version FROM cupos"
    " WHERE programa_id = :p ORDER BY municipio, periodo"
)


async def test_the_batch_gives_the_same_events_and_read_models_as_one_request_each(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    uno = await registrar(client, app)
    for m, per, n in LINEAS:
        r = await client.put(
            f"/v1/programas/{uno['programa_id']}/cupos/{m}/{per}",
            json={"cupos": n},
            headers=entidad(app),
        )
        assert r.status_code == 200, r.text
    lote = _programa()
    r = await _lote(
        client, app, {"programas": [lote], "lineas": _lineas(lote["programa_id"], *LINEAS)}
    )
    assert r.status_code == 200, r.text
    cuerpo = r.json()
    assert cuerpo["programas"] == [
        {"programa_id": lote["programa_id"], "version": 1, "registrado": True}
    ]
    assert (cuerpo["registrados"], cuerpo["cambiadas"]) == (1, 3)
    assert [
        (x["municipio"], x["periodo"], x["capacidad"], x["version"]) for x in cuerpo["lineas"]
    ] == [(m, per, n, 1) for m, per, n in LINEAS]
    for tipo in ("ProgramaRegistrado", "CuposHabilitados"):
        todos = await eventos(app, tipo)
        por_uno = [e for e in todos if e["programa_id"] == uno["programa_id"]]
        por_lote = [e for e in todos if e["programa_id"] == lote["programa_id"]]
        assert por_uno and _sin_programa(por_lote) == _sin_programa(por_uno), tipo
    for sql in (PROGRAMA, CUPOS):
        assert await _filas(app, sql, p=lote["programa_id"]) == await _filas(
            app, sql, p=uno["programa_id"]
        )
    # both programs serve LB8 with the same lines: the supply counts both, once each
    balance = await _filas(app, "SELECT municipio, cupos FROM balance WHERE logro = 'LB8'")
    assert dict(balance) == {"05001": 8, "05002": 14}
    vista = await client.get(f"/v1/programas/{lote['programa_id']}", headers=entidad(app))
    assert vista.status_code == 200 and len(vista.json()["cupos"]) == 3


async def test_lines_may_name_existing_programs_and_the_same_batch_again_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    existente = await registrar(client, app)
    nuevo = _programa(municipios=["05004"], logros=["LB8", "LB9"])
    cuerpo = {
        "programas": [nuevo],
        "lineas": _lineas(existente["programa_id"], ("05001", "2026", 3))
        + _lineas(nuevo["programa_id"], ("05004", "2026", 5)),
    }
    primera = await _lote(client, app, cuerpo)
    assert primera.status_code == 200, primera.text
    assert (primera.json()["registrados"], primera.json()["cambiadas"]) == (1, 2)
    otra_vez = await _lote(client, app, cuerpo)
    assert otra_vez.status_code == 200, otra_vez.text
    assert (otra_vez.json()["registrados"], otra_vez.json()["cambiadas"]) == (0, 0)
    assert otra_vez.json()["programas"][0] == {
        "programa_id": nuevo["programa_id"],
        "version": 1,
        "registrado": False,
    }
    assert [x["version"] for x in otra_vez.json()["lineas"]] == [1, 1]
    assert len(await eventos(app, "ProgramaRegistrado")) == 2
    assert len(await eventos(app, "CuposHabilitados")) == 2
    balance = await _filas(app, "SELECT municipio, logro, cupos FROM balance ORDER BY 1, 2")
    assert balance == [("05001", "LB8", 3), ("05004", "LB8", 5), ("05004", "LB9", 5)]


async def test_one_bad_program_refuses_the_batch_naming_every_bad_one(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    existente = await registrar(client, app)
    bueno = _programa()
    cuerpo = {
        "programas": [
            bueno,
            {**programa_body(titulo="Otro título"), "programa_id": existente["programa_id"]},
            bueno,  # the same id twice
        ],
        "lineas": _lineas(bueno["programa_id"], ("05001", "2026", 3)),
    }
    r = await _lote(client, app, cuerpo)
    assert r.status_code == 422, r.text
    assert r.json()["type"].endswith("invalid-programs")
    assert [m.split(":")[0] for m in r.json()["motivos"]] == ["programas[1]", "programas[2]"]
    assert "already exists" in r.json()["motivos"][0]
    assert len(await eventos(app, "ProgramaRegistrado")) == 1, "only the earlier registration"
    assert await eventos(app, "CuposHabilitados") == []
    assert await _filas(app, "SELECT count(*) FROM programas") == [(1,)]


async def test_one_bad_line_refuses_the_programs_too(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    nuevo = _programa(municipios=["05001"])
    cuerpo = {
        "programas": [nuevo],
        "lineas": _lineas(
            nuevo["programa_id"],
            ("05001", "2026", 3),
            ("05002", "2026", 5),  # the program does not run there
            ("05001", "2026", 4),  # the same line twice
        )
        + _lineas(str(uuid.uuid4()), ("05001", "2026", 1)),  # no such program
    }
    r = await _lote(client, app, cuerpo)
    assert r.status_code == 422, r.text
    motivos = r.json()["motivos"]
    assert r.json()["type"].endswith("invalid-lines")
    assert [m.split(":")[0] for m in motivos] == ["lineas[1]", "lineas[2]", "lineas[3]"]
    assert "does not run in municipality 05002" in motivos[0]
    assert "no program with that id" in motivos[2]
    assert await eventos(app, "ProgramaRegistrado") == [], "the refused lines undo the programs"
    assert await _filas(app, "SELECT count(*) FROM programas") == [(0,)]


async def test_an_entity_registers_only_its_own_programs_and_their_lines(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    ajeno = await registrar(client, app, quien="otra-entidad")
    propio = _programa()
    suyo = {"programas": [_programa(entidad="otra-entidad")]}
    assert (await _lote(client, app, suyo)).status_code == 403
    sobre_ajeno = {
        "programas": [propio],
        "lineas": _lineas(ajeno["programa_id"], ("05001", "2026", 9)),
    }
    r = await _lote(client, app, sobre_ajeno)
    assert r.status_code == 403, r.text
    assert await _filas(app, "SELECT count(*) FROM programas") == [(1,)]
    assert await eventos(app, "CuposHabilitados") == []
    # national staff register for any entity
    nacional = await _lote(client, app, sobre_ajeno, como(app, Role.NACIONAL))
    assert nacional.status_code == 200, nacional.text


async def test_the_batch_is_bounded_and_may_be_empty(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    demasiados = {"programas": [_programa() for _ in range(MAX_PROGRAMAS + 1)]}
    r = await _lote(client, app, demasiados)
    assert r.status_code == 422, r.text
    assert "body.programas" in r.json()["detail"] and f"{MAX_PROGRAMAS}" in r.json()["detail"]
    sin_id = {"programas": [programa_body()]}
    assert (await _lote(client, app, sin_id)).status_code == 422
    vacio = await _lote(client, app, {})
    assert vacio.status_code == 200, vacio.text
    assert vacio.json() == {"programas": [], "lineas": [], "registrados": 0, "cambiadas": 0}
    assert await eventos(app, "ProgramaRegistrado") == []
