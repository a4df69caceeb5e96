"""Publishing events to the real broker as their producer would, for consumer tests.

Tests of a consumer (reporting's projections, territorial's capacity map, offer's demand) feed
it the producers' own event models, encoded exactly as the outbox relay publishes them
(CloudEvents binary mode, the stream id as key), without running the producing service.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from juntos_events.envelope import encode
from juntos_events.events import DomainEvent, EventRegistry
from juntos_events.topics import ensure_topics


@pytest.fixture
async def kafka_producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """A started producer on the session's broker, the project's topics created."""
    await ensure_topics(kafka_bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    yield producer
    await producer.stop()


async def publish(
    producer: AIOKafkaProducer,
    registry: EventRegistry,
    event: DomainEvent,
    key: str,
    *,
    at: datetime | None = None,
    times: int = 1,
    event_id: str | None = None,
) -> str:
    """Publish `event` on its service's topic `times` times (a redelivery); its event id."""
    event_id = event_id or str(uuid.uuid4())
    message = encode(
        registry, event, event_id=event_id, stream_id=key, occurred_at=at or datetime.now(UTC)
    )
    for _ in range(times):
        await producer.send_and_wait(
            registry.topic, message.value, key=key.encode(), headers=list(message.headers.items())
        )
    return event_id


@asynccontextmanager
async def _admin(bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def partitions_of(bootstrap: str, topics: list[str]) -> list[TopicPartition]:
    async with _admin(bootstrap) as admin:
        described = await admin.describe_topics(topics)
    return [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]


async def committed_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """What `group` has committed, per partition (empty for a group that never committed)."""
    async with _admin(bootstrap) as admin:
        committed = await admin.list_consumer_group_offsets(group)
    return {tp: meta.offset for tp, meta in committed.items()}


async def start_at_end(bootstrap: str, group: str, topics: list[str]) -> list[TopicPartition]:
    """Commit the topics' end offsets for `group`: it reads only what is published next, not
    what other tests or benches left there. Returns the partitions."""
    tps = await partitions_of(bootstrap, topics)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.commit(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()
    return tps


async def fresh_group(bootstrap: str, service: str, topics: Iterable[str]) -> str:
    """A Kafka group of its own for one test's app (`consumer_group`), started at the topics'
    end: the session's broker carries other tests' events, which the service's shared group
    would read first (or it would wait on a rebalance with an earlier test's app)."""
    group = f"{service}-{uuid.uuid4().hex[:8]}"
    await start_at_end(bootstrap, group, list(topics))
    return group
