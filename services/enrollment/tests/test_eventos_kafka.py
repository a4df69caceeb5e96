"""Enrollment with its real backbone: what reaches Kafka, and graduation from accompaniment."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from enrollment.main import create_app
from fastapi import FastAPI
from juntos_events.events import DomainEvent, EventRegistry
from juntos_events.topics import ensure_topics
from juntos_testing.publishing import publish
from juntos_web import Role
from juntos_web.testing import service_client, settings_for_tests

from .conftest import SAMPLES, como, importar_muestra

# every name and document number in the sample files
PERSONAL = {
    word
    for path in SAMPLES.glob("*.csv")
    for line in path.read_text().splitlines()[1:]
    for i, word in enumerate(line.split(","))
    if i in (2, 3, 4, 5, 6, 14, 15) and len(word) > 2
}


@pytest.fixture
async def backbone_app(database_url: str, kafka_bootstrap: str) -> AsyncIterator[FastAPI]:
    await ensure_topics(kafka_bootstrap)
    app = create_app(
        settings_for_tests(
            "enrollment",
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            run_backbone=True,
        )
    )
    yield app


@contextlib.asynccontextmanager
async def _desde_ahora(bootstrap: str, topic: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A reader of what reaches `topic` from now on: other tests of the session may have left
    events there before."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="latest", group_id=None
    )
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            while not consumer.assignment():
                await asyncio.sleep(0.05)
            for tp in consumer.assignment():
                await consumer.position(tp)  # the end offset, fixed before anything is sent
        yield consumer
    finally:
        await consumer.stop()


async def _messages(consumer: AIOKafkaConsumer, stop: int) -> list:
    seen: list = []
    async with asyncio.timeout(30):
        while len(seen) < stop:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                seen += records
    return seen


async def test_events_on_kafka_carry_no_names_or_documents(
    backbone_app: FastAPI, kafka_bootstrap: str
) -> None:
    assert "Ramírez" in PERSONAL and "2002001" in PERSONAL
    async with (
        _desde_ahora(kafka_bootstrap, "juntos.enrollment.events") as lector,
        service_client(backbone_app) as client,
    ):
        await importar_muestra(client, backbone_app, "SISBEN")
        await importar_muestra(client, backbone_app, "RUPD")
        # 5 FamiliaPreseleccionada, 1 FamiliaMarcadaDesplazada, 1 IntegranteRegistrado
        records = await _messages(lector, 7)
    types = [dict(r.headers)["ce_type"].decode().rsplit(".", 1)[1] for r in records]
    assert types.count("FamiliaPreseleccionada") == 5
    assert "DatosPersonalesRegistrados" not in types
    for record in records:
        raw = record.value + b"".join(v for _, v in record.headers) + (record.key or b"")
        text = raw.decode("utf-8", errors="replace")
        leaked = sorted(word for word in PERSONAL if word in text)
        assert not leaked, f"{types[records.index(record)]} carries {leaked}"


async def test_logros_completados_from_accompaniment_graduates_the_family(
    backbone_app: FastAPI, kafka_producer: AIOKafkaProducer
) -> None:
    async with service_client(backbone_app) as client:
        await importar_muestra(client, backbone_app, "SISBEN")
        familia = (
            await client.get(
                "/v1/familias?municipio=05002", headers=como(backbone_app, Role.NACIONAL)
            )
        ).json()["items"][0]
        fid = familia["familia_id"]
        detalle = (
            await client.get(f"/v1/familias/{fid}", headers=como(backbone_app, Role.NACIONAL))
        ).json()
        jefe = next(i for i in detalle["integrantes"] if i["parentesco"] == "JEFE")
        r = await client.post(
            f"/v1/familias/{fid}/vinculacion",
            json={
                "fecha": "2026-01-10",
                "firmante_id": jefe["integrante_id"],
                "lugar_municipio": "05002",
            },
            headers=como(backbone_app, Role.COGESTOR, "05002", sub="cgs-1"),
        )
        assert r.status_code == 200, r.text

        accompaniment = EventRegistry("accompaniment")

        @accompaniment.register("TodosLosLogrosAlcanzados")
        class TodosLosLogrosAlcanzados(DomainEvent):
            familia_id: str
            fecha: str

        # twice: a redelivery, which the inbox makes harmless
        evento = TodosLosLogrosAlcanzados(familia_id=fid, fecha="2027-05-01")
        await publish(kafka_producer, accompaniment, evento, fid, times=2)
        estado = None
        async with asyncio.timeout(40):
            while estado != "PROMOVIDA":
                await asyncio.sleep(0.3)
                estado = (
                    await client.get(
                        f"/v1/familias/{fid}", headers=como(backbone_app, Role.NACIONAL)
                    )
                ).json()["estado"]
        srv = backbone_app.state.enrollment
        from enrollment import handlers

        async with srv.engine.connect() as conn:
            _, version = await handlers.cargar_familia(conn, fid)
        # preseleccionada + its private personal data, vinculada, promovida: promoted once
        assert version == 4
