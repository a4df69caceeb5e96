"""The backbone's relay keeps publishing while the service's own event loop is busy."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from juntos_events.events import EventRegistry
from juntos_events.relay import RelaySettings
from juntos_events.runtime import Backbone
from juntos_events.store import EventStore
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import Demo, outbox_rows, wait_for

EVENTS = 300


def _published(topic: str) -> float:
    return REGISTRY.get_sample_value("juntos_outbox_published_total", {"topic": topic}) or 0.0


def _hog_loop_until(done: Any, limit_s: float) -> bool:
    """Hold the caller's event loop in pure Python (as a rules evaluation does) until done()."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if done():
            return True
        sum(i * i for i in range(2_000))
    return False


async def test_relay_publishes_while_a_request_holds_the_event_loop(
    engine: AsyncEngine,
    database_url: str,
    kafka_bootstrap: str,
    registry: EventRegistry,
    store: EventStore,
    topic_reader: Any,
) -> None:
    async with engine.begin() as conn:
        for i in range(EVENTS):
            await store.append(
                conn, f"fam-{i}", "Familia", 0, [Demo(familia=f"fam-{i}", n=i)], actor="a"
            )
    backbone = Backbone(
        service=registry.service,
        database_url=database_url,
        bootstrap=kafka_bootstrap,
        relay_settings=RelaySettings(batch_size=50),
    )
    before = _published(registry.topic)
    async with backbone.running(engine):
        # Without awaiting once: a relay on this loop could not publish a single batch.
        published = _hog_loop_until(lambda: _published(registry.topic) - before >= EVENTS, 60.0)
        await wait_for(lambda: _empty(engine))
    assert published, "the relay published nothing while the loop was held"
    records = await topic_reader(registry.topic, EVENTS)
    assert sorted(json.loads(r.value)["n"] for r in records) == list(range(EVENTS))


async def _empty(engine: AsyncEngine) -> bool:
    return await outbox_rows(engine) == 0


async def test_backbone_stops_its_relay_thread_even_when_kafka_cannot_be_reached(
    engine: AsyncEngine, database_url: str
) -> None:
    backbone = Backbone(
        service="nadie", database_url=database_url, bootstrap="127.0.0.1:1", stop_timeout_seconds=30
    )
    async with backbone.running(engine):
        await asyncio.sleep(0.5)
    # The thread was retrying the producer's start; asked to stop, it stops (it is a daemon: one
    # left running would go unnoticed until the process exits).
    assert not [t for t in threading.enumerate() if t.name == "outbox-relay"]
