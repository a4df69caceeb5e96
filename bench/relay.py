"""OutboxRelay draining N outbox rows vs raw aiokafka producing the same N messages.

Both use the same producer settings (idempotent, acks=all, linger 5 ms) and the same keys,
headers and payloads; the relay additionally claims lanes, reads the rows and deletes them.
"""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from juntos_events.migrate import upgrade
from juntos_events.relay import OutboxRelay, RelaySettings, idempotent_producer
from juntos_events.schema import outbox
from juntos_events.store import EventStore
from juntos_events.topics import ensure_topics
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from bench.report import Result, Stopwatch
from bench.servers import Servers
from bench.workload import event, in_parallel, progress, registry

CHUNK = 100  # events per append while filling the outbox (filling is not timed)
BATCH = RelaySettings().batch_size  # the raw side awaits its acks in batches of the same size


async def fill(url: str, service: str, events: int) -> list[tuple[str, dict[str, str], bytes]]:
    """Fill the outbox through the store; returns the rows for the raw side to send."""
    await upgrade(url)
    engine = create_async_engine(url, pool_size=8)
    store = EventStore(registry(service))

    async def chunk(start: int) -> None:
        familia = f"fam-{start // CHUNK}"
        async with engine.begin() as conn:
            batch = [event(i) for i in range(start, min(start + CHUNK, events))]
            await store.append(conn, familia, "Familia", 0, batch, actor="bench")

    await in_parallel("fill outbox", list(range(0, events, CHUNK)), chunk)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(outbox.c.key, outbox.c.headers, outbox.c.payload))).all()
    await engine.dispose()
    return [(r.key, r.headers, r.payload) for r in rows]


async def project(url: str, bootstrap: str, events: int) -> float:
    engine = create_async_engine(url)
    producer = idempotent_producer(bootstrap)
    await producer.start()
    relay = OutboxRelay(engine, producer, RelaySettings())
    with progress() as bar, Stopwatch() as clock:
        task = bar.add_task("relay (project)", total=events)
        while published := await relay.publish_batch():
            bar.advance(task, published)
    await producer.stop()
    await engine.dispose()
    return clock.seconds


async def baseline(
    bootstrap: str, topic: str, rows: list[tuple[str, dict[str, str], bytes]]
) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    with progress() as bar, Stopwatch() as clock:
        task = bar.add_task("produce (raw aiokafka)", total=len(rows))
        for start in range(0, len(rows), BATCH):
            acks = [
                await producer.send(
                    topic,
                    value=payload,
                    key=key.encode(),
                    headers=[(k, v.encode()) for k, v in headers.items()],
                )
                for key, headers, payload in rows[start : start + BATCH]
            ]
            for ack in acks:
                await ack
            bar.advance(task, len(acks))
    await producer.stop()
    return clock.seconds


async def run(servers: Servers, events: int) -> Result:
    bootstrap = servers.kafka.bootstrap
    await ensure_topics(bootstrap, ["benchrelay", "benchraw"])
    url, _ = servers.database("bench_relay")
    rows = await fill(url, "benchrelay", events)
    return Result(
        bench="relay",
        events=events,
        project_seconds=await project(url, bootstrap, events),
        baseline_seconds=await baseline(bootstrap, "juntos.benchraw.events", rows),
        target=0.5,
        baseline="raw aiokafka",
    )
