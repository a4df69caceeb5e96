"""Dead letters: see what a consumer could not apply, and send it back once the cause is fixed.

A replay re-publishes the original record (same key, same CloudEvents headers, same id) to its
original topic. Every consumer group sees it again, and the inboxes make that harmless: groups
that had applied the event skip it by id, the one that failed applies it now.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from juntos_events.relay import idempotent_producer
from juntos_events.topics import PRODUCERS, dead_letter_topic, event_topic

DLQ_HEADERS = ("dlq_error", "dlq_consumer", "dlq_topic", "dlq_partition", "dlq_offset")


@dataclass(frozen=True)
class DeadLetterRecord:
    """One dead letter, addressed as `topic:partition:offset`; no event data, no personal data."""

    topic: str
    partition: int
    offset: int
    time: datetime
    event_id: str
    event_type: str
    subject: str
    consumer: str
    error: str
    original_topic: str

    @property
    def address(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


def parse_address(address: str) -> tuple[str, int, int]:
    """`juntos.enrollment.events.dlq:0:12` -> (topic, partition, offset)."""
    topic, _, rest = address.rpartition(":")
    topic, _, partition = topic.rpartition(":")
    if not (topic.endswith(".dlq") and partition.isdigit() and rest.isdigit()):
        raise ValueError(f"not a dead-letter address (topic.dlq:partition:offset): {address!r}")
    return topic, int(partition), int(rest)


def _describe(record: ConsumerRecord[bytes, bytes]) -> DeadLetterRecord:
    headers = {k: v.decode(errors="replace") for k, v in record.headers}
    return DeadLetterRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        time=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        event_id=headers.get("ce_id", "?"),
        event_type=headers.get("ce_type", "?").rpartition(".")[2],
        subject=headers.get("ce_subject", ""),
        consumer=headers.get("dlq_consumer", "?"),
        error=headers.get("dlq_error", ""),
        original_topic=headers.get("dlq_topic", record.topic.removesuffix(".dlq")),
    )


async def _partitions(bootstrap: str, topics: list[str]) -> list[TopicPartition]:
    """The partitions of those `topics` that exist (a consumer only knows assigned ones)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in topics if t in existing]
        described = await admin.describe_topics(wanted) if wanted else []
    finally:
        await admin.close()
    return [
        TopicPartition(d["topic"], p["partition"])
        for d in described
        for p in sorted(d["partitions"], key=lambda p: p["partition"])
    ]


async def _read_all(bootstrap: str, topics: list[str]) -> list[ConsumerRecord[bytes, bytes]]:
    """Everything in `topics` up to their current end, without joining any consumer group."""
    partitions = await _partitions(bootstrap, topics)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        pending = {tp for tp in partitions if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(part)
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        return records
    finally:
        await consumer.stop()


async def list_dead_letters(
    bootstrap: str, services: tuple[str, ...] = PRODUCERS
) -> list[DeadLetterRecord]:
    topics = [dead_letter_topic(event_topic(s)) for s in services]
    records = await _read_all(bootstrap, topics)
    return sorted((_describe(r) for r in records), key=lambda d: (d.time, d.address))


async def fetch(bootstrap: str, address: str) -> ConsumerRecord[bytes, bytes]:
    topic, partition, offset = parse_address(address)
    tp = TopicPartition(topic, partition)
    if tp not in await _partitions(bootstrap, [topic]):
        raise LookupError(f"no such dead-letter partition: {topic}:{partition}")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        if offset >= end:
            raise LookupError(f"no dead letter at {address} (the partition ends at {end})")
        consumer.seek(tp, offset)
        async with asyncio.timeout(15):
            while True:
                batch = await consumer.getmany(tp, timeout_ms=500)
                for record in batch.get(tp, []):
                    if record.offset == offset:
                        return record
                    if record.offset > offset:
                        raise LookupError(f"no dead letter at {address} (compacted?)")
    finally:
        await consumer.stop()


async def replay(bootstrap: str, address: str) -> DeadLetterRecord:
    """Publish the dead letter's original record again to its original topic."""
    record = await fetch(bootstrap, address)
    described = _describe(record)
    headers = [(k, v) for k, v in record.headers if k not in DLQ_HEADERS]
    producer = idempotent_producer(bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            described.original_topic, value=record.value, key=record.key, headers=headers
        )
    finally:
        await producer.stop()
    return described
