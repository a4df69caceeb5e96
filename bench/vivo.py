"""Reporting's live consumer draining the topics vs raw aiokafka + one insert per event.

The topics are filled (untimed) with the rebuild bench's families (`reconstruccion.llenar`:
about 12 events per family over enrollment, accompaniment and offer, the producers' own events,
family by family). Then, in the same run, each side on a fresh database with a consumer group
of its own, from offset 0:

- project: reporting's `ConsumerRunner` with `reporting.consumers.subscriptions` (the service's
  own wiring, default settings: polls of up to 500 records, one transaction per partition batch
  with its inbox rows, each run of events applied to the live generation of the five
  projections), on a migrated reporting database;
- baseline: raw aiokafka `getmany` (500) + `json.loads` of each body + one asyncpg INSERT per
  event (id, type and time from its headers, data as jsonb) into one table, one transaction per
  partition batch, offset commit after it: the floor of any consumer that writes each event
  once.

The same poller (every 50 ms) counts each side's rows (the project's inbox, the baseline's
table): the clock runs from the warm-up share (min(10,000, N/10) events) to N. After the
project's run (untimed), a rebuild of every projection from offset 0 into new generations must
give tables identical to the live ones (`reconstruccion.comparar`), or the bench fails.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg
from aiokafka import AIOKafkaConsumer
from juntos_events.engine import async_engine
from juntos_events.migrate import upgrade
from juntos_events.topics import ensure_topics, event_topic

from bench.consumer import consuming, timed_until_applied
from bench.reconstruccion import SERVICIOS, llenar
from bench.report import Phase, Result
from bench.servers import Servers, empty_topics

TABLA = (
    "CREATE TABLE evento (event_id text PRIMARY KEY, tipo text NOT NULL,"
    " t timestamptz NOT NULL, data jsonb NOT NULL)"
)
INSERTAR = "INSERT INTO evento VALUES ($1, $2, $3::text::timestamptz, $4::jsonb)"
WARM_UP = 10_000


async def proyecto(servers: Servers, warm_up: int, total: int) -> Phase:
    from reporting import reconstruccion
    from reporting.cli import MIGRATIONS
    from reporting.consumers import subscriptions

    url, uri = servers.database("bench_vivo_project")
    await upgrade(url, MIGRATIONS)
    engine = async_engine(url, pool_size=3)
    bootstrap = servers.kafka.bootstrap
    servers.checkpoint()
    async with consuming("bench-vivo", engine, bootstrap, subscriptions) as task:
        fase = await timed_until_applied(
            uri,
            warm_up,
            total,
            "reporting's live consumer",
            task,
            "vivo-project",
            applied="SELECT count(*) FROM inbox",
        )
    try:  # untimed: the live generations must equal a rebuild's
        resultado = await reconstruccion.reconstruir(engine, bootstrap, conservar_anteriores=True)
        async with engine.begin() as conn:
            for nombre, nueva in resultado.esquemas.items():
                viva = resultado.anteriores[nombre]
                diferentes = await reconstruccion.comparar(conn, nombre, viva, nueva)
                if diferentes:
                    raise AssertionError(f"live {viva} differs from a rebuild: {diferentes}")
    finally:
        await engine.dispose()
    return fase


async def crudo(servers: Servers, warm_up: int, total: int) -> Phase:
    _, uri = servers.database("bench_vivo_raw")
    pool = await asyncpg.create_pool(uri, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        await conn.execute(TABLA)
    bootstrap = servers.kafka.bootstrap
    parar = asyncio.Event()

    async def consumir() -> None:
        consumer = AIOKafkaConsumer(
            *(event_topic(s) for s in SERVICIOS),
            bootstrap_servers=bootstrap,
            group_id="bench-vivo-raw",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=500,
        )
        await consumer.start()
        try:
            while not parar.is_set():
                for tp, registros in (await consumer.getmany(timeout_ms=500)).items():
                    async with pool.acquire() as conn, conn.transaction():
                        for registro in registros:  # binary CloudEvents: body = data
                            cabeceras = dict(registro.headers)
                            await conn.execute(
                                INSERTAR,
                                cabeceras["ce_id"].decode(),
                                cabeceras["ce_type"].decode(),
                                cabeceras["ce_time"].decode(),
                                json.dumps(json.loads(registro.value)),
                            )
                    await consumer.commit({tp: registros[-1].offset + 1})
        finally:
            await consumer.stop()

    servers.checkpoint()
    task = asyncio.create_task(consumir())
    try:
        return await timed_until_applied(
            uri,
            warm_up,
            total,
            "raw aiokafka + asyncpg",
            task,
            "vivo-baseline",
            applied="SELECT count(*) FROM evento",
        )
    finally:
        parar.set()
        await task
        await pool.close()


async def run(servers: Servers, events: int) -> Result:
    await empty_topics(servers.kafka.bootstrap)  # read from offset 0: only this bench's events
    await ensure_topics(
        servers.kafka.bootstrap, ["enrollment", "accompaniment", "offer", "territorial"]
    )
    publicados = await llenar(servers, events)
    warm_up = min(WARM_UP, publicados // 10)
    project = await proyecto(servers, warm_up, publicados)
    baseline = await crudo(servers, warm_up, publicados)
    return Result(
        bench="vivo",
        events=publicados,
        project=project,
        baseline=baseline,
        target=None,
        project_path="reporting's live ConsumerRunner: inbox + every projection, 1 transaction"
        " per partition batch",
        baseline_path="raw aiokafka + asyncpg, 1 insert per event, 1 transaction per batch",
        extra={"warm_up_events": warm_up, "timed_events": project.events},
    )
