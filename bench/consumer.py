"""ConsumerRunner (inbox + projection upsert) vs raw aiokafka consume + the same upsert in asyncpg.

Both read the same topic from offset 0 in batches of up to 500 records and apply each batch in
one database transaction, one upsert per event, then commit the Kafka offsets.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg
from aiokafka import AIOKafkaConsumer
from juntos_events.consumer import ConsumerRunner, ConsumerSettings, Subscriptions
from juntos_events.envelope import Envelope
from juntos_events.migrate import upgrade
from juntos_events.relay import OutboxRelay, idempotent_producer
from juntos_events.topics import ensure_topics
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from bench.report import Result, Stopwatch
from bench.servers import Servers
from bench.workload import progress, registry

PROJECTION = (
    "CREATE TABLE IF NOT EXISTS logros_por_municipio"
    " (municipio text, logro text, estado text, total bigint NOT NULL,"
    " PRIMARY KEY (municipio, logro, estado))"
)
UPSERT = (
    "INSERT INTO logros_por_municipio VALUES ($1, $2, $3, 1) ON CONFLICT (municipio, logro, estado)"
    " DO UPDATE SET total = logros_por_municipio.total + 1"
)
SERVICE = "benchconsume"


async def fill_topic(servers: Servers, events: int) -> None:
    """The real producer path, untimed: store → outbox → relay → topic."""
    from bench.relay import fill

    url, _ = servers.database("bench_consume_source")
    await fill(url, SERVICE, events)
    engine = create_async_engine(url)
    producer = idempotent_producer(servers.kafka.bootstrap)
    await producer.start()
    relay = OutboxRelay(engine, producer)
    with progress() as bar:
        task = bar.add_task("publish", total=events)
        while published := await relay.publish_batch():
            bar.advance(task, published)
    await producer.stop()
    await engine.dispose()


async def _applied(uri: str) -> int:
    conn = await asyncpg.connect(uri)
    try:
        return int(await conn.fetchval("SELECT coalesce(sum(total), 0) FROM logros_por_municipio"))
    finally:
        await conn.close()


async def _wait_applied(uri: str, events: int, label: str) -> None:
    with progress() as bar:
        task = bar.add_task(label, total=events)
        while (done := await _applied(uri)) < events:
            bar.update(task, completed=done)
            await asyncio.sleep(0.2)


async def project(url: str, uri: str, bootstrap: str, topic: str, events: int) -> float:
    await upgrade(url)
    engine = create_async_engine(url, pool_size=2)
    async with engine.begin() as conn:
        await conn.execute(text(PROJECTION))
    subs = Subscriptions()

    @subs.on(SERVICE, "LogroEvaluado")
    async def count(envelope: Envelope, conn: AsyncConnection) -> None:
        d = envelope.data
        await conn.exec_driver_sql(UPSERT, (d["municipio"], d["logro"], d["estado"]))

    runner = ConsumerRunner(
        name="bench-project",
        engine=engine,
        bootstrap=bootstrap,
        topics=[topic],
        subscriptions=subs,
        settings=ConsumerSettings(max_records=500),
    )
    with Stopwatch() as clock:
        task = asyncio.create_task(runner.run())
        await _wait_applied(uri, events, "consume (project)")
    runner.stop()
    await task
    await engine.dispose()
    return clock.seconds


async def baseline(url: str, uri: str, bootstrap: str, topic: str, events: int) -> float:
    await upgrade(url)
    pool = await asyncpg.create_pool(uri, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        await conn.execute(PROJECTION)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id="bench-raw",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    applied = 0
    with Stopwatch() as clock:
        await consumer.start()
        with progress() as bar:
            task = bar.add_task("consume (raw aiokafka + asyncpg)", total=events)
            while applied < events:
                batches = await consumer.getmany(timeout_ms=500)
                for tp, records in batches.items():
                    rows = []
                    for r in records:
                        d = json.loads(r.value)
                        rows.append((d["municipio"], d["logro"], d["estado"]))
                    async with pool.acquire() as conn, conn.transaction():
                        for row in rows:  # the same statements the project's handler issues
                            await conn.execute(UPSERT, *row)
                    await consumer.commit({tp: records[-1].offset + 1})
                    applied += len(rows)
                    bar.advance(task, len(rows))
        await consumer.stop()
    await pool.close()
    return clock.seconds


async def run(servers: Servers, events: int) -> Result:
    bootstrap = servers.kafka.bootstrap
    await ensure_topics(bootstrap, [SERVICE])
    await fill_topic(servers, events)
    topic = registry(SERVICE).topic
    project_url, project_uri = servers.database("bench_consume_project")
    raw_url, raw_uri = servers.database("bench_consume_raw")
    return Result(
        bench="consumer",
        events=events,
        project_seconds=await project(project_url, project_uri, bootstrap, topic, events),
        baseline_seconds=await baseline(raw_url, raw_uri, bootstrap, topic, events),
        target=0.5,
        baseline="raw aiokafka+asyncpg",
    )
