"""LocalKafka against the real broker the plugin starts once per session."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from juntos_cli.infra.kafka import LocalKafka, random_cluster_id


def test_broker_is_running(kafka_server: LocalKafka, kafka_bootstrap: str) -> None:
    assert kafka_server.is_running()
    assert kafka_server.pid is not None
    assert kafka_bootstrap == f"127.0.0.1:{kafka_server.port}"
    kafka_server.start()  # idempotent


def test_cluster_ids_look_like_kafkas() -> None:
    ids = {random_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


async def test_produce_and_consume_one_message(kafka_bootstrap: str) -> None:
    topic = f"cli-test-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hogar inscrito", key=b"familia-1")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=f"g-{topic}",
    )
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"familia-1", b"hogar inscrito")


async def test_topics_are_not_auto_created(kafka_bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, request_timeout_ms=600)
        await producer.start()
        try:
            partitions = await producer.partitions_for("does-not-exist")
        except Exception:
            partitions = None
        finally:
            await producer.stop()
        assert not partitions
        assert "does-not-exist" not in await admin.list_topics()
    finally:
        await admin.close()
