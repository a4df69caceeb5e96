"""The supply of (municipality, LB) pairs against a plain recount of the slot rows."""

from __future__ import annotations

import json
import random

from fastapi import FastAPI
from offer import balance
from sqlalchemy import text

MUNICIPIOS = [f"0500{i}" for i in range(1, 9)]
LB = [f"LB{i}" for i in range(1, 13)]
PERIODOS = ["2026-1", "2026-2", "2027-1"]


def _mundo(semilla: int) -> tuple[list[dict], list[dict]]:
    """Programs serving some LB in some municipalities, and slot rows for several periods,
    some of them in municipalities their program does not serve."""
    rnd = random.Random(semilla)
    programas = [
        {
            "programa_id": f"prg-{i}",
            "logros": rnd.sample(LB, rnd.randint(1, 4)),
            "municipios": rnd.sample(MUNICIPIOS, rnd.randint(1, 5)),
        }
        for i in range(15)
    ]
    cupos = [
        {
            "programa_id": p["programa_id"],
            "municipio": m,
            "periodo": periodo,
            "capacidad": rnd.randint(0, 40),
        }
        for p in programas
        for m in rnd.sample(MUNICIPIOS, rnd.randint(1, 6))
        for periodo in rnd.sample(PERIODOS, rnd.randint(1, 3))
    ]
    return programas, cupos


def _recuento(programas: list[dict], cupos: list[dict], claves: set) -> dict:
    """For each pair, the capacity of each program serving it there, in its latest period."""
    ultimo: dict[tuple[str, str], dict] = {}
    for c in cupos:
        clave = (c["programa_id"], c["municipio"])
        if clave not in ultimo or c["periodo"] > ultimo[clave]["periodo"]:
            ultimo[clave] = c
    esperado: dict[tuple[str, str], int] = {}
    for p in programas:
        for (programa_id, m), c in ultimo.items():
            if programa_id != p["programa_id"] or m not in p["municipios"]:
                continue
            for lb in p["logros"]:
                if (m, lb) in claves:
                    esperado[(m, lb)] = esperado.get((m, lb), 0) + c["capacidad"]
    return esperado


async def test_supply_is_each_serving_programs_latest_period_summed(client, app: FastAPI) -> None:
    engine = app.state.offer.engine
    for semilla in range(3):
        programas, cupos = _mundo(semilla)
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE programas, cupos"))
            await conn.execute(
                text(
                    "INSERT INTO programas (programa_id, entidad, titulo, nivel, alcance, logros,"
                    " dimensiones, elegibilidad, municipios, version) VALUES (:programa_id,"
                    " 'ent', 't', 'MUNICIPAL', 'FAMILIA', :logros, '{}', CAST(:e AS jsonb),"
                    " :municipios, 1)"
                ),
                [{**p, "e": json.dumps({})} for p in programas],
            )
            await conn.execute(
                text(
                    "INSERT INTO cupos (programa_id, municipio, periodo, entidad, capacidad,"
                    " asignados, version) VALUES (:programa_id, :municipio, :periodo, 'ent',"
                    " :capacidad, 0, 1)"
                ),
                cupos,
            )
            claves = {
                (m, lb) for m in MUNICIPIOS for lb in LB if random.Random(m + lb).random() < 0.7
            }
            # asked twice and in any order: each pair answered once
            pedido = [*sorted(claves), *sorted(claves)[:5]]
            obtenido = await balance.cupos_que_sirven(conn, pedido)
        esperado = _recuento(programas, cupos, claves)
        assert esperado and obtenido == esperado, semilla
