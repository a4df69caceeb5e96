"""OutboxRelay draining N outbox rows vs raw aiokafka producing the same N messages.

Both sides use the same producer settings (idempotent, acks=all, linger 5 ms, 256 KiB batches)
and the same keys, headers and payloads, read from the outbox the store filled (untimed). The
relay claims lanes, reads its rows, sends them, awaits every ack and deletes them, one
transaction per batch of 500. The raw baseline sends all N messages, then flushes and awaits
them all (the producer's ceiling). It runs twice, before and after the relay, and the mean is
used, which cancels drift of the broker (page cache, JIT, log segments). A third raw run that
awaits acks per batch of 500 (what the relay must do before it may delete its rows) is recorded
for information. Each side first publishes the same warm-up rows untimed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from juntos_events.engine import async_engine
from juntos_events.migrate import upgrade
from juntos_events.relay import OutboxRelay, RelaySettings, idempotent_producer
from juntos_events.schema import outbox
from juntos_events.store import EventStore
from juntos_events.topics import ensure_topics, event_topic
from sqlalchemy import func, select

from bench.report import Phase, Result, release_memory
from bench.servers import Servers
from bench.workload import event, in_parallel, progress, registry

CHUNK = 100  # events per append while filling the outbox (filling is not timed)
BATCH = RelaySettings().batch_size
SERVICE, RAW, WARM = "benchrelay", "benchraw", "benchwarm"
WARM_UP = 10_000  # rows each side publishes untimed first (at most a tenth of N)
Row = tuple[str, dict[str, str], bytes]  # key, headers, payload: one outbox row


def raw_producer(bootstrap: str) -> AIOKafkaProducer:
    """The relay's producer settings, spelled out without the project's helper."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=30_000,
    )


async def fill(url: str, service: str, events: int) -> None:
    """Fill the outbox through the store (untimed)."""
    await upgrade(url)
    engine = async_engine(url, pool_size=8)
    store = EventStore(registry(service))

    async def chunk(start: int) -> None:
        familia = f"fam-{start // CHUNK}"
        async with engine.begin() as conn:
            batch = [event(i) for i in range(start, min(start + CHUNK, events))]
            await store.append(conn, familia, "Familia", 0, batch, actor="bench")

    try:
        await in_parallel("fill outbox", list(range(0, events, CHUNK)), chunk)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
    finally:
        await engine.dispose()
    if rows != events:
        raise AssertionError(f"the outbox holds {rows} rows, expected {events}")


async def keep_copy(uri: str) -> None:
    """Copy the outbox aside (untimed), so that the raw side can load the same messages."""
    conn = await asyncpg.connect(uri)
    try:
        await conn.execute(
            "CREATE TABLE raw_messages AS SELECT id, key, headers::text, payload FROM outbox"
        )
    finally:
        await conn.close()


async def load_rows(uri: str, limit: int | None = None) -> list[Row]:
    """The copied outbox rows in publishing order, as the raw producer's input (untimed)."""
    conn = await asyncpg.connect(uri)
    try:
        records = await conn.fetch(
            "SELECT key, headers, payload FROM raw_messages ORDER BY id LIMIT $1", limit
        )
    finally:
        await conn.close()
    return [(r["key"], json.loads(r["headers"]), r["payload"]) for r in records]


async def drain(
    url: str,
    bootstrap: str,
    events: int,
    label: str,
    warm_up: int = 0,
    profile_as: str | None = None,
) -> Phase:
    """Run the project's relay until the outbox is empty.

    The first `warm_up` rows are published untimed by the same relay (connections, prepared
    statements, producer metadata); the clock runs for the `events` rows after them.
    """
    engine = async_engine(url)
    producer = idempotent_producer(bootstrap)
    await producer.start()
    relay = OutboxRelay(engine, producer, RelaySettings())
    try:
        warmed = 0
        while warmed < warm_up and (published := await relay.publish_batch()):
            warmed += published
        with progress() as bar, Phase(profile_as) as phase:
            task = bar.add_task(label, total=events)
            done = 0
            while published := await relay.publish_batch():
                done += published
                bar.advance(task, published)
        async with engine.connect() as conn:
            left = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
    finally:
        await producer.stop()
        await engine.dispose()
    if warmed != warm_up or done != events or left:
        raise AssertionError(f"relay: {warmed} + {done} published, {left} left in the outbox")
    return phase


async def produce(
    bootstrap: str,
    topic: str,
    rows: Sequence[Row],
    label: str,
    *,
    warm_up: Sequence[Row] = (),
    await_every: int | None = None,
    profile_as: str | None = None,
) -> Phase:
    """Raw aiokafka: send every row, awaiting the acks every `await_every` or all at the end.

    `warm_up` rows are sent and acknowledged first, untimed, by the same producer.
    """
    producer = raw_producer(bootstrap)
    await producer.start()
    step = await_every or len(rows)
    try:
        await asyncio.gather(*[await _send(producer, topic, row) for row in warm_up])
        with progress() as bar, Phase(profile_as) as phase:
            task = bar.add_task(label, total=len(rows))
            for start in range(0, len(rows), step):
                acks: list[asyncio.Future[Any]] = []
                for row in rows[start : start + step]:
                    acks.append(await _send(producer, topic, row))
                    if len(acks) % BATCH == 0:
                        bar.advance(task, BATCH)
                await producer.flush()
                await asyncio.gather(*acks)
                bar.update(task, completed=start + len(acks))
    finally:
        await producer.stop()
    return phase


async def _send(producer: AIOKafkaProducer, topic: str, row: Row) -> asyncio.Future[Any]:
    key, headers, payload = row
    wire = [(k, v.encode()) for k, v in headers.items()]
    return await producer.send(topic, value=payload, key=key.encode(), headers=wire)


async def messages_in(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return sum(ends.values())
    finally:
        await consumer.stop()


async def run(servers: Servers, events: int) -> Result:
    bootstrap = servers.kafka.bootstrap
    await ensure_topics(bootstrap, [SERVICE, RAW, WARM])
    url, uri = servers.database("bench_relay")
    warm_up = min(WARM_UP, events // 10 // BATCH * BATCH)
    await fill(url, SERVICE, warm_up + events)
    await keep_copy(uri)
    raw_topic = event_topic(RAW)

    # The raw side's messages are in this process's memory only while it runs (they are about
    # 2.3 KiB each as Python objects): the relay's phase measures the relay's memory.
    rows = await load_rows(uri)
    # Warm the broker (JIT, page cache) on another topic, so that the side measured first
    # does not pay for it; each side then warms its own producer with the same rows.
    await produce(bootstrap, event_topic(WARM), rows[:50_000], "warm-up (broker)")
    servers.checkpoint()
    before = await produce(
        bootstrap,
        raw_topic,
        rows[warm_up:],
        "produce (raw aiokafka) 1/2",
        warm_up=rows[:warm_up],
        profile_as="relay-baseline",
    )
    del rows
    release_memory()

    project = await drain(url, bootstrap, events, "relay (OutboxRelay)", warm_up, "relay-project")

    rows = await load_rows(uri)
    after = await produce(
        bootstrap,
        raw_topic,
        rows[warm_up:],
        "produce (raw aiokafka) 2/2",
        warm_up=rows[:warm_up],
        profile_as="relay-baseline",
    )
    batched = await produce(
        bootstrap,
        raw_topic,
        rows[warm_up:],
        f"produce (raw, acks per {BATCH})",
        warm_up=rows[:warm_up],
        await_every=BATCH,
    )
    del rows
    release_memory()
    published = await messages_in(bootstrap, event_topic(SERVICE))
    if published != warm_up + events:
        raise AssertionError(f"the relay published {published}, expected {warm_up + events}")
    return Result(
        bench="relay",
        events=events,
        project=project,
        baseline=Phase.mean([before, after]),
        target=0.5,
        project_path=f"OutboxRelay.publish_batch until empty, batch {BATCH}",
        baseline_path="raw aiokafka, send all then flush and await all (mean of 2 runs)",
        extra={
            "warm_up_events": warm_up,
            "baseline_runs_eps": [round(events / p.seconds, 1) for p in (before, after)],
            "baseline_acks_per_batch_eps": round(events / batched.seconds, 1),
            "ratio_vs_acks_per_batch": round(batched.seconds / project.seconds, 3),
        },
    )
