"""Offer's slot lines applied in runs (`on_batch`): the same tables as one by one, in a number of
statements that does not grow with the run, and a line that breaks the contract still fails
the run (so the runner's one-by-one fallback dead-letters it alone)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from juntos_events.consumer import DeadLetter
from juntos_events.envelope import Envelope, decode, encode
from juntos_testing.db import statements
from offer.events import CuposHabilitados
from offer.events import events as offer
from sqlalchemy.ext.asyncio import AsyncEngine
from territorial.consumers import oferta_de_los_programas

from .conftest import levantar
from .test_lotes import en_corridas, tablas

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
MEDELLIN, BARRANQUILLA = "05001", "08001"


def linea(
    programa: str, municipio: str, cupos: int, minutos: int, logros: tuple[str, ...] = ("LB13",)
) -> Envelope:
    """The envelope the runner hands the handler, from the bytes offer publishes."""
    evento = CuposHabilitados(
        programa_id=programa,
        entidad="minsalud",
        municipio=municipio,
        periodo="2026",
        logros=logros,
        cupos=cupos,
    )
    m = encode(
        offer,
        evento,
        event_id=str(uuid.uuid4()),
        stream_id=f"cupos:{programa}:{municipio}:2026",
        occurred_at=T0 + timedelta(minutes=minutos),
    )
    return decode(list(m.headers.items()), programa.encode(), m.value)


TABLAS = {
    "oferta_cupos": "SELECT programa_id, municipio, periodo, entidad, logros, cupos, evento_en"
    " FROM oferta_cupos",
    "mapa_capacidades": "SELECT municipio, dimension, capacidad, condiciones, demanda, oferta,"
    " cobertura, brecha, clasificacion FROM mapa_capacidades",  # all but `recalculado`
}


async def test_runs_give_the_same_tables_as_one_by_one(client, app) -> None:
    await levantar(client, app, MEDELLIN)  # a capacity to classify against
    engine: AsyncEngine = app.state.engine
    async with engine.begin() as conn:  # lines kept from before the run
        await oferta_de_los_programas(
            [linea("p-kept", MEDELLIN, 5, 10), linea("p-kept", BARRANQUILLA, 2, 10)], conn
        )
    repetida = linea("p-a", MEDELLIN, 3, 1)
    mezcla = [
        repetida,
        linea("p-a", MEDELLIN, 7, 3, ("LB13", "LB14")),  # newer: replaces
        linea("p-a", MEDELLIN, 9, 2),  # late: changes nothing
        linea("p-b", BARRANQUILLA, 4, 1),
        linea("p-b", BARRANQUILLA, 6, 1),  # as new as the one before: changes nothing
        linea("p-kept", MEDELLIN, 1, 5),  # older than the kept one: changes nothing
        linea("p-kept", BARRANQUILLA, 0, 11),  # newer than the kept one: closes it
        repetida,  # the same event again
        linea("p-c", "68001", 2, 0, ()),  # no LB
    ]
    resultados = {}
    async with engine.connect() as conn:
        for largo in (1, 2, 4, len(mezcla)):
            async with conn.begin() as tx:  # each from the same committed state
                await en_corridas(conn, mezcla, largo, oferta_de_los_programas)
                resultados[largo] = await tablas(conn, TABLAS)
                await tx.rollback()
    uno_a_uno = resultados.pop(1)
    for largo, tablas_en_lote in resultados.items():
        assert tablas_en_lote == uno_a_uno, f"runs of {largo}"
    cupos = {(f[0], f[1]): (f[4], f[5]) for f in uno_a_uno["oferta_cupos"]}
    assert cupos == {
        ("p-a", MEDELLIN): (["LB13", "LB14"], 7),
        ("p-b", BARRANQUILLA): (["LB13"], 4),
        ("p-c", "68001"): ([], 2),
        ("p-kept", MEDELLIN): (["LB13"], 5),
        ("p-kept", BARRANQUILLA): (["LB13"], 0),
    }
    salud = next(f for f in uno_a_uno["mapa_capacidades"] if f[:2] == (MEDELLIN, "SALUD"))
    assert salud[5] == 12  # the supply: p-a's 7 and p-kept's 5 slots


async def test_a_run_costs_the_same_statements_for_one_line_or_sixty(client, app) -> None:
    engine: AsyncEngine = app.state.engine
    municipios = ["05001", "05002", "08001", "68001", "11001", "76001"]
    uno = [linea("solo", "05001", 1, 0)]
    sesenta = [linea(f"p-{i % 10}", municipios[i % 6], i, i) for i in range(60)]
    enviadas = statements(engine)
    contadas = []
    for corrida in (uno, sesenta):
        enviadas.clear()
        async with engine.begin() as conn:
            await oferta_de_los_programas(corrida, conn)
        contadas.append(len(enviadas))
    assert contadas[0] == contadas[1], contadas
    async with engine.connect() as conn:
        assert len((await tablas(conn, TABLAS))["oferta_cupos"]) == 31


async def test_a_line_that_breaks_the_contract_fails_its_run(client, app) -> None:
    engine: AsyncEngine = app.state.engine
    mala = linea("p-mala", "08002", 1, 0)  # not a DIVIPOLA code
    async with engine.connect() as conn, conn.begin():
        with pytest.raises(DeadLetter):
            await oferta_de_los_programas([linea("p-buena", MEDELLIN, 1, 0), mala], conn)
