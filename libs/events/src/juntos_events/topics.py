"""Topic names and their creation: one topic per producing service plus its dead-letter topic.

Auto-creation is off on the broker, so topics exist only if the project creates them, with
infinite retention so that any projection can be rebuilt from offset 0.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

SERVICES = ("enrollment", "accompaniment", "offer", "territorial", "reporting")
PRODUCERS = ("enrollment", "accompaniment", "offer", "territorial")
DEFAULT_PARTITIONS = 6
INFINITE_RETENTION = {"retention.ms": "-1", "retention.bytes": "-1"}


def event_topic(service: str) -> str:
    return f"juntos.{service}.events"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


def topics_for(services: Iterable[str]) -> list[str]:
    names: list[str] = []
    for service in services:
        names += [event_topic(service), dead_letter_topic(event_topic(service))]
    return names


async def ensure_topics(
    bootstrap: str,
    services: Iterable[str] = PRODUCERS,
    partitions: int = DEFAULT_PARTITIONS,
    *,
    extra: Iterable[str] = (),
    connect_timeout: float = 30.0,
) -> list[str]:
    """Create the event and dead-letter topics of `services` (and `extra` ones) if missing.

    Returns the names that were created now; existing topics are left as they are.
    """
    wanted = [*topics_for(services), *extra]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await asyncio.wait_for(_start_admin(admin), connect_timeout)
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            new = [NewTopic(t, partitions, 1, topic_configs=INFINITE_RETENTION) for t in missing]
            # another process may create them in between: same end state
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
        return missing
    finally:
        await admin.close()


async def _start_admin(admin: AIOKafkaAdminClient) -> None:
    while True:
        try:
            await admin.start()
            return
        except KafkaConnectionError:
            await asyncio.sleep(0.5)
