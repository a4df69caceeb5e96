"""Outbox relay against the real broker: every event once per id, in order per key, no gaps."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from juntos_events import relay as relay_module
from juntos_events.events import EventRegistry
from juntos_events.relay import _CLAIM_ROWS, OutboxRelay, RelaySettings, idempotent_producer
from juntos_events.schema import outbox
from juntos_events.store import EventStore
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import Demo, headers_of

FAMILIES, PER_FAMILY = 40, 15


async def _append_interleaved(engine: AsyncEngine, store: EventStore) -> None:
    """Many writers at once, each appending one event at a time to its family's stream."""

    async def family(i: int) -> None:
        version = 0
        for n in range(PER_FAMILY):
            async with engine.begin() as conn:
                version = await store.append(
                    conn, f"fam-{i}", "Familia", version, [Demo(familia=f"fam-{i}", n=n)], actor="a"
                )

    await asyncio.gather(*(family(i) for i in range(FAMILIES)))


async def _run_relays(
    engine: AsyncEngine,
    bootstrap: str,
    count: int,
    producer: dict[str, int] | None = None,
    **settings: int,
) -> None:
    """Run `count` relays at once until the outbox is empty."""
    producers = [idempotent_producer(bootstrap, **(producer or {})) for _ in range(count)]
    relays = [OutboxRelay(engine, p, RelaySettings(**settings)) for p in producers]
    for p in producers:
        await p.start()
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        async with asyncio.timeout(60):
            while True:
                async with engine.connect() as conn:
                    left = (await conn.execute(select(func.count()).select_from(outbox))).scalar()
                if left == 0:
                    break
                await asyncio.sleep(0.1)
    finally:
        for r in relays:
            r.stop()
        await asyncio.gather(*tasks)
        for p in producers:
            await p.stop()


async def test_two_relays_deliver_every_event_once_in_order_per_key(
    engine: AsyncEngine, store: EventStore, registry: EventRegistry, kafka_bootstrap, topic_reader
):
    writing = asyncio.create_task(_append_interleaved(engine, store))
    # Relays run while writers are still committing, with small batches to force many claims.
    await asyncio.sleep(0.05)
    relays = asyncio.create_task(_run_relays(engine, kafka_bootstrap, 2, batch_size=7, max_lanes=8))
    await writing
    await relays
    await _run_relays(engine, kafka_bootstrap, 1)  # whatever committed after the relays' last look

    total = FAMILIES * PER_FAMILY
    records = await topic_reader(registry.topic, total)
    ids = [headers_of(r)["ce_id"] for r in records]
    assert len(ids) == total and len(set(ids)) == total, "each event published exactly once"
    by_key: dict[bytes, list[int]] = defaultdict(list)
    for record in records:
        assert record.key is not None
        by_key[record.key].append(json.loads(record.value)["n"])
    assert len(by_key) == FAMILIES
    for key, ns in by_key.items():
        assert ns == list(range(PER_FAMILY)), f"{key!r} out of order: {ns}"


async def test_late_committing_transaction_is_not_skipped(
    engine: AsyncEngine, store: EventStore, registry: EventRegistry, kafka_bootstrap, topic_reader
):
    """The classic gap: an earlier-numbered row that commits after later rows were published."""
    late = await engine.connect()
    await late.begin()
    await store.append(late, "fam-late", "Familia", 0, [Demo(familia="fam-late", n=1)], actor="a")
    async with engine.begin() as conn:
        await store.append(
            conn, "fam-early", "Familia", 0, [Demo(familia="fam-early", n=2)], actor="a"
        )
    await _run_relays(engine, kafka_bootstrap, 1)
    await late.commit()
    await late.close()
    await _run_relays(engine, kafka_bootstrap, 1)
    records = await topic_reader(registry.topic, 2)
    assert sorted(r.key for r in records) == [b"fam-early", b"fam-late"]


async def _outbox_stats(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        row = (
            await conn.exec_driver_sql(
                "SELECT vacuum_count, n_dead_tup FROM pg_stat_user_tables WHERE relname = 'outbox'"
            )
        ).one()
    return row[0], row[1]


async def _claim_pages(engine: AsyncEngine) -> int:
    """Index and heap pages one claim reads (the relay's own statement) to find what is left."""
    async with engine.connect() as conn:
        plan = (
            await conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
                + _CLAIM_ROWS.replace(
                    "$1::smallint[]", f"'{{{','.join(map(str, range(16)))}}}'"
                ).replace("$2", "500")
            )
        ).scalar_one()
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return int(top["Shared Hit Blocks"] + top["Shared Read Blocks"])


@pytest.mark.parametrize("vacuum_after_rows", [0, 200])
async def test_relay_vacuums_the_rows_it_deleted(
    engine: AsyncEngine, store: EventStore, vacuum_after_rows: int, kafka_bootstrap
):
    """Published rows are deleted; left to autovacuum (about once a minute) they stay in the
    primary key and every claim walks them. The relay vacuums once it deleted enough of them."""
    async with engine.begin() as conn:
        for i in range(40):
            await store.append(
                conn,
                f"fam-{i}",
                "Familia",
                0,
                [Demo(familia=f"fam-{i}", n=n) for n in range(25)],
                actor="a",
            )
    async with engine.begin() as conn:  # only the relay vacuums here, never autovacuum
        await conn.exec_driver_sql("ALTER TABLE outbox SET (autovacuum_enabled = false)")
    vacuums, _ = await _outbox_stats(engine)
    await _run_relays(
        engine,
        kafka_bootstrap,
        1,
        batch_size=50,
        vacuum_after_rows=vacuum_after_rows,
        vacuum_every_seconds=0,
    )
    after, dead = await _outbox_stats(engine)
    if vacuum_after_rows:
        assert after > vacuums and dead < 200
        assert await _claim_pages(engine) < 10
        async with engine.connect() as conn:  # not truncated: no exclusive lock, no xid
            size = await conn.exec_driver_sql("SELECT pg_relation_size('outbox')")
            assert size.scalar_one() > 0
    else:  # the walk the vacuum saves: 1,000 dead entries, and their heap pages
        assert after == vacuums
        assert await _claim_pages(engine) > 10


@pytest.mark.parametrize(
    ("spans", "batch_bytes"),
    [(False, None), (False, 1024), (True, None)],
    ids=["batches", "batches-that-fill", "a-span-each"],
)
async def test_each_key_goes_where_producer_send_puts_it_in_order(
    engine: AsyncEngine,
    store: EventStore,
    registry: EventRegistry,
    kafka_bootstrap,
    topic_reader,
    monkeypatch: pytest.MonkeyPatch,
    spans: bool,
    batch_bytes: int | None,
):
    """Without spans to record the relay fills one batch per partition (several, in order, when
    one fills up); a key's partition must be the one `producer.send` chooses (what it did
    before, and does when spans are recorded)."""
    monkeypatch.setattr(relay_module.telemetry, "recording", lambda: spans)
    keys = [f"fam-{i}" for i in range(30)]
    async with engine.begin() as conn:
        for k in keys:
            await store.append(
                conn, k, "Familia", 0, [Demo(familia=k, n=n) for n in range(4)], actor="a"
            )
    sent: list[int] = []
    send_batch = AIOKafkaProducer.send_batch

    async def counted(self: AIOKafkaProducer, batch: Any, topic: str, *, partition: int) -> Any:
        sent.append(partition)
        return await send_batch(self, batch, topic, partition=partition)

    monkeypatch.setattr(AIOKafkaProducer, "send_batch", counted)
    producer = {"max_batch_size": batch_bytes} if batch_bytes else None
    await _run_relays(engine, kafka_bootstrap, 1, producer)
    if spans:
        assert sent == []  # a `send` each
    elif batch_bytes is None:
        assert sorted(sent) == [0, 1, 2]  # the 120 rows in one claim: one batch a partition
    else:
        assert len(sent) > 10  # batches filled up and more followed, in order
    records = await topic_reader(registry.topic, len(keys) * 4)
    producer = idempotent_producer(kafka_bootstrap)
    await producer.start()
    try:
        sent = {k: await producer.send(registry.topic, b"probe", key=k.encode()) for k in keys}
        chosen = {k: (await ack).partition for k, ack in sent.items()}
    finally:
        await producer.stop()
    assert len(records) == len(keys) * 4
    assert len(set(chosen.values())) == 3  # the topic's three partitions are all in use
    by_key: dict[str, list[int]] = defaultdict(list)
    for record in records:
        assert record.key is not None
        assert record.partition == chosen[record.key.decode()]
        by_key[record.key.decode()].append(json.loads(record.value)["n"])
    assert all(ns == [0, 1, 2, 3] for ns in by_key.values())


def test_the_relay_producer_keeps_the_default_partitioner_and_bytes_keys() -> None:
    """The relay's batches choose partitions as `send` does with these defaults."""
    from aiokafka.partitioner import DefaultPartitioner

    for override in ({"partitioner": DefaultPartitioner()}, {"key_serializer": str.encode}):
        with pytest.raises(ValueError, match="keeps its default"):
            idempotent_producer("127.0.0.1:9", **override)
