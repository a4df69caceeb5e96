"""Fixtures of the backbone tests: a migrated database, a service registry with its own topics."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from juntos_events.engine import async_engine
from juntos_events.events import DomainEvent, EventRegistry
from juntos_events.migrate import upgrade
from juntos_events.relay import OutboxRelay, idempotent_producer
from juntos_events.schema import outbox
from juntos_events.store import EventStore
from juntos_events.topics import ensure_topics
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine


class Demo(DomainEvent):
    """A test event: a family, a counter and a municipality (pseudonymous, like real ones)."""

    familia: str
    n: int
    municipio: str = "05001"


def make_registry(service: str) -> EventRegistry:
    registry = EventRegistry(service)
    registry.register("Demo")(Demo)
    return registry


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade(database_url)
    engine = async_engine(database_url, pool_size=10)
    yield engine
    await engine.dispose()


@pytest.fixture
async def registry(kafka_bootstrap: str) -> EventRegistry:
    """A registry for a fresh service name, so each test has its own topics."""
    service = f"t{uuid.uuid4().hex[:10]}"
    await ensure_topics(kafka_bootstrap, [service], partitions=3)
    return make_registry(service)


@pytest.fixture
def store(registry: EventRegistry) -> EventStore:
    return EventStore(registry)


async def read_topic(
    bootstrap: str,
    topic: str,
    expected: int,
    timeout: float = 60.0,
    stop_when: Callable[[list[ConsumerRecord[bytes, bytes]]], bool] | None = None,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read a topic from offset 0 with a raw aiokafka consumer until `expected` records arrived."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(timeout):
            while len(records) < expected and not (stop_when and stop_when(records)):
                batch = await consumer.getmany(timeout_ms=500)
                for part in batch.values():
                    records.extend(part)
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return records


def headers_of(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    return {k: v.decode() for k, v in record.headers}


@pytest.fixture
def topic_reader(kafka_bootstrap: str) -> Callable[..., Any]:
    """`await topic_reader(topic, expected)`: every record of a topic, read with raw aiokafka."""

    async def read(topic: str, expected: int, **kwargs: Any) -> list[ConsumerRecord[bytes, bytes]]:
        return await read_topic(kafka_bootstrap, topic, expected, **kwargs)

    return read


async def publish_outbox(engine: AsyncEngine, bootstrap: str) -> int:
    producer = idempotent_producer(bootstrap)
    await producer.start()
    relay, published = OutboxRelay(engine, producer), 0
    try:
        while count := await relay.publish_batch():
            published += count
    finally:
        await producer.stop()
    return published


async def outbox_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()


async def wait_for(predicate: Callable[[], object], timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():  # type: ignore[misc]
            await asyncio.sleep(0.1)
