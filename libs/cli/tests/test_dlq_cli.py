"""`juntos dlq` against the real broker: list, show and replay a dead letter; clear errors."""

from __future__ import annotations

import asyncio
import json
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from juntos_cli.main import app
from juntos_events.topics import ensure_topics
from typer.testing import CliRunner

runner = CliRunner()


async def _plant(bootstrap: str, service: str) -> None:
    """A dead letter as the consumer runner writes it: original headers plus dlq_* headers."""
    await ensure_topics(bootstrap, [service], partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    headers = [
        ("ce_id", b"6f1c0d4e-0000-4000-8000-000000000001"),
        ("ce_type", f"co.gov.juntos.{service}.FamiliaVinculada".encode()),
        ("ce_subject", b"fam-9"),
        ("dlq_error", b"ValueError: municipio desconocido"),
        ("dlq_consumer", b"accompaniment"),
        ("dlq_topic", f"juntos.{service}.events".encode()),
    ]
    await producer.send_and_wait(
        f"juntos.{service}.events.dlq", b'{"familia": "fam-9"}', key=b"fam-9", headers=headers
    )
    await producer.stop()


async def _original_topic(bootstrap: str, service: str) -> list[dict[str, bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    tp = TopicPartition(f"juntos.{service}.events", 0)
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    batch = await consumer.getmany(tp, timeout_ms=5000)
    await consumer.stop()
    return [dict(r.headers) for r in batch.get(tp, [])]


def test_list_show_replay(kafka_bootstrap: str) -> None:
    service = f"c{uuid.uuid4().hex[:8]}"
    asyncio.run(_plant(kafka_bootstrap, service))
    address = f"juntos.{service}.events.dlq:0:0"
    common = ["--bootstrap", kafka_bootstrap]

    wide = {"COLUMNS": "300"}  # one table row per line, as in a wide terminal
    listed = runner.invoke(app, ["dlq", "list", *common, "--service", service], env=wide)
    assert listed.exit_code == 0, listed.output
    assert address in listed.output and "municipio desconocido" in listed.output

    shown = runner.invoke(app, ["dlq", "show", address, *common])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["data"] == {"familia": "fam-9"}

    replayed = runner.invoke(app, ["dlq", "replay", address, *common])
    assert replayed.exit_code == 0, replayed.output
    [headers] = asyncio.run(_original_topic(kafka_bootstrap, service))
    assert headers["ce_id"] == b"6f1c0d4e-0000-4000-8000-000000000001"
    assert not any(k.startswith("dlq_") for k in headers), "the replay is the original record"


def test_errors_are_one_line(kafka_bootstrap: str) -> None:
    for args, message in (
        (["show", "juntos.offer.events:0:0"], "not a dead-letter address"),
        (["show", "juntos.nosuch.events.dlq:0:0"], "no such dead-letter partition"),
        (["list", "--bootstrap", "127.0.0.1:1"], "Kafka does not answer"),
    ):
        extra = [] if "--bootstrap" in args else ["--bootstrap", kafka_bootstrap]
        result = runner.invoke(app, ["dlq", *args, *extra])
        assert result.exit_code == 1, result.output
        assert message in result.output and "Traceback" not in result.output
