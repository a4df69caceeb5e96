"""Graduations from accompaniment applied in runs (`on_batch`): the same events, read models and
cogestors' load as one event at a time, in a number of statements that does not grow with the
run."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from accompaniment.events import TodosLosLogrosAlcanzados
from accompaniment.events import events as accompaniment
from enrollment.consumers import promover
from fastapi import FastAPI
from juntos_events.envelope import Envelope, decode, encode
from juntos_testing.db import statements
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from .test_lotes import (
    COGESTORA,
    DESCONOCIDA,
    acuerdo,
    asignar,
    hogares,
    lote,
    registrar,
)

OTRA = "cgs-beto"


def graduacion(familia_id: str, fecha: str = "2027-05-01") -> Envelope:
    """The envelope the runner hands the handler, from the bytes accompaniment publishes."""
    evento = TodosLosLogrosAlcanzados(familia_id=familia_id, fecha=fecha)
    m = encode(
        accompaniment,
        evento,
        event_id=str(uuid.uuid4()),
        stream_id=familia_id,
        occurred_at=datetime(2027, 5, 1, tzinfo=UTC),
    )
    return decode(list(m.headers.items()), familia_id.encode(), m.value)


CONSULTAS = {
    "familias": "SELECT familia_id, estado, cogestor_id, version FROM familias",
    "cogestores": "SELECT cogestor_id, carga, version FROM cogestores",
    "eventos": "SELECT stream_id, version, event_type, metadata->>'causation_id' FROM events"
    " WHERE event_type IN ('FamiliaPromovida', 'FamiliaLiberadaDeCogestor')",
}


async def tablas(conn: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        nombre: sorted(tuple(f) for f in await conn.execute(text(sql)))
        for nombre, sql in CONSULTAS.items()
    }


async def en_corridas(conn: AsyncConnection, sobres: Sequence[Envelope], largo: int) -> None:
    for i in range(0, len(sobres), largo):
        await promover(sobres[i : i + largo], conn)


async def mundo(client, app) -> list[dict]:
    """Five families of 05001: four vinculadas (two with each cogestor), one only
    preseleccionada."""
    familias = await hogares(client, app, "05001", 5, "8")
    await lote(client, app, [acuerdo(f, "jefe") for f in familias[:4]])
    for cogestor, suyas in ((COGESTORA, familias[:2]), (OTRA, familias[2:4])):
        await registrar(client, app, cogestor, 10)
        r = await asignar(client, app, cogestor, suyas)
        assert r.status_code == 200, r.text
    return familias


async def test_runs_give_what_one_at_a_time_gives(client, app: FastAPI) -> None:
    a, b, c, d, sin_vincular = (f["familia_id"] for f in await mundo(client, app))
    mezcla = [
        graduacion(a),
        graduacion(b),  # a's cogestor again: its load drops by two in one run
        graduacion(a, "2027-06-01"),  # already promoted: refused, logged
        graduacion(sin_vincular),  # not vinculada: refused
        graduacion(DESCONOCIDA),  # no such family: refused
        graduacion(c),
    ]
    resultados = {}
    async with app.state.engine.connect() as conn:
        for largo in (1, 2, 4, len(mezcla)):
            async with conn.begin() as tx:  # each from the same committed state
                await en_corridas(conn, mezcla, largo)
                resultados[largo] = await tablas(conn)
                await tx.rollback()
    uno_a_uno = resultados.pop(1)
    for largo, en_lote in resultados.items():
        assert en_lote == uno_a_uno, f"runs of {largo}"
    estados = {f[0]: f[1:3] for f in uno_a_uno["familias"]}
    assert estados[a] == estados[b] == estados[c] == ("PROMOVIDA", None)
    assert estados[d] == ("VINCULADA", OTRA) and estados[sin_vincular][0] == "PRESELECCIONADA"
    assert {f[0]: f[1] for f in uno_a_uno["cogestores"]} == {COGESTORA: 0, OTRA: 1}
    causas = {f[0]: f[3] for f in uno_a_uno["eventos"] if f[2] == "FamiliaPromovida"}
    assert causas == {a: mezcla[0].id, b: mezcla[1].id, c: mezcla[5].id}


async def test_a_run_costs_the_same_statements_for_one_graduation_or_four(
    client, app: FastAPI
) -> None:
    familias = [f["familia_id"] for f in await mundo(client, app)]
    contadas = []
    for corrida in ([graduacion(familias[0])], [graduacion(f) for f in familias[1:4]]):
        enviadas = statements(app.state.engine)
        async with app.state.engine.begin() as conn:
            await promover(corrida, conn)
        contadas.append(len(enviadas))
    assert contadas[0] == contadas[1], contadas
