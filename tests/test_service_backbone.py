"""The services run their backbone: migrations at start, relay and consumers for their lifetime.

One business-shaped flow across two real service apps: an event appended in enrollment's
database reaches Kafka through enrollment's own relay and is applied by accompaniment's consumer,
in accompaniment's database, with the trace of the request carried along.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import uuid
from pathlib import Path

import jsonschema
import pytest
from juntos_events.consumer import Subscriptions
from juntos_events.envelope import Envelope
from juntos_events.events import DomainEvent, EventRegistry
from juntos_events.store import EventStore
from juntos_events.topics import SERVICES, ensure_topics
from juntos_testing.db import public_tables
from juntos_testing.publishing import committed_offsets
from juntos_web import app_factory
from juntos_web.testing import service_client, settings_for_tests
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

ASYNCAPI_3 = Path(__file__).parents[1] / "libs/events/tests/data/asyncapi-3.0.0.schema.json"


@pytest.mark.parametrize("service", SERVICES)
async def test_service_migrates_its_database_and_serves_its_asyncapi(
    service: str, database_url: str, kafka_bootstrap: str
) -> None:
    create_app = importlib.import_module(f"{service}.main").create_app
    settings = settings_for_tests(
        service, database_url=database_url, kafka_bootstrap=kafka_bootstrap, run_backbone=True
    )
    async with service_client(create_app(settings)) as client:
        # a readiness probe is polled: on a loaded machine the first database check may time out
        async with asyncio.timeout(30):
            while (await client.get("/readyz")).status_code != 200:
                await asyncio.sleep(0.5)
        document = (await client.get("/asyncapi.json")).json()
    tables = await public_tables(database_url)
    assert {"events", "outbox", "inbox", "snapshots"} <= tables
    jsonschema.Draft7Validator(json.loads(ASYNCAPI_3.read_text())).validate(document)
    assert f"juntos.{service}.events" in document["channels"]


class FamiliaDePrueba(DomainEvent):
    familia: str
    municipio: str


async def test_event_flows_from_one_service_to_another_through_kafka(
    database_url: str, pg_server, kafka_bootstrap: str
) -> None:
    await ensure_topics(kafka_bootstrap)
    accompaniment_db = f"acomp_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(accompaniment_db)
    accompaniment_url = pg_server.async_url(accompaniment_db)

    enrollment_events = EventRegistry("enrollment")
    enrollment_events.register("FamiliaDePrueba")(FamiliaDePrueba)
    applied: list[Envelope] = []
    subs = Subscriptions()

    @subs.on("enrollment", "FamiliaDePrueba")
    async def abrir_caso(envelope: Envelope, conn: AsyncConnection) -> None:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS casos (familia text PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO casos VALUES (:f)"), {"f": envelope.data["familia"]})
        applied.append(envelope)

    enrollment = importlib.import_module("enrollment.main").create_app(
        settings_for_tests(
            "enrollment",
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            run_backbone=True,
        )
    )
    grupo = f"accompaniment-{uuid.uuid4().hex[:8]}"  # JUNTOS_CONSUMER_GROUP
    accompaniment = app_factory(
        "accompaniment",
        importlib.import_module("accompaniment.api").router,
        EventRegistry("accompaniment"),
        subs,
    )(
        settings_for_tests(
            "accompaniment",
            database_url=accompaniment_url,
            kafka_bootstrap=kafka_bootstrap,
            run_backbone=True,
            consumer_group=grupo,
        )
    )
    familia = f"fam-{uuid.uuid4().hex[:8]}"
    async with service_client(enrollment), service_client(accompaniment):
        engine = enrollment.state.engine
        async with engine.begin() as conn:
            await EventStore(enrollment_events).append(
                conn,
                familia,
                "Familia",
                0,
                [FamiliaDePrueba(familia=familia, municipio="05001")],
                actor="cogestor-1",
            )
        async with asyncio.timeout(60):
            while not any(e.subject == familia for e in applied):
                await asyncio.sleep(0.1)
    check = create_async_engine(accompaniment_url)
    async with check.connect() as conn:
        casos = (await conn.execute(text("SELECT familia FROM casos"))).scalars().all()
        inbox = (await conn.execute(text("SELECT DISTINCT consumer FROM inbox"))).scalars().all()
    await check.dispose()
    assert familia in casos
    assert inbox == ["accompaniment"], "the inbox stays keyed by the service, whatever the group"
    committed = await committed_offsets(kafka_bootstrap, grupo)
    assert any(tp.topic == "juntos.enrollment.events" for tp in committed), (
        "the consumer read in the group it was given"
    )
