"""The partner example against the real broker, fed the way the services publish.

Events are appended to offer's and accompaniment's real event stores (their own pydantic models,
their outbox) and published by the real outbox relay; broken records are written next to them
with a raw producer. The consumer reads only the committed `docs/events/` contracts.
"""

from __future__ import annotations

import ast
import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from accompaniment.events import Evidencia, LogroAlcanzado
from accompaniment.events import events as accompaniment_events
from accompaniment.handlers import store as accompaniment_store
from aiokafka import AIOKafkaProducer
from juntos_events.envelope import encode
from juntos_events.migrate import upgrade
from juntos_events.relay import OutboxRelay, idempotent_producer
from juntos_events.topics import ensure_topics
from offer.events import CupoAsignado, CuposHabilitados
from offer.events import events as offer_events
from offer.events import store as offer_store
from partner_consumer.consumer import PartnerConsumer, SetAside
from partner_consumer.contracts import Contracts
from partner_consumer.validation import Event
from sqlalchemy.ext.asyncio import create_async_engine

EXAMPLE = Path(__file__).parents[1]
CONTRACTS = Contracts.load(EXAMPLE.parents[1] / "docs" / "events")
OFFER_TOPIC = "juntos.offer.events"
DEADLINE = 60


class World:
    """What one test published, identified by ids no other test uses."""

    def __init__(self) -> None:
        run = uuid.uuid4().hex[:8]
        self.familia = f"familia-{run}"
        self.cupo = CupoAsignado(
            cupo_id=f"cupo-{run}",
            programa_id=f"programa-{run}",
            entidad="icbf",
            municipio="05001",
            periodo="2026",
            familia_id=self.familia,
            integrante_id=None,
            logros=("LB8",),
            fecha=date(2026, 9, 1),
        )
        self.cupos_stream = f"cupos:programa-{run}:05001:2026"
        self.logro = LogroAlcanzado(
            familia_id=self.familia,
            municipio="05001",
            logro="LB8",
            fecha=date(2026, 10, 1),
            evidencia=Evidencia(tipo="SERVICIO", referencia=f"servicio-{run}"),
        )
        self.broken_key = f"broken-{run}"
        self.invalid_key = f"invalid-{run}"

    def ours(self, key: str | None) -> bool:
        return key in {self.cupos_stream, self.familia, self.broken_key, self.invalid_key}


async def publish_as_the_services_do(database_url: str, bootstrap: str, world: World) -> None:
    """Append to the real stores (events + outbox in one transaction), then run the relay."""
    await upgrade(database_url)
    engine = create_async_engine(database_url)
    producer = idempotent_producer(bootstrap)
    await producer.start()
    try:
        async with engine.begin() as conn:
            habilitados = CuposHabilitados(
                programa_id=world.cupo.programa_id,
                entidad="icbf",
                municipio="05001",
                periodo="2026",
                logros=("LB8",),
                cupos=3,
            )
            await offer_store.append(
                conn, world.cupos_stream, "cupos", 0, [habilitados, world.cupo], actor="test"
            )
            await accompaniment_store.append(
                conn, world.familia, "caso", 0, [world.logro], actor="test"
            )
        relay = OutboxRelay(engine, producer)
        while await relay.publish_batch():
            pass
    finally:
        await producer.stop()
        await engine.dispose()


async def publish_broken(bootstrap: str, world: World) -> None:
    """A record without a CloudEvents id, and a CupoAsignado whose data is wrong."""
    good = encode(
        offer_events,
        world.cupo,
        event_id=str(uuid.uuid4()),
        stream_id=world.invalid_key,
        occurred_at=datetime.now(UTC),
    )
    wrong = json.loads(good.value) | {"municipio": "5001"}
    broken_headers = [(k, v) for k, v in good.headers.items() if k != "ce_id"]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            OFFER_TOPIC, good.value, key=world.broken_key.encode(), headers=broken_headers
        )
        await producer.send_and_wait(
            OFFER_TOPIC,
            json.dumps(wrong).encode(),
            key=world.invalid_key.encode(),
            headers=list(good.headers.items()),
        )
    finally:
        await producer.stop()


class Seen:
    def __init__(self, world: World) -> None:
        self.world = world
        self.events: list[Event] = []
        self.set_aside: list[SetAside] = []

    async def handle(self, event: Event) -> None:
        if self.world.ours(event.subject):
            self.events.append(event)

    async def put_aside(self, record: SetAside) -> None:
        if self.world.ours(record.key):
            self.set_aside.append(record)


@pytest.fixture
async def topics(kafka_bootstrap: str) -> str:
    await ensure_topics(kafka_bootstrap)
    return kafka_bootstrap


@pytest.fixture
async def published(database_url: str, topics: str) -> World:
    world = World()
    await publish_as_the_services_do(database_url, topics, world)
    await publish_broken(topics, world)
    return world


@pytest.fixture
def consumer_for(topics: str) -> Callable[..., PartnerConsumer]:
    group = f"partner-{uuid.uuid4().hex[:8]}"

    def make(seen: Seen, handle: Callable | None = None) -> PartnerConsumer:
        return PartnerConsumer(
            bootstrap=topics,
            group_id=group,
            contracts=CONTRACTS,
            handle=handle or seen.handle,
            set_aside=seen.put_aside,
        )

    return make


@pytest.fixture
async def running() -> AsyncIterator[Callable[[PartnerConsumer], asyncio.Task[None]]]:
    tasks: list[tuple[PartnerConsumer, asyncio.Task[None]]] = []

    def start(consumer: PartnerConsumer) -> asyncio.Task[None]:
        task = asyncio.create_task(consumer.run())
        tasks.append((consumer, task))
        return task

    yield start
    for consumer, task in tasks:
        consumer.stop()
        await asyncio.gather(task, return_exceptions=True)


async def until(condition: Callable[[], bool], task: asyncio.Task[None]) -> None:
    async with asyncio.timeout(DEADLINE):
        while not condition():
            if task.done():
                task.result()  # a crash of the consumer fails the test with its own error
                raise AssertionError("the consumer stopped")
            await asyncio.sleep(0.1)


async def stop(consumer: PartnerConsumer, task: asyncio.Task[None]) -> None:
    consumer.stop()
    await task


async def test_accepts_what_it_follows_and_sets_the_rest_aside(
    published: World, consumer_for: Callable[..., PartnerConsumer], running: Callable
) -> None:
    world, seen = published, Seen(published)
    consumer = consumer_for(seen)
    task = running(consumer)
    await until(lambda: len(seen.events) >= 2 and len(seen.set_aside) >= 2, task)
    await stop(consumer, task)

    by_type = {e.type: e for e in seen.events}
    assert sorted(by_type) == ["CupoAsignado", "LogroAlcanzado"]  # CuposHabilitados ignored
    cupo, logro = by_type["CupoAsignado"], by_type["LogroAlcanzado"]
    assert cupo.data == world.cupo.model_dump(mode="json")
    assert (cupo.source, cupo.subject, cupo.schema_version) == (
        "/juntos/offer",
        world.cupos_stream,
        1,
    )
    assert logro.data == world.logro.model_dump(mode="json")
    assert (logro.source, logro.subject) == ("/juntos/accompaniment", world.familia)
    assert len({cupo.id, logro.id}) == 2

    reasons = {r.key: r.reason for r in seen.set_aside}
    assert len(seen.set_aside) == 2, reasons
    assert "ce_id" in reasons[world.broken_key], reasons
    invalid = reasons[world.invalid_key]
    assert invalid == r"data municipio: fails pattern ^\d{5}$", invalid  # the rule, not the value
    aside = next(r for r in seen.set_aside if r.key == world.invalid_key)
    assert aside.topic == OFFER_TOPIC and aside.headers["ce_type"].endswith(".CupoAsignado")


async def test_commits_only_after_handling(
    published: World, consumer_for: Callable[..., PartnerConsumer], running: Callable, topics: str
) -> None:
    """A failing handler stops the consumer uncommitted: the event comes again on restart;
    once handled, a restart of the same group gets nothing of it again."""
    world, seen = published, Seen(published)

    async def fails_on_logro(event: Event) -> None:
        if world.ours(event.subject) and event.type == "LogroAlcanzado":
            raise RuntimeError("the partner's database is down")
        await seen.handle(event)

    task = running(consumer_for(seen, fails_on_logro))
    with pytest.raises(RuntimeError, match="database is down"):
        async with asyncio.timeout(DEADLINE):
            await task
    assert "LogroAlcanzado" not in {e.type for e in seen.events}

    second = consumer_for(seen)
    task = running(second)
    await until(lambda: "LogroAlcanzado" in {e.type for e in seen.events}, task)
    await stop(second, task)
    handled = {e.id for e in seen.events}

    # Markers behind the handled events, in their partitions (same keys): once the third run
    # has seen them, it has read past the handled ones, which must not come again.
    markers = await publish_markers(topics, world)
    again = Seen(world)
    third = consumer_for(again)
    task = running(third)
    await until(lambda: markers <= {e.id for e in again.events}, task)
    await stop(third, task)
    assert not handled & {e.id for e in again.events}, "handled and committed: not redelivered"


async def publish_markers(bootstrap: str, world: World) -> set[str]:
    ids = set()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for registry, event, key in (
            (offer_events, world.cupo, world.cupos_stream),
            (accompaniment_events, world.logro, world.familia),
        ):
            event_id = str(uuid.uuid4())
            message = encode(
                registry, event, event_id=event_id, stream_id=key, occurred_at=datetime.now(UTC)
            )
            await producer.send_and_wait(
                registry.topic,
                message.value,
                key=key.encode(),
                headers=list(message.headers.items()),
            )
            ids.add(event_id)
    finally:
        await producer.stop()
    return ids


def test_the_example_uses_no_juntos_code() -> None:
    """A partner has the published contracts only; the example must run without JUNTOS' code."""
    imported = set()
    for path in (EXAMPLE / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    assert not {m for m in imported if m.startswith("juntos") or m in {"offer", "accompaniment"}}
    project = (EXAMPLE / "pyproject.toml").read_text()
    assert "juntos" not in project.split("dependencies")[1].split("]")[0]
