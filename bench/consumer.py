"""ConsumerRunner (inbox + projection upsert) vs raw aiokafka consume + the same upsert in asyncpg.

Both read the same topic (filled untimed through the store and the relay) from offset 0 with a
new consumer group, in polls of up to 500 records, apply each partition's batch in one database
transaction (one upsert per event), then commit that partition's offset. Each side has its own
fresh database with the same tables. The topic holds a warm-up share plus N events; the same
poller times both sides from the moment the warm-up share is applied until all are (so the
group join and the first fetches are excluded alike).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import asyncpg
from aiokafka import AIOKafkaConsumer
from juntos_events.consumer import ConsumerRunner, ConsumerSettings, Subscriptions
from juntos_events.engine import async_engine
from juntos_events.envelope import Envelope
from juntos_events.migrate import upgrade
from juntos_events.relay import idempotent_producer
from juntos_events.topics import ensure_topics, event_topic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench.relay import drain, fill
from bench.report import Phase, Result
from bench.servers import Servers
from bench.workload import progress

PROJECTION = (
    "CREATE TABLE IF NOT EXISTS logros_por_municipio"
    " (municipio text, logro text, estado text, total bigint NOT NULL,"
    " PRIMARY KEY (municipio, logro, estado))"
)
UPSERT = (
    "INSERT INTO logros_por_municipio VALUES ($1, $2, $3, 1) ON CONFLICT (municipio, logro, estado)"
    " DO UPDATE SET total = logros_por_municipio.total + 1"
)
APPLIED = "SELECT coalesce(sum(total), 0)::bigint FROM logros_por_municipio"
SERVICE = "benchconsume"
MAX_RECORDS = 500
WARM_UP = 10_000  # events applied untimed first by each side (at most a tenth of N)


@contextlib.asynccontextmanager
async def consuming(
    name: str,
    engine: AsyncEngine,
    bootstrap: str,
    subs: Subscriptions,
    settings: ConsumerSettings | None = None,
) -> AsyncIterator[asyncio.Task[None]]:
    """A project's `ConsumerRunner` (with a dead-letter producer of its own) running for the
    block, which gets its task; stopped after it."""
    dlq = idempotent_producer(bootstrap)
    await dlq.start()
    runner = ConsumerRunner(
        name=name,
        engine=engine,
        bootstrap=bootstrap,
        topics=subs.topics(),
        subscriptions=subs,
        settings=settings or ConsumerSettings(),
        dlq_producer=dlq,
    )
    task = asyncio.create_task(runner.run())
    try:
        yield task
    finally:
        runner.stop()
        await task
        await dlq.stop()


async def fill_topic(servers: Servers, events: int) -> None:
    """The real producer path, untimed: store → outbox → relay → topic."""
    url, _ = servers.database("bench_consume_source")
    await fill(url, SERVICE, events)
    await drain(url, servers.kafka.bootstrap, events, "publish (untimed)")


async def timed_until_applied(
    uri: str,
    warm_up: int,
    total: int,
    label: str,
    task: asyncio.Task[None],
    profile_as: str | None = None,
    applied: str = APPLIED,
) -> Phase:
    """Time the consumer `task` from `warm_up` applied events until `total` are (`applied`:
    the query that counts them).

    The same poller (every 50 ms) watches both sides' projections. The events counted are the
    ones applied between the poll that started the clock and the one that stopped it, so the
    group join, the first fetches and the batch granularity of commits do not skew the rate.
    """
    poller = await asyncpg.connect(uri)
    phase = Phase(profile_as)
    started_at: int | None = None
    try:
        with progress() as bar:
            bar_task = bar.add_task(label, total=total)
            while True:
                done = int(await poller.fetchval(applied))
                if started_at is None and done >= warm_up:
                    phase.start()
                    started_at = done
                bar.update(bar_task, completed=done)
                if done >= total:
                    break
                if task.done():
                    task.result()  # raises the consumer's error
                    raise AssertionError(f"the consumer stopped after {done} events")
                await asyncio.sleep(0.05)
        phase.stop()
    finally:
        await poller.close()
    if done != total or started_at is None or started_at >= total:
        raise AssertionError(f"{done} events applied, expected {total} (clock from {started_at})")
    phase.events = total - started_at
    return phase


async def project(url: str, uri: str, bootstrap: str, warm_up: int, events: int) -> Phase:
    await upgrade(url)
    engine = async_engine(url, pool_size=2)
    async with engine.begin() as conn:
        await conn.execute(text(PROJECTION))
    subs = Subscriptions()

    @subs.on(SERVICE, "LogroEvaluado")
    async def count(envelope: Envelope, conn: AsyncConnection) -> None:
        d = envelope.data
        await conn.exec_driver_sql(UPSERT, (d["municipio"], d["logro"], d["estado"]))

    total = warm_up + events
    settings = ConsumerSettings(max_records=MAX_RECORDS)
    try:
        async with consuming("bench-project", engine, bootstrap, subs, settings) as task:
            phase = await timed_until_applied(
                uri, warm_up, total, "consume (ConsumerRunner)", task, "consumer-project"
            )
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(uri)
    try:
        inbox = await conn.fetchval("SELECT count(*) FROM inbox")
    finally:
        await conn.close()
    if inbox != total:
        raise AssertionError(f"{inbox} inbox rows, expected {total}")
    return phase


async def baseline(url: str, uri: str, bootstrap: str, warm_up: int, events: int) -> Phase:
    await upgrade(url)  # same tables as the project, though only the projection is used
    pool = await asyncpg.create_pool(uri, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        await conn.execute(PROJECTION)
    stopping = asyncio.Event()

    async def consume() -> None:
        consumer = AIOKafkaConsumer(
            event_topic(SERVICE),
            bootstrap_servers=bootstrap,
            group_id="bench-raw",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=MAX_RECORDS,
        )
        await consumer.start()
        try:
            while not stopping.is_set():
                batches = await consumer.getmany(timeout_ms=500)
                for tp, records in batches.items():
                    async with pool.acquire() as conn, conn.transaction():
                        for record in records:  # the statements the project's handler issues
                            d = json.loads(record.value)
                            await conn.execute(UPSERT, d["municipio"], d["logro"], d["estado"])
                    await consumer.commit({tp: records[-1].offset + 1})
        finally:
            await consumer.stop()

    task = asyncio.create_task(consume())
    try:
        total = warm_up + events
        return await timed_until_applied(
            uri, warm_up, total, "consume (raw aiokafka + asyncpg)", task, "consumer-baseline"
        )
    finally:
        stopping.set()
        await task
        await pool.close()


async def run(servers: Servers, events: int) -> Result:
    bootstrap = servers.kafka.bootstrap
    await ensure_topics(bootstrap, [SERVICE])
    warm_up = min(WARM_UP, events // 10)
    await fill_topic(servers, warm_up + events)
    project_url, project_uri = servers.database("bench_consume_project")
    raw_url, raw_uri = servers.database("bench_consume_raw")
    servers.checkpoint()
    project_phase = await project(project_url, project_uri, bootstrap, warm_up, events)
    servers.checkpoint()
    baseline_phase = await baseline(raw_url, raw_uri, bootstrap, warm_up, events)
    return Result(
        bench="consumer",
        events=events,
        project=project_phase,
        baseline=baseline_phase,
        target=0.5,
        project_path="ConsumerRunner: inbox rows + 1 upsert per event, 1 transaction per batch",
        baseline_path="raw aiokafka + asyncpg, 1 upsert per event, 1 transaction per batch",
        extra={
            "warm_up_events": warm_up,
            "timed_events": {"project": project_phase.events, "baseline": baseline_phase.events},
            "max_records": MAX_RECORDS,
            "baseline_transactions": "one per partition batch (as the project)",
        },
    )
