"""Dead letters can be listed and, once the cause is fixed, replayed without double effects."""

from __future__ import annotations

import asyncio
import json

import pytest
from juntos_events.dlq import fetch, list_dead_letters, parse_address, replay
from juntos_events.events import EventRegistry
from juntos_events.store import EventStore
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import Demo, publish_outbox, wait_for
from .processes.projection import create_table, totals
from .test_consumer import runner


async def test_list_then_replay_after_the_fix(
    engine: AsyncEngine, store: EventStore, registry: EventRegistry, kafka_bootstrap: str
):
    await create_table(engine)
    async with engine.begin() as conn:
        events = [Demo(familia="fam-d", n=n) for n in (1, 13, 2)]
        await store.append(conn, "fam-d", "Familia", 0, events, actor="a")
    await publish_outbox(engine, kafka_bootstrap)

    broken = runner(engine, kafka_bootstrap, registry, poison_n=13, max_attempts=2)
    task = asyncio.create_task(broken.run())

    async def dead_lettered() -> bool:
        return len(await list_dead_letters(kafka_bootstrap, (registry.service,))) == 1

    await wait_for(dead_lettered)
    broken.stop()
    await task
    assert (await totals(engine))["fam-d"] == (3, 2)

    [letter] = await list_dead_letters(kafka_bootstrap, (registry.service,))
    assert letter.event_type == "Demo" and letter.subject == "fam-d"
    assert letter.consumer == broken.name and letter.original_topic == registry.topic
    assert letter.error.startswith("ValueError: cannot apply n=13")
    record = await fetch(kafka_bootstrap, letter.address)
    assert json.loads(record.value)["n"] == 13

    await replay(kafka_bootstrap, letter.address)
    fixed = runner(engine, kafka_bootstrap, registry)  # same group: resumes after its commits
    task = asyncio.create_task(fixed.run())

    async def applied() -> bool:
        return (await totals(engine))["fam-d"] == (16, 3)

    await wait_for(applied)
    fixed.stop()
    await task


def test_addresses_are_checked():
    assert parse_address("juntos.offer.events.dlq:2:40") == ("juntos.offer.events.dlq", 2, 40)
    for bad in ("juntos.offer.events:2:40", "juntos.offer.events.dlq:x:1", "nonsense"):
        with pytest.raises(ValueError, match="dead-letter address"):
            parse_address(bad)


async def test_fetch_beyond_the_end_is_a_clear_error(registry: EventRegistry, kafka_bootstrap):
    with pytest.raises(LookupError, match="partition ends at 0"):
        await fetch(kafka_bootstrap, f"{registry.topic}.dlq:0:5")
