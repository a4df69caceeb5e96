"""Territorial with its real backbone: the capacity map follows accompaniment's and offer's
events on Kafka, the catalogue is published once, and nothing private reaches the wire.

Topics and the `territorial` consumer group live for the whole test session, so each test
works in a municipality of its own and looks only at its own records.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from accompaniment.events import CasoCerrado, Evaluacion, LogrosEvaluados
from accompaniment.events import events as accompaniment
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI
from juntos_catalogo import catalogo
from juntos_events.events import DomainEvent, EventRegistry
from juntos_events.topics import ensure_topics
from juntos_testing.publishing import publish
from juntos_web import Role
from juntos_web.testing import service_client, settings_for_tests
from pydantic import Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from territorial.main import create_app
from territorial.settings import TerritorialSettings

from .conftest import como, encuesta, municipal

offer = EventRegistry("offer")


@offer.register("CuposHabilitados")
class CuposHabilitados(DomainEvent):
    """The contract offer publishes (services/territorial/README.md, "Consumes")."""

    programa_id: str
    entidad: str
    municipio: str
    periodo: str
    logros: tuple[str, ...]
    cupos: int = Field(ge=0)


def backbone(database_url: str, kafka_bootstrap: str, *, catalogo: bool = False) -> FastAPI:
    base = settings_for_tests(
        "territorial",
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        run_backbone=True,
    )
    return create_app(TerritorialSettings(**base.model_dump(), publicar_catalogo=catalogo))


@pytest.fixture
async def topics(kafka_bootstrap: str) -> None:
    await ensure_topics(kafka_bootstrap)


def tablero(pendientes: set[str]) -> tuple[Evaluacion, ...]:
    """A board of the 45 LB: `pendientes` POR_ALCANZAR, the rest ALCANZADO."""
    return tuple(
        Evaluacion(
            logro=lb.codigo, estado="POR_ALCANZAR" if lb.codigo in pendientes else "ALCANZADO"
        )
        for lb in catalogo().logros_basicos
    )


async def hasta(consulta: Callable[[], Awaitable[Any]], condicion: Callable[[Any], bool]) -> Any:
    """Poll the API until `condicion` holds (the consumer works in the background)."""
    valor = None
    async with asyncio.timeout(60):
        while True:
            valor = await consulta()
            if condicion(valor):
                return valor
            await asyncio.sleep(0.3)


def mapa_de(client: httpx.AsyncClient, app: FastAPI, municipio: str) -> Callable[[], Awaitable]:
    async def leer() -> dict[str, dict]:
        r = await client.get(
            f"/v1/municipios/{municipio}/mapa-capacidades", headers=como(app, Role.NACIONAL)
        )
        return {d["dimension"]: d for d in r.json()["dimensiones"]}

    return leer


async def test_the_capacity_map_follows_demand_and_supply_on_kafka(
    database_url: str, kafka_bootstrap: str, topics: None, kafka_producer: AIOKafkaProducer
) -> None:
    mpio = "68001"  # Bucaramanga
    app = backbone(database_url, kafka_bootstrap)
    async with service_client(app) as client:
        r = await client.post(
            f"/v1/municipios/{mpio}/lbt", json=encuesta(), headers=municipal(app, mpio)
        )
        assert r.status_code == 201
        leer = mapa_de(client, app, mpio)
        salud = (await leer())["SALUD"]
        assert (salud["capacidad"], salud["demanda"], salud["clasificacion"]) == (
            1.0,
            0,
            "FORTALEZA",
        )

        # demand: two families with health LB pending (one also a habitability LB)
        hace_un_rato = datetime.now(UTC) - timedelta(minutes=5)
        fam_a, fam_b = f"fam-{uuid.uuid4()}", f"fam-{uuid.uuid4()}"
        for familia, pendientes in ((fam_a, {"LB13", "LB24"}), (fam_b, {"LB14"})):
            evento = LogrosEvaluados(
                familia_id=familia,
                municipio=mpio,
                fecha="2026-06-01",
                desplazada=False,
                evaluaciones=tablero(pendientes),
            )
            await publish(kafka_producer, accompaniment, evento, familia, at=hace_un_rato, times=2)
        mapa = await hasta(leer, lambda m: m["SALUD"]["demanda"] == 2)
        assert mapa["SALUD"]["clasificacion"] == "DEBILIDAD"  # no slot for 2 families
        assert mapa["HABITABILIDAD"]["demanda"] == 1 and mapa["NUTRICION"]["demanda"] == 0
        assert {lb["logro"]: lb["familias_pendientes"] for lb in mapa["SALUD"]["logros"]}[
            "LB13"
        ] == 1

        # supply: one slot, then the program's corrected figure, then a newer period
        cupos = CuposHabilitados(
            programa_id="p-salud",
            entidad="minsalud",
            municipio=mpio,
            periodo="2026",
            logros=("LB13", "LB14"),
            cupos=1,
        )
        uno = datetime.now(UTC)
        await publish(kafka_producer, offer, cupos, f"p-salud:{mpio}", at=uno)
        mapa = await hasta(leer, lambda m: m["SALUD"]["oferta"] == 1)
        assert (mapa["SALUD"]["cobertura"], mapa["SALUD"]["clasificacion"]) == (
            0.5,
            "EN_DESARROLLO",
        )
        dos = cupos.model_copy(update={"cupos": 2})
        await publish(kafka_producer, offer, dos, f"p-salud:{mpio}", at=uno + timedelta(seconds=1))
        mapa = await hasta(leer, lambda m: m["SALUD"]["oferta"] == 2)
        assert mapa["SALUD"]["clasificacion"] == "FORTALEZA" and mapa["SALUD"]["brecha"] == 0
        # a late copy of the first figure changes nothing; a newer period replaces the year's
        await publish(kafka_producer, offer, cupos, f"p-salud:{mpio}", at=uno)
        s2 = cupos.model_copy(update={"periodo": "2026-S2", "cupos": 3})
        await publish(kafka_producer, offer, s2, f"p-salud:{mpio}", at=uno + timedelta(seconds=2))
        mapa = await hasta(leer, lambda m: m["SALUD"]["oferta"] != 2)
        assert mapa["SALUD"]["oferta"] == 3

        # a family's new board replaces its old one; an older board arriving late does not
        nada = LogrosEvaluados(
            familia_id=fam_a,
            municipio=mpio,
            fecha="2026-07-01",
            desplazada=False,
            evaluaciones=tablero(set()),
        )
        viejo = LogrosEvaluados(
            familia_id=fam_a,
            municipio=mpio,
            fecha="2026-05-01",
            desplazada=False,
            evaluaciones=tablero({"LB13", "LB15", "LB24"}),
        )
        await publish(kafka_producer, accompaniment, nada, fam_a)
        await publish(
            kafka_producer, accompaniment, viejo, fam_a, at=hace_un_rato - timedelta(hours=1)
        )
        # the family that leaves stops being demand; its event rides fam_a's partition (key), so
        # seeing it applied means the late board before it was handled too
        cierre = CasoCerrado(familia_id=fam_b, motivo="PROMOVIDA", fecha="2026-07-02")
        await publish(kafka_producer, accompaniment, cierre, fam_a)
        mapa = await hasta(leer, lambda m: m["SALUD"]["demanda"] == 0)
        assert mapa["HABITABILIDAD"]["demanda"] == 0

        # the LBT moves the map too
        r = await client.put(
            f"/v1/municipios/{mpio}/lbt/condiciones/CBT8",
            json={"estado": "NO_CUMPLE", "evidencia": "informe SGSSS", "fecha": "2026-07-03"},
            headers=municipal(app, mpio),
        )
        assert r.status_code == 200
        assert (await leer())["SALUD"]["capacidad"] == 0.75


async def test_an_event_from_an_unknown_municipality_is_dead_lettered(
    database_url: str, kafka_bootstrap: str, topics: None, kafka_producer: AIOKafkaProducer
) -> None:
    mpio = "08001"  # Barranquilla
    app = backbone(database_url, kafka_bootstrap)
    async with service_client(app) as client:
        familia = f"fam-{uuid.uuid4()}"
        malo = LogrosEvaluados(
            familia_id=familia,
            municipio="08002",
            fecha="2026-06-01",
            desplazada=False,
            evaluaciones=tablero({"LB1"}),
        )
        malo_id = await publish(kafka_producer, accompaniment, malo, familia)
        bueno = malo.model_copy(update={"municipio": mpio})
        await publish(kafka_producer, accompaniment, bueno, familia)
        mapa = await hasta(
            mapa_de(client, app, mpio), lambda m: m["IDENTIFICACION"]["demanda"] == 1
        )
        assert mapa["IDENTIFICACION"]["demanda"] == 1
    muertos = await _leer_topic(
        kafka_bootstrap,
        "juntos.accompaniment.events.dlq",
        lambda r: dict(r.headers).get("ce_id") == malo_id.encode(),
    )
    cabeceras = dict(muertos[-1].headers)
    assert cabeceras["dlq_consumer"] == b"territorial"
    assert b"not a DIVIPOLA municipality code" in cabeceras["dlq_error"]


async def _leer_topic(bootstrap: str, topic: str, hasta_ver: Callable[[Any], bool]) -> list:
    """Every record of `topic` from the beginning until one satisfies `hasta_ver`."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    vistos: list = []
    try:
        async with asyncio.timeout(60):
            while not any(hasta_ver(r) for r in vistos):
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    vistos += records
    finally:
        await consumer.stop()
    return vistos


def _tipo(record: Any) -> str:
    return dict(record.headers)["ce_type"].decode().rsplit(".", 1)[1]


async def test_no_personal_data_or_private_event_reaches_kafka(
    database_url: str, kafka_bootstrap: str, topics: None
) -> None:
    mpio, nombre, cedula = "54001", "Rosalba Quintero", "1090123456"
    app = backbone(database_url, kafka_bootstrap)
    async with service_client(app) as client:
        yo = municipal(app, mpio)
        await client.post(
            f"/v1/municipios/{mpio}/lbt", json=encuesta(defecto="NO_CUMPLE"), headers=yo
        )
        plan = f"/v1/municipios/{mpio}/plan-accion"
        await client.post(f"{plan}/borrador", headers=yo)
        accion = {
            "cbt": "CBT1",
            "descripcion": "Jornada de registro civil",
            "entidad_responsable_id": "registraduria",
            "presupuesto_cop": 9_000_000,
            "fecha_inicio": "2026-08-01",
            "fecha_fin": "2026-09-01",
        }
        assert (await client.put(f"{plan}/acciones/a1", json=accion, headers=yo)).status_code == 200
        r = await client.post(
            f"{plan}/aprobacion", json={"fecha_sesion_consejo": "2026-07-20"}, headers=yo
        )
        assert r.status_code == 200
        r = await client.post(
            f"/v1/municipios/{mpio}/veedurias",
            json={
                "categoria": "ATENCION_DEL_COGESTOR",
                "texto": f"Denuncia de {nombre}, cédula {cedula}: le pidieron dinero",
                "fecha": "2026-07-21",
            },
            headers=yo,
        )
        vid = r.json()["veeduria_id"]
        r = await client.post(
            f"/v1/veedurias/{vid}/estado",
            json={"estado": "RESUELTA", "fecha": "2026-07-22", "respuesta": f"Se llamó a {nombre}"},
            headers=yo,
        )
        assert r.status_code == 200
        records = await _leer_topic(
            kafka_bootstrap,
            "juntos.territorial.events",
            lambda rec: (
                dict(rec.headers)["ce_subject"] == f"veeduria:{vid}".encode()
                and _tipo(rec) == "VeeduriaActualizada"
            ),
        )
    nuestros = [
        r
        for r in records
        if dict(r.headers)["ce_subject"].decode()
        in {f"veeduria:{vid}", f"plan:{mpio}", f"lbt:{mpio}"}
    ]
    assert sorted(_tipo(r) for r in nuestros) == [
        "LineaBaseTerritorialLevantada",
        "PlanAccionMunicipalAprobado",
        "VeeduriaActualizada",
        "VeeduriaRecibida",
    ]
    privados = {
        "TextoVeeduriaRegistrado",
        "RespuestaVeeduriaRegistrada",
        "PlanAccionBorradorAbierto",
    }
    assert not {_tipo(r) for r in records} & privados
    for record in records:
        crudo = record.value + b"".join(v for _, v in record.headers) + (record.key or b"")
        texto = crudo.decode("utf-8", errors="replace")
        assert nombre not in texto and cedula not in texto and "Quintero" not in texto


async def test_the_catalogue_is_published_once(
    database_url: str, kafka_bootstrap: str, topics: None
) -> None:
    engine = create_async_engine(database_url)

    async def contar() -> dict[str, int]:
        async with engine.connect() as conn:
            filas = await conn.execute(
                text(
                    "SELECT stream_type, count(*) FROM events"
                    " WHERE stream_type IN ('departamento', 'municipio') GROUP BY stream_type"
                )
            )
            return dict(filas.all())

    try:
        app = backbone(database_url, kafka_bootstrap, catalogo=True)
        async with service_client(app) as client:
            completo = {"departamento": 33, "municipio": 1122}
            assert await hasta(contar, lambda c: c == completo) == completo
            # again, through the API (what `juntos territorial publish-catalogue` calls)
            r = await client.post("/v1/catalogo/publicacion", headers=como(app, Role.NACIONAL))
            assert r.json() == {"departamentos": 0, "municipios": 0}
        # a restart publishes nothing new
        otra = backbone(database_url, kafka_bootstrap, catalogo=True)
        async with service_client(otra) as client:
            r = await client.post("/v1/catalogo/publicacion", headers=como(otra, Role.NACIONAL))
            assert r.json() == {"departamentos": 0, "municipios": 0}
        assert await contar() == completo
    finally:
        await engine.dispose()
    records = await _leer_topic(
        kafka_bootstrap,
        "juntos.territorial.events",
        lambda rec: dict(rec.headers)["ce_subject"] == b"municipio:05001",
    )
    medellin = next(r for r in records if dict(r.headers)["ce_subject"] == b"municipio:05001")
    assert json.loads(medellin.value) == {
        "municipio": "05001",
        "denominacion": "MEDELLÍN",
        "departamento": "05",
        "tipo": "Municipio",
    }
