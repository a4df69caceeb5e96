"""Outbox relay against the real broker: every event once per id, in order per key, no gaps."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

from juntos_events.events import EventRegistry
from juntos_events.relay import OutboxRelay, RelaySettings, idempotent_producer
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


async def _run_relays(engine: AsyncEngine, bootstrap: str, count: int, **settings: int) -> None:
    """Run `count` relays at once until the outbox is empty."""
    producers = [idempotent_producer(bootstrap) for _ in range(count)]
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
