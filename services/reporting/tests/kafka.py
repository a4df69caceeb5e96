"""Reporting with its real backbone: a consumer group of its own that starts at the end of the
topics (the session's broker carries other tests' events), and polling helpers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from juntos_events.topics import PRODUCERS, event_topic
from juntos_testing.publishing import start_at_end
from juntos_web.testing import settings_for_tests
from reporting import reconstruccion
from reporting.main import create_app
from reporting.settings import ReportingSettings

PLAZO = 60


particiones = reconstruccion.particiones


async def empezar_al_final(bootstrap: str, grupo: str) -> None:
    """Commit the current end of every producer topic for `grupo`: it sees new events only."""
    await start_at_end(bootstrap, grupo, [event_topic(s) for s in PRODUCERS])


def app_con_backbone(database_url: str, kafka_bootstrap: str, grupo: str | None = None) -> FastAPI:
    base = settings_for_tests(
        grupo or f"reporting-{uuid.uuid4().hex[:8]}",
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        run_backbone=True,
    )
    return create_app(ReportingSettings(**base.model_dump(), retraso_cada_segundos=0.3))


@asynccontextmanager
async def desde_ahora(database_url: str, kafka_bootstrap: str) -> AsyncIterator[FastAPI]:
    """An app whose consumer group starts at the current end of the topics."""
    grupo = f"reporting-{uuid.uuid4().hex[:8]}"
    await empezar_al_final(kafka_bootstrap, grupo)
    yield app_con_backbone(database_url, kafka_bootstrap, grupo)


async def hasta_que(comprobar: Callable[[], Awaitable[Any]], que: str, plazo: float = PLAZO) -> Any:
    ultimo = None
    try:
        async with asyncio.timeout(plazo):
            while True:
                ultimo = await comprobar()
                if ultimo:
                    return ultimo
                await asyncio.sleep(0.3)
    except TimeoutError:
        raise AssertionError(f"{que}: never happened (last: {ultimo!r})") from None


async def leer_hasta(bootstrap: str, topic: str, hasta_ver: Callable[[Any], bool]) -> list[Any]:
    """Every record of `topic` from the beginning until one satisfies `hasta_ver`."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    vistos: list[Any] = []
    try:
        async with asyncio.timeout(PLAZO):
            while not any(hasta_ver(registro) for registro in vistos):
                for registros in (await consumer.getmany(timeout_ms=500)).values():
                    vistos += registros
    except TimeoutError:
        raise AssertionError(f"{topic}: the record never came") from None
    finally:
        await consumer.stop()
    return vistos
