"""Events applied as a run (one call of a batch handler: demand, plans, new families) give
exactly what they give one at a time, with a number of statements that does not grow with the
run."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from juntos_events.envelope import Envelope
from juntos_testing.db import statements
from offer.consumers import demanda, planes, preseleccionadas, subscriptions, tableros_y_planes
from sqlalchemy import text

from .conftest import datos_de_plan, familia, miembro, publicar

LB = [f"LB{i}" for i in range(1, 46)]
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _envelope(tipo: str, datos: dict[str, Any], cuando: datetime) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        service="accompaniment",
        event_type=tipo,
        schema_version=1,
        subject=str(datos["familia_id"]),
        time=cuando,
        data=datos,
    )


def _tablero(f, fecha: date, pendientes: dict[str, list[str]], cuando: datetime) -> Envelope:
    evaluaciones = [
        {
            "logro": lb,
            "estado": "POR_ALCANZAR" if lb in pendientes else "ALCANZADO",
            "integrantes": pendientes.get(lb, []),
        }
        for lb in LB
    ]
    datos = {
        "familia_id": f.familia_id,
        "municipio": f.municipio,
        "fecha": fecha.isoformat(),
        "desplazada": False,
        "evaluaciones": evaluaciones,
    }
    return _envelope("LogrosEvaluados", datos, cuando)


def _logro(tipo: str, f, lb: str, fecha: date, cuando: datetime) -> Envelope:
    datos = {
        "familia_id": f.familia_id,
        "municipio": f.municipio,
        "logro": lb,
        "fecha": fecha.isoformat(),
        "evidencia": {"tipo": "VISITA", "referencia": "x"},
    }
    return _envelope(tipo, datos, cuando)


def _flujo(familias: list, rng: random.Random) -> list[Envelope]:
    """Boards, reaches and losses of many families, interleaved, with every case the rules
    distinguish: a newer board replacing one, a reach and a loss after a board, a reach older
    than a newer board, an older board after a newer one, a board of a family that left, an LB
    pending again after a reach, same-date boards ordered by event time."""
    flujo: list[Envelope] = []
    cuando = T0
    for ronda in range(3):
        for f in familias:
            cuando += timedelta(seconds=1)
            fecha = date(2026, 3 + 2 * ronda, 1)
            pendientes = {
                lb: [f.id_de(rng.randrange(len(f.integrantes)))] if rng.random() < 0.3 else []
                for lb in rng.sample(LB, rng.randint(5, 15))
            }
            flujo.append(_tablero(f, fecha, pendientes, cuando))
            pendiente = next(iter(pendientes))
            suerte = rng.random()
            if suerte < 0.3:
                flujo.append(_logro("LogroAlcanzado", f, pendiente, fecha + timedelta(10), cuando))
            elif suerte < 0.45:
                flujo.append(_logro("LogroAlcanzado", f, pendiente, fecha - timedelta(10), cuando))
            elif suerte < 0.6:
                otro = next(lb for lb in LB if lb not in pendientes)
                flujo.append(_logro("LogroPerdido", f, otro, fecha + timedelta(5), cuando))
            elif suerte < 0.7:  # an older board, sent late
                viejo = _tablero(f, fecha - timedelta(40), {"LB1": []}, cuando)
                flujo.append(viejo)
            elif suerte < 0.8:  # same date, earlier event time: older, ignored
                flujo.append(_tablero(f, fecha, {"LB2": []}, cuando - timedelta(hours=1)))
    return flujo


async def _fotografia(app: FastAPI) -> dict[str, list]:
    async with app.state.offer.engine.connect() as conn:
        return {
            tabla: [tuple(r) for r in await conn.execute(text(sql))]
            for tabla, sql in {
                "demanda": "SELECT familia_id, logro, municipio, integrantes, desde FROM demanda"
                " ORDER BY 1, 2",
                "tableros": "SELECT * FROM tableros ORDER BY 1",
                "alcanzados": "SELECT * FROM alcanzados ORDER BY 1, 2",
                "balance": "SELECT municipio, logro, demanda, cupos, insatisfecha FROM balance"
                " WHERE demanda > 0 OR insatisfecha ORDER BY 1, 2",
            }.items()
        }


async def _borrar(app: FastAPI) -> None:
    async with app.state.offer.engine.begin() as conn:
        await conn.execute(text("TRUNCATE demanda, tableros, alcanzados, balance"))


async def _aplicar(app: FastAPI, envelopes: list[Envelope]) -> None:
    async with app.state.offer.engine.begin() as conn:
        await demanda(envelopes, conn)


async def _familias(app: FastAPI, n: int, municipios: tuple[str, ...] = ("05001", "05002")):
    return [
        await familia(
            app,
            miembro("1980-01-01", parentesco="JEFE"),
            miembro("2022-06-01"),
            municipio=municipios[i % len(municipios)],
        )
        for i in range(n)
    ]


async def test_a_run_gives_what_its_events_give_one_at_a_time(client, app) -> None:
    familias = await _familias(app, 12)
    salio = familias[-1]
    await publicar(
        app,
        "enrollment",
        "FamiliaRetirada",
        {"familia_id": salio.familia_id, "motivo": "VOLUNTARIO", "fecha": "2026-01-01"},
    )
    flujo = _flujo(familias, random.Random(7))
    assert len(flujo) > 40

    for envelope in flujo:
        await _aplicar(app, [envelope])
    uno_a_uno = await _fotografia(app)
    await _borrar(app)
    for i in range(0, len(flujo), 17):  # runs that cut families' events apart, and one long
        await _aplicar(app, flujo[i : i + 17])
    en_tramos = await _fotografia(app)
    await _borrar(app)
    await _aplicar(app, flujo)
    de_una_vez = await _fotografia(app)

    assert uno_a_uno["demanda"] and uno_a_uno["alcanzados"] and uno_a_uno["balance"]
    assert salio.familia_id not in {fila[0] for fila in uno_a_uno["tableros"]}
    assert en_tramos == uno_a_uno
    assert de_una_vez == uno_a_uno


async def test_a_run_costs_the_same_statements_for_few_or_many_families(client, app) -> None:
    # the two groups in different municipalities: each makes the same unmet-demand crossings
    familias = await _familias(app, 4) + await _familias(app, 36, ("08001", "08002"))
    cuando = T0

    def tableros(fs: list, fecha: date) -> list[Envelope]:
        return [
            _tablero(f, fecha, {"LB1": [], "LB8": [f.id_de(1)], "LB21": []}, cuando) for f in fs
        ]

    # the first boards of the families (the demand rows are new), then a second round
    # (rows replaced and dropped): both the same for 4 families as for 36
    enviadas = statements(app.state.offer.engine)
    cuenta = []
    for fs in (familias[:4], familias[4:]):
        for fecha, lb in ((date(2026, 3, 1), None), (date(2026, 5, 1), "LB21")):
            antes = len(enviadas)
            run = tableros(fs, fecha)
            if lb:
                run += [_logro("LogroAlcanzado", f, lb, fecha, cuando) for f in fs]
            await _aplicar(app, run)
            cuenta.append(len(enviadas) - antes)
    pocas, muchas = cuenta[:2], cuenta[2:]
    assert pocas == muchas, (pocas, muchas)
    async with app.state.offer.engine.connect() as conn:
        filas = await conn.scalar(text("SELECT count(*) FROM demanda"))
    assert filas == 40 * 2  # LB1 and LB8 still pending, LB21 reached


def _plan(f, version: int, prioridades: list[str]) -> Envelope:
    return _envelope("PlanFamiliarConstruido", datos_de_plan(f, version, prioridades), T0)


async def test_a_run_of_plans_keeps_each_familys_newest_as_one_at_a_time(client, app) -> None:
    a, b, c = await _familias(app, 3)
    flujo = [
        _plan(a, 1, ["LB1", "LB2"]),
        _plan(b, 2, ["LB5"]),
        _plan(a, 3, ["LB8", "LB1", "LB8"]),  # a repeated LB keeps its first order
        _plan(b, 1, ["LB9"]),  # older than the one before it in the run: ignored
        _plan(a, 2, ["LB3"]),  # older: ignored
        _plan(c, 1, []),  # a plan with no priorities
        _plan(a, 3, ["LB4"]),  # the same version again: ignored
    ]

    async def fotografia() -> tuple[list, list]:
        async with app.state.offer.engine.begin() as conn:
            planes_ = [
                tuple(r) for r in await conn.execute(text("SELECT * FROM planes ORDER BY 1"))
            ]
            prioridades = [
                tuple(r)
                for r in await conn.execute(text("SELECT * FROM prioridades ORDER BY 1, 2"))
            ]
            await conn.execute(text("TRUNCATE planes, prioridades"))
        return planes_, prioridades

    for envelope in flujo:
        async with app.state.offer.engine.begin() as conn:
            await planes([envelope], conn)
    uno_a_uno = await fotografia()
    async with app.state.offer.engine.begin() as conn:
        await planes(flujo, conn)
    assert await fotografia() == uno_a_uno
    planes_, prioridades = uno_a_uno
    assert [(f, v) for f, v, _ in planes_] == sorted(
        [(a.familia_id, 3), (b.familia_id, 2), (c.familia_id, 1)]
    )
    assert sorted((f, lb, o) for f, lb, o in prioridades if f == a.familia_id) == [
        (a.familia_id, "LB1", 2),
        (a.familia_id, "LB8", 1),
    ]


def _preseleccionada(miembros: int, desplazada: bool = False, familia_id: str | None = None):
    datos = {
        "familia_id": familia_id or str(uuid.uuid4()),
        "municipio": "05001",
        "registro": "SISBEN",
        "desplazada": desplazada,
        "nivel_sisben": 1,
        "integrantes": [
            miembro(f"19{70 + i}-02-0{1 + i}", parentesco="JEFE" if i == 0 else "HIJO")
            for i in range(miembros)
        ],
    }
    return Envelope(
        id=str(uuid.uuid4()),
        service="enrollment",
        event_type="FamiliaPreseleccionada",
        schema_version=1,
        subject=datos["familia_id"],
        time=T0,
        data=datos,
    )


async def test_a_run_of_new_families_is_two_statements_and_equals_one_at_a_time(
    client, app
) -> None:
    sobres = [_preseleccionada(n, desplazada=n == 2) for n in (1, 2, 3, 4, 5)]
    sobres.append(_preseleccionada(2, familia_id=sobres[0].data["familia_id"]))  # re-sent

    async def fotografia() -> tuple[list, list]:
        async with app.state.offer.engine.begin() as conn:
            familias_ = [
                tuple(r)
                for r in await conn.execute(
                    text(
                        "SELECT familia_id, municipio, desplazada, activa FROM familias ORDER BY 1"
                    )
                )
            ]
            integrantes = [
                tuple(r)
                for r in await conn.execute(text("SELECT * FROM integrantes ORDER BY 1, 2"))
            ]
            await conn.execute(text("TRUNCATE familias, integrantes"))
        return familias_, integrantes

    for sobre in sobres:
        async with app.state.offer.engine.begin() as conn:
            await preseleccionadas([sobre], conn)
    uno_a_uno = await fotografia()
    enviadas = statements(app.state.offer.engine)
    async with app.state.offer.engine.begin() as conn:
        await preseleccionadas(sobres, conn)
    assert [s.split()[2] for s in enviadas] == ["familias", "integrantes"]
    assert await fotografia() == uno_a_uno
    assert len(uno_a_uno[0]) == 5 and len(uno_a_uno[1]) == 15 + 2


async def test_boards_and_plans_interleaved_are_one_run_of_a_dozen_statements(client, app) -> None:
    """A family's re-evaluated board and its plan come one after the other: one handler for
    both, so the consumer gives it the whole run, and the run gives what one at a time gives,
    in the same statements for 4 families as for 24."""
    [f] = await _familias(app, 1)
    plan, tablero = _plan(f, 1, ["LB1"]), _tablero(f, date(2026, 3, 1), {"LB1": []}, T0)
    assert subscriptions.batch_handler_for(plan) is subscriptions.batch_handler_for(tablero)
    familias = await _familias(app, 4) + await _familias(app, 24, ("08001", "08002"))

    def flujo(fs: list) -> list[Envelope]:
        eventos: list[Envelope] = []
        for n, f in enumerate(fs):
            eventos.append(_tablero(f, date(2026, 3, 1), {"LB1": [], "LB8": [f.id_de(1)]}, T0))
            eventos.append(_plan(f, 1, ["LB8", "LB1"] if n % 2 else ["LB1"]))
        return eventos

    async def fotografia() -> dict[str, list[tuple]]:
        foto = await _fotografia(app)
        async with app.state.offer.engine.begin() as conn:
            for tabla in ("planes", "prioridades"):
                foto[tabla] = [
                    tuple(r) for r in await conn.execute(text(f"SELECT * FROM {tabla} ORDER BY 1"))
                ]
            await conn.execute(text("TRUNCATE planes, prioridades"))
        await _borrar(app)
        return foto

    async def aplicar(run: list[Envelope]) -> None:
        async with app.state.offer.engine.begin() as conn:
            await tableros_y_planes(run, conn)

    for envelope in flujo(familias):
        await aplicar([envelope])
    uno_a_uno = await fotografia()
    enviadas = statements(app.state.offer.engine)
    cuenta = []
    for fs in (familias[:4], familias[4:]):
        antes = len(enviadas)
        await aplicar(flujo(fs))
        cuenta.append(len(enviadas) - antes)
    assert cuenta[0] == cuenta[1], cuenta
    assert await fotografia() == uno_a_uno
    assert uno_a_uno["demanda"] and uno_a_uno["prioridades"]


async def test_a_runs_unmet_demand_crossings_cost_two_statements_whatever_their_number(
    client, app
) -> None:
    """A first board crosses a (municipality, LB) for each pending LB where no program has
    slots: 4 crossings or 16 in a run, the same statements, and each DemandaInsatisfecha on its
    pair's stream, caused by the board that crossed it."""
    pocas = [
        await familia(app, miembro("1980-01-01", parentesco="JEFE"), municipio=m)
        for m in ("05001", "05002")
    ]
    muchas = [
        await familia(app, miembro("1980-01-01", parentesco="JEFE"), municipio=m)
        for m in ("08001", "08078", "08137", "08141", "08296", "08372", "08421", "08433")
    ]
    enviadas = statements(app.state.offer.engine)
    cuenta, causas = [], {}
    for fs in (pocas, muchas):
        run = [_tablero(f, date(2026, 3, 1), {"LB1": [], "LB21": []}, T0) for f in fs]
        causas |= {
            (f.municipio, lb): e.id for f, e in zip(fs, run, strict=True) for lb in ("LB1", "LB21")
        }
        antes = len(enviadas)
        await _aplicar(app, run)
        cuenta.append(len(enviadas) - antes)
    assert cuenta[0] == cuenta[1], cuenta
    async with app.state.offer.engine.connect() as conn:
        cruces = {
            r.stream_id: (r.version, r.causa)
            for r in await conn.execute(
                text(
                    "SELECT stream_id, version, metadata->>'causation_id' AS causa FROM events"
                    " WHERE event_type = 'DemandaInsatisfecha'"
                )
            )
        }
    assert cruces == {f"demanda:{m}:{lb}": (1, causa) for (m, lb), causa in causas.items()}
