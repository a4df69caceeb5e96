"""Consumers against the real broker: inbox against redelivery, dead letters, crash and restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from juntos_events.consumer import ConsumerRunner, ConsumerSettings, Subscriptions
from juntos_events.events import EventRegistry
from juntos_events.store import EventStore
from juntos_events.topics import dead_letter_topic
from opentelemetry import trace
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import Demo, headers_of, outbox_rows, publish_outbox, wait_for
from .processes.projection import create_table, subscriptions, totals

PROCESSES = Path(__file__).parent / "processes"


async def append_many(engine: AsyncEngine, store: EventStore, families: int, each: int) -> dict:
    """Append `each` events to each family; returns the projection the consumer must reach."""
    expected = {}
    for i in range(families):
        async with engine.begin() as conn:
            events = [Demo(familia=f"fam-{i}", n=n) for n in range(1, each + 1)]
            await store.append(conn, f"fam-{i}", "Familia", 0, events, actor="a")
        expected[f"fam-{i}"] = (sum(range(1, each + 1)), each)
    return expected


def runner(
    engine: AsyncEngine,
    bootstrap: str,
    registry: EventRegistry,
    subs: Subscriptions | None = None,
    **kw,
) -> ConsumerRunner:
    """A runner of the registry's topic: `subs`, or the adding projection's subscriptions."""
    if subs is None:
        subs = subscriptions(registry.service, kw.pop("poison_n", None))
    return ConsumerRunner(
        name=f"{registry.service}-projection",
        engine=engine,
        bootstrap=bootstrap,
        topics=[registry.topic],
        subscriptions=subs,
        settings=ConsumerSettings(retry_backoff_seconds=0.01, **kw),
    )


async def test_redelivered_event_has_no_second_effect(
    engine: AsyncEngine, store: EventStore, registry: EventRegistry, kafka_bootstrap, topic_reader
):
    await create_table(engine)
    expected = await append_many(engine, store, families=5, each=4)
    await publish_outbox(engine, kafka_bootstrap)
    # Redeliver: the same records again, byte for byte, as a relay restart would.
    records = await topic_reader(registry.topic, 20)
    raw = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await raw.start()
    for r in records:
        await raw.send_and_wait(r.topic, r.value, key=r.key, headers=list(r.headers))
    await raw.stop()

    consumer = runner(engine, kafka_bootstrap, registry)
    task = asyncio.create_task(consumer.run())

    async def all_applied() -> bool:
        return await totals(engine) == expected

    await wait_for(all_applied)
    await asyncio.sleep(1.0)  # the duplicates are consumed too; nothing may change
    consumer.stop()
    await task
    assert await totals(engine) == expected


async def test_poison_messages_go_to_dead_letter_and_the_consumer_goes_on(
    engine: AsyncEngine, store: EventStore, registry: EventRegistry, kafka_bootstrap, topic_reader
):
    await create_table(engine)
    raw = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await raw.start()
    await raw.send_and_wait(registry.topic, b"not a cloudevent", key=b"fam-0")
    await raw.stop()
    async with engine.begin() as conn:
        events = [Demo(familia="fam-0", n=n) for n in (1, 13, 2, -1, 3)]
        await store.append(conn, "fam-0", "Familia", 0, events, actor="a")
    await publish_outbox(engine, kafka_bootstrap)

    consumer = runner(engine, kafka_bootstrap, registry, poison_n=13, max_attempts=3)
    task = asyncio.create_task(consumer.run())

    async def good_ones_applied() -> bool:
        return (await totals(engine)).get("fam-0") == (6, 3)

    await wait_for(good_ones_applied)
    consumer.stop()
    await task

    dead = await topic_reader(dead_letter_topic(registry.topic), 3)
    assert len(dead) == 3
    errors = sorted(headers_of(r)["dlq_error"] for r in dead)
    assert errors[0].startswith("DeadLetter: negative counters")
    assert errors[1].startswith("MalformedEnvelope")
    assert errors[2].startswith("ValueError: cannot apply n=13")
    for record in dead:
        h = headers_of(record)
        assert h["dlq_consumer"] == consumer.name and h["dlq_topic"] == registry.topic
        assert "dlq_offset" in h


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


async def test_consumer_killed_mid_batch_reaches_the_same_projection_after_restart(
    engine: AsyncEngine, store: EventStore, registry: EventRegistry, kafka_bootstrap, database_url
):
    await create_table(engine)
    expected = await append_many(engine, store, families=100, each=30)
    await publish_outbox(engine, kafka_bootstrap)
    args = (str(PROCESSES / "consumer_proc.py"), database_url, kafka_bootstrap, registry.service)

    proc = _spawn(*args)

    async def some_applied() -> bool:
        return sum(e for _, e in (await totals(engine)).values()) >= 300

    await wait_for(some_applied)
    _kill(proc)
    partial = sum(e for _, e in (await totals(engine)).values())
    assert partial < 3000, "killed before the end"

    proc = _spawn(*args)
    try:

        async def all_applied() -> bool:
            return await totals(engine) == expected

        await wait_for(all_applied)
    finally:
        _kill(proc)
    assert await totals(engine) == expected


async def test_relay_killed_mid_batch_loses_nothing_and_inbox_absorbs_redeliveries(
    engine: AsyncEngine,
    store: EventStore,
    registry: EventRegistry,
    kafka_bootstrap,
    database_url,
    topic_reader,
):
    await create_table(engine)
    expected = await append_many(engine, store, families=200, each=25)
    total = 5000
    relay_args = (
        "-m",
        "juntos_events",
        "relay",
        "--database-url",
        database_url,
        "--bootstrap",
        kafka_bootstrap,
        "--batch-size",
        "100",
    )

    proc = _spawn(*relay_args)

    async def some_published() -> bool:
        return await outbox_rows(engine) < total

    await wait_for(some_published)
    _kill(proc)

    proc = _spawn(*relay_args)
    try:

        async def drained() -> bool:
            return await outbox_rows(engine) == 0

        await wait_for(drained)
    finally:
        _kill(proc)

    records = await topic_reader(registry.topic, total)
    ids = [headers_of(r)["ce_id"] for r in records]
    assert len(set(ids)) == total, "no event lost"
    consumer = runner(engine, kafka_bootstrap, registry)
    task = asyncio.create_task(consumer.run())

    async def all_applied() -> bool:
        return await totals(engine) == expected

    await wait_for(all_applied)
    consumer.stop()
    await task
    assert await totals(engine) == expected


async def test_consumer_upcasts_old_versions_before_the_handler(
    engine: AsyncEngine, registry: EventRegistry, kafka_bootstrap
):
    """A producer still on v1 and a consumer that knows v2: the handler sees v2 data."""
    from juntos_events.consumer import Subscriptions
    from juntos_events.envelope import Envelope
    from juntos_events.events import DomainEvent

    class PesoV1(DomainEvent):
        peso_gramos: int

    class PesoV2(DomainEvent):
        peso_kg: float

    producer_side = EventRegistry(registry.service)
    producer_side.register("Peso", version=1)(PesoV1)
    consumer_side = EventRegistry(registry.service)
    consumer_side.register("Peso", version=1)(PesoV1)
    consumer_side.register("Peso", version=2)(PesoV2)
    consumer_side.upcaster("Peso", from_version=1)(lambda d: {"peso_kg": d["peso_gramos"] / 1000})

    async with engine.begin() as conn:
        await EventStore(producer_side).append(
            conn, "b-1", "Bebe", 0, [PesoV1(peso_gramos=3200)], actor="a"
        )
    await publish_outbox(engine, kafka_bootstrap)

    seen: list[Envelope] = []
    subs = Subscriptions()
    subs.upcast_with(consumer_side)

    @subs.on(registry.service, "Peso")
    async def record(envelope: Envelope, conn) -> None:
        seen.append(envelope)

    consumer = ConsumerRunner(
        name="upcast",
        engine=engine,
        bootstrap=kafka_bootstrap,
        topics=[registry.topic],
        subscriptions=subs,
    )
    task = asyncio.create_task(consumer.run())

    async def received() -> bool:
        return bool(seen)

    await wait_for(received)
    consumer.stop()
    await task
    assert (seen[0].schema_version, seen[0].data) == (2, {"peso_kg": 3.2})


class Otro(Demo):
    """A type the test consumer has no handler for."""


async def test_events_without_a_handler_are_skipped_without_inbox_rows(
    engine: AsyncEngine, store: EventStore, registry: EventRegistry, kafka_bootstrap, topic_reader
):
    registry.register("Otro")(Otro)
    await create_table(engine)
    async with engine.begin() as conn:
        events = [
            Demo(familia="fam-0", n=1),
            Otro(familia="fam-0", n=50),
            Demo(familia="fam-0", n=2),
        ]
        await store.append(conn, "fam-0", "Familia", 0, events, actor="a")
    await publish_outbox(engine, kafka_bootstrap)
    ids = {
        headers_of(r)["ce_type"].rsplit(".", 1)[1]: headers_of(r)["ce_id"]
        for r in await topic_reader(registry.topic, 3)
    }

    consumer = runner(engine, kafka_bootstrap, registry)
    task = asyncio.create_task(consumer.run())

    async def applied() -> bool:
        return (await totals(engine)).get("fam-0") == (3, 2)

    await wait_for(applied)
    await asyncio.sleep(1.0)  # the skipped one is consumed too and must leave no trace
    consumer.stop()
    await task
    async with engine.connect() as conn:
        inbox = {
            r[0]
            for r in await conn.execute(
                text("SELECT event_id FROM inbox WHERE consumer = :c"), {"c": consumer.name}
            )
        }
    assert len(inbox) == 2 and ids["Otro"] not in inbox and ids["Demo"] in inbox
    assert await topic_reader(dead_letter_topic(registry.topic), 1, timeout=3) == []


def _batch_subscriptions(service: str, calls: list[list[tuple[str, int]]], poison_n: int):
    """Demo in batches (poison_n fails), Otro one by one; both record what they saw, in order."""
    from juntos_events.consumer import Subscriptions
    from juntos_events.envelope import Envelope

    subs = Subscriptions()

    @subs.on_batch(service, "Demo")
    async def demos(envelopes, conn) -> None:
        if any(e.data["n"] == poison_n for e in envelopes):
            raise ValueError(f"cannot apply n={poison_n}")
        calls.append([("Demo", e.data["n"]) for e in envelopes])
        await conn.execute(
            text(
                "INSERT INTO demo_totals SELECT f, n, 1 FROM unnest(CAST(:f AS text[]),"
                " CAST(:n AS bigint[])) AS u(f, n) ON CONFLICT (familia) DO UPDATE"
                " SET total = demo_totals.total + EXCLUDED.total, events = demo_totals.events + 1"
            ),
            {"f": [e.data["familia"] for e in envelopes], "n": [e.data["n"] for e in envelopes]},
        )

    @subs.on(service, "Otro")
    async def otro(envelope: Envelope, conn) -> None:
        calls.append([("Otro", envelope.data["n"])])

    return subs


async def _run_batches(engine, registry, kafka_bootstrap, families: int, poison_n: int = 13):
    calls: list[list[tuple[str, int]]] = []
    consumer = runner(
        engine,
        kafka_bootstrap,
        registry,
        _batch_subscriptions(registry.service, calls, poison_n=poison_n),
        max_attempts=2,
    )
    task = asyncio.create_task(consumer.run())

    async def applied() -> bool:
        return len(await totals(engine)) == families

    await wait_for(applied)
    await asyncio.sleep(1.0)  # whatever else is on the topic is consumed too
    consumer.stop()
    await task
    return calls


async def test_batch_handler_gets_each_run_of_consecutive_events_in_one_call(
    engine: AsyncEngine, store: EventStore, registry: EventRegistry, kafka_bootstrap, topic_reader
):
    """One call per run, in partition order; a run never jumps over another handler's event;
    redelivered copies reach no handler."""
    registry.register("Otro")(Otro)
    await create_table(engine)
    with trace.get_tracer("test").start_as_current_span("one request"):
        # one request's events share its trace (runs keep to one trace)
        async with engine.begin() as conn:
            # one stream, so one partition: the order below is the order the consumer reads
            events = [
                Demo(familia="fam-a", n=1),
                Demo(familia="fam-b", n=2),
                Otro(familia="fam-a", n=50),
                Demo(familia="fam-c", n=3),
            ]
            await store.append(conn, "fam-0", "Familia", 0, events, actor="a")
    await publish_outbox(engine, kafka_bootstrap)
    records = await topic_reader(registry.topic, 4)
    raw = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await raw.start()
    for r in records:  # a relay restart sends them all again, byte for byte
        await raw.send_and_wait(r.topic, r.value, key=r.key, headers=list(r.headers))
    await raw.stop()

    calls = await _run_batches(engine, registry, kafka_bootstrap, families=3)

    assert calls == [[("Demo", 1), ("Demo", 2)], [("Otro", 50)], [("Demo", 3)]]
    assert await totals(engine) == {"fam-a": (1, 1), "fam-b": (2, 1), "fam-c": (3, 1)}


async def test_a_failing_run_falls_back_to_one_event_at_a_time(
    engine: AsyncEngine, store: EventStore, registry: EventRegistry, kafka_bootstrap, topic_reader
):
    """Only the culprit reaches the dead-letter topic; the rest is applied once, in order."""
    registry.register("Otro")(Otro)
    await create_table(engine)
    with trace.get_tracer("test").start_as_current_span("one request"):
        # one request's events share its trace (runs keep to one trace)
        async with engine.begin() as conn:
            events = [
                Demo(familia="fam-a", n=1),
                Demo(familia="fam-b", n=2),
                Otro(familia="fam-a", n=50),
                Demo(familia="fam-c", n=3),
                Demo(familia="fam-d", n=13),
                Demo(familia="fam-e", n=5),
            ]
            await store.append(conn, "fam-0", "Familia", 0, events, actor="a")
    await publish_outbox(engine, kafka_bootstrap)

    calls = await _run_batches(engine, registry, kafka_bootstrap, families=4)

    assert calls == [
        # the whole batch: the first two runs, then the third fails and it all rolls back
        [("Demo", 1), ("Demo", 2)],
        [("Otro", 50)],
        # one at a time: 13 fails twice and goes to the dead-letter topic
        [("Demo", 1)],
        [("Demo", 2)],
        [("Otro", 50)],
        [("Demo", 3)],
        [("Demo", 5)],
    ]
    assert await totals(engine) == {
        "fam-a": (1, 1),
        "fam-b": (2, 1),
        "fam-c": (3, 1),
        "fam-e": (5, 1),
    }
    dead = await topic_reader(dead_letter_topic(registry.topic), 1)
    assert len(dead) == 1 and headers_of(dead[0])["dlq_error"].startswith("ValueError: cannot")


def test_a_type_has_one_handler():
    from juntos_events.consumer import Subscriptions

    subs = Subscriptions()
    subs.on("s", "A")(lambda e, c: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="s A has a handler already"):
        subs.on_batch("s", "B", "A")(lambda es, c: None)  # type: ignore[arg-type,return-value]
    assert subs.wants("s", "A") and not subs.wants("s", "B")


async def test_idempotent_subscriptions_get_no_inbox_rows_and_see_redeliveries(
    engine: AsyncEngine, store: EventStore, registry: EventRegistry, kafka_bootstrap, topic_reader
):
    """Handlers that guard themselves (`Subscriptions.idempotent`) get a redelivery too (their
    own guard drops it), and the runner writes no inbox row for any event."""
    seen: list[str] = []
    subs = Subscriptions(idempotent=True)

    @subs.on_batch(registry.service, "Demo")
    async def demos(envelopes, conn) -> None:
        seen.extend(e.id for e in envelopes)

    async def consume_until(n: int) -> str:
        consumer = runner(engine, kafka_bootstrap, registry, subs)
        task = asyncio.create_task(consumer.run())

        async def enough() -> bool:
            return len(seen) >= n

        await wait_for(enough)
        consumer.stop()
        await task
        return consumer.name

    async with engine.begin() as conn:
        events = [Demo(familia="fam-0", n=n) for n in (1, 2, 3)]
        await store.append(conn, "fam-0", "Familia", 0, events, actor="a")
    await publish_outbox(engine, kafka_bootstrap)
    records = await topic_reader(registry.topic, 3)
    ids = [headers_of(r)["ce_id"] for r in records]
    await consume_until(3)
    raw = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await raw.start()
    for r in records:  # a relay restart sends them all again, byte for byte
        await raw.send_and_wait(r.topic, r.value, key=r.key, headers=list(r.headers))
    await raw.stop()
    name = await consume_until(6)

    assert seen == ids + ids
    async with engine.connect() as conn:
        inbox = await conn.scalar(
            text("SELECT count(*) FROM inbox WHERE consumer = :c"), {"c": name}
        )
    assert inbox == 0
