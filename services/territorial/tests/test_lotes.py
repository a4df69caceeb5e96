"""Boards and closures applied in runs (`on_batch`): the same tables as one by one, in a number
of statements that does not grow with the run, and a bad event still dead-lettered alone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from accompaniment.events import CasoCerrado, Evaluacion, LogrosEvaluados
from accompaniment.events import events as accompaniment
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from juntos_catalogo import catalogo
from juntos_events.consumer import ConsumerRunner, ConsumerSettings, Subscriptions
from juntos_events.envelope import Envelope, decode, encode
from juntos_events.events import DomainEvent
from juntos_events.migrate import upgrade
from juntos_events.topics import dead_letter_topic, ensure_topics
from juntos_testing.db import statements
from juntos_testing.publishing import publish, start_at_end
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from territorial import queries
from territorial.consumers import demanda_de_las_familias
from territorial.domain.capacidades import LineaCupos

from .conftest import MIGRATIONS, levantar

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
LBS = [lb.codigo for lb in catalogo().logros_basicos]


def t(minutos: int) -> datetime:
    return T0 + timedelta(minutes=minutos)


def tablero(familia: str, municipio: str, pendientes: set[str]) -> LogrosEvaluados:
    return LogrosEvaluados(
        familia_id=familia,
        municipio=municipio,
        fecha="2026-06-01",
        desplazada=False,
        evaluaciones=tuple(
            Evaluacion(logro=lb, estado="POR_ALCANZAR" if lb in pendientes else "ALCANZADO")
            for lb in LBS
        ),
    )


def cierre(familia: str) -> CasoCerrado:
    return CasoCerrado(familia_id=familia, motivo="PROMOVIDA", fecha="2026-07-01")


def sobre(evento: DomainEvent, cuando: datetime) -> Envelope:
    """The envelope the runner hands the handler, from the bytes accompaniment publishes."""
    familia = evento.familia_id  # type: ignore[attr-defined]
    m = encode(
        accompaniment, evento, event_id=str(uuid.uuid4()), stream_id=familia, occurred_at=cuando
    )
    return decode(list(m.headers.items()), familia.encode(), m.value)


TABLAS = {
    "demanda_familias": "SELECT familia_id, municipio, pendientes, evento_en FROM demanda_familias",
    "demanda_logros": "SELECT municipio, logro, familias FROM demanda_logros",
    "demanda_dimensiones": "SELECT municipio, dimension, familias FROM demanda_dimensiones",
    "mapa_capacidades": "SELECT municipio, dimension, capacidad, condiciones, demanda, oferta,"
    " cobertura, brecha, clasificacion FROM mapa_capacidades",  # all but `recalculado`
}


async def tablas(
    conn: AsyncConnection, consultas: Mapping[str, str] = TABLAS
) -> dict[str, list[tuple[Any, ...]]]:
    return {
        tabla: sorted(tuple(f) for f in await conn.execute(text(sql)))
        for tabla, sql in consultas.items()
    }


Manejador = Callable[[Sequence[Envelope], AsyncConnection], Awaitable[None]]


async def en_corridas(
    conn: AsyncConnection,
    sobres: Sequence[Envelope],
    largo: int,
    manejador: Manejador = demanda_de_las_familias,
) -> None:
    for i in range(0, len(sobres), largo):
        await manejador(sobres[i : i + largo], conn)


async def test_runs_give_the_same_tables_as_one_by_one(client, app) -> None:
    medellin, bucaramanga, barranquilla = "05001", "68001", "08001"
    await levantar(client, app, medellin)  # a capacity to classify against
    engine: AsyncEngine = app.state.engine
    async with engine.begin() as conn:
        await queries.habilitar_cupos(
            conn, [LineaCupos("p-salud", "minsalud", medellin, "2026", ("LB13", "LB14"), 1, t(0))]
        )
        # boards kept from before the run
        await demanda_de_las_familias(
            [
                sobre(tablero("previa-0", medellin, {"LB13", "LB24"}), t(0)),
                sobre(tablero("previa-1", bucaramanga, {"LB1", "LB14"}), t(0)),
                sobre(tablero("previa-2", bucaramanga, {"LB14"}), t(0)),
                sobre(tablero("previa-3", barranquilla, {"LB2"}), t(0)),
            ],
            conn,
        )
        await queries.recalcular_mapa(conn, [medellin, bucaramanga, barranquilla])
    nuevo = sobre(tablero("nueva-0", medellin, {"LB13", "LB24"}), t(1))
    mezcla = [
        nuevo,
        sobre(tablero("nueva-1", bucaramanga, {"LB1"}), t(1)),
        # three boards of one family in one run, the last one older than the second
        sobre(tablero("previa-0", medellin, {"LB13", "LB14"}), t(2)),
        sobre(tablero("previa-0", medellin, {"LB14"}), t(4)),
        sobre(tablero("previa-0", medellin, {"LB13", "LB15", "LB24"}), t(3)),
        sobre(cierre("previa-1"), t(2)),  # leaves: nothing pending in Bucaramanga
        sobre(cierre("sin-tablero"), t(2)),  # no board kept: nothing
        # pending then not within the run: the counter's row exists, at 0, as one by one
        sobre(tablero("nueva-2", barranquilla, {"LB7"}), t(1)),
        sobre(tablero("nueva-2", barranquilla, set()), t(2)),
        sobre(tablero("previa-2", barranquilla, {"LB14", "LB3"}), t(2)),  # moves
        nuevo,  # the same event again
        sobre(cierre("nueva-0"), t(0)),  # older than its board
        sobre(tablero("previa-3", barranquilla, {"LB9"}), t(0)),  # as old as the kept one
    ]

    resultados = {}
    async with engine.connect() as conn:
        for largo in (1, 2, 5, len(mezcla)):
            async with conn.begin() as tx:  # each from the same committed state
                await en_corridas(conn, mezcla, largo)
                resultados[largo] = await tablas(conn)
                await tx.rollback()

    uno_a_uno = resultados.pop(1)
    for largo, tablas_en_lote in resultados.items():
        assert tablas_en_lote == uno_a_uno, f"runs of {largo}"
    familias = {f[0]: f[1:3] for f in uno_a_uno["demanda_familias"]}
    assert familias == {
        "nueva-0": (medellin, ["LB13", "LB24"]),
        "nueva-1": (bucaramanga, ["LB1"]),
        "nueva-2": (barranquilla, []),
        "previa-0": (medellin, ["LB14"]),  # the late board changed nothing
        "previa-1": (bucaramanga, []),
        "previa-2": (barranquilla, ["LB14", "LB3"]),
        "previa-3": (barranquilla, ["LB2"]),
    }
    assert (barranquilla, "LB7", 0) in uno_a_uno["demanda_logros"]
    assert (bucaramanga, "LB14", 0) in uno_a_uno["demanda_logros"]
    salud = next(
        f for f in uno_a_uno["mapa_capacidades"] if f[:2] == (medellin, "SALUD")
    )  # nueva-0 (LB13) and previa-0 (LB14); one slot
    assert salud[4:6] == (2, 1)


async def test_a_run_costs_the_same_statements_for_one_board_or_sixty(client, app) -> None:
    engine: AsyncEngine = app.state.engine
    municipios = ["05001", "05002", "08001", "68001", "11001", "76001"]
    async with engine.begin() as conn:  # some families have a board kept already
        await demanda_de_las_familias(
            [
                sobre(tablero(f"fam-{i}", municipios[i % 6], {LBS[i % 45]}), t(0))
                for i in range(0, 30, 2)
            ],
            conn,
        )
    uno = [sobre(tablero("sola", "05001", {"LB1"}), t(1))]
    sesenta = [
        sobre(tablero(f"fam-{i % 30}", municipios[i % 6], {LBS[i % 45], LBS[7]}), t(1 + i))
        for i in range(55)
    ] + [sobre(cierre(f"fam-{i}"), t(100)) for i in range(5)]

    enviadas = statements(engine)
    contadas = []
    for corrida in (uno, sesenta):
        enviadas.clear()
        async with engine.begin() as conn:
            await demanda_de_las_familias(corrida, conn)
        contadas.append(len(enviadas))
    assert contadas[0] == contadas[1], contadas
    async with engine.connect() as conn:
        assert len((await tablas(conn))["demanda_familias"]) == 31


async def test_a_bad_board_in_a_run_is_dead_lettered_alone_and_the_rest_applied(
    database_url: str, kafka_bootstrap: str, kafka_producer: AIOKafkaProducer
) -> None:
    """On Kafka, through the runner: the run fails, the fallback applies the good events one by
    one and sends only the bad one (a code not in DIVIPOLA) to the dead-letter topic."""
    await upgrade(database_url, MIGRATIONS)
    await ensure_topics(kafka_bootstrap)
    grupo = f"territorial-lotes-{uuid.uuid4()}"
    await start_at_end(kafka_bootstrap, grupo, [accompaniment.topic])
    corridas: list[list[str]] = []
    subs = Subscriptions()

    @subs.on_batch("accompaniment", "LogrosEvaluados", "CasoCerrado")
    async def observada(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
        corridas.append([e.id for e in envelopes])
        await demanda_de_las_familias(envelopes, conn)

    clave = f"clave-{uuid.uuid4()}"  # one partition: the order below is the order read
    eventos = [
        tablero("buena-0", "08001", {"LB1"}),
        tablero("buena-1", "08001", {"LB1", "LB2"}),
        tablero("mala", "08002", {"LB1"}),
        tablero("buena-0", "08001", {"LB2"}),
        cierre("buena-1"),
    ]
    ids = []
    for i, evento in enumerate(eventos):  # all on the topic before the consumer starts
        ids.append(await publish(kafka_producer, accompaniment, evento, clave, at=t(i)))
    engine = create_async_engine(database_url)
    runner = ConsumerRunner(
        name=grupo,
        engine=engine,
        bootstrap=kafka_bootstrap,
        topics=subs.topics(),
        subscriptions=subs,
        settings=ConsumerSettings(retry_backoff_seconds=0.01),
    )
    tarea = asyncio.create_task(runner.run())
    try:
        muertos = await leer_hasta(
            kafka_bootstrap, dead_letter_topic(accompaniment.topic), ids[2].encode()
        )
        async with asyncio.timeout(60):
            while len(corridas) < 1 + len(eventos):
                await asyncio.sleep(0.1)
        async with engine.connect() as conn:
            familias = {f[0]: f[1:3] for f in (await tablas(conn))["demanda_familias"]}
    finally:
        runner.stop()
        await tarea
        await engine.dispose()
    assert corridas[0] == ids  # the whole run first, then each event alone
    assert corridas[1:] == [[i] for i in ids]
    assert familias == {"buena-0": ("08001", ["LB2"]), "buena-1": ("08001", [])}
    de_este_grupo = [
        dict(r.headers)["ce_id"].decode()
        for r in muertos
        if dict(r.headers)["dlq_consumer"] == grupo.encode()
    ]
    assert de_este_grupo == [ids[2]]


async def leer_hasta(bootstrap: str, topic: str, ce_id: bytes) -> list[Any]:
    """Every record of `topic` from the beginning until the one with this CloudEvent id."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    vistos: list[Any] = []
    try:
        async with asyncio.timeout(60):
            while not any(dict(r.headers).get("ce_id") == ce_id for r in vistos):
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    vistos += records
    finally:
        await consumer.stop()
    return vistos
