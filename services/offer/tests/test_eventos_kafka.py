"""Offer with its real backbone: other services' CloudEvents on their real topics drive demand
and exits; what offer publishes carries no personal data."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import httpx
from accompaniment import events as acompanamiento
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from enrollment import events as inscripcion
from juntos_events.events import DomainEvent
from juntos_events.migrate import upgrade
from juntos_testing.publishing import fresh_group, publish
from juntos_web import Role
from juntos_web.testing import service_client
from offer.consumers import subscriptions
from offer.main import create_app

from .conftest import (
    ENROLLMENT_SAMPLES,
    MIGRATIONS,
    EnrollmentReal,
    como,
    entidad,
    offer_settings,
    registrar,
)

PLAZO = 60


async def _esperar(client: httpx.AsyncClient, url: str, headers: dict, cumple) -> dict | list:
    cuerpo = None
    async with asyncio.timeout(PLAZO):
        while True:
            r = await client.get(url, headers=headers)
            cuerpo = r.json()
            if r.status_code == 200 and cumple(cuerpo):
                return cuerpo
            await asyncio.sleep(0.3)


def _tablero(fid: str, fecha: date, pendientes: dict[str, list[str]]) -> DomainEvent:
    evaluaciones = [
        acompanamiento.Evaluacion(
            logro=f"LB{n}",
            estado="POR_ALCANZAR" if f"LB{n}" in pendientes else "ALCANZADO",
            integrantes=tuple(pendientes.get(f"LB{n}", ())),
        )
        for n in range(1, 46)
    ]
    return acompanamiento.LogrosEvaluados(
        familia_id=fid, municipio="05001", fecha=fecha, desplazada=False, evaluaciones=evaluaciones
    )


async def test_demand_and_exits_arrive_through_kafka(
    database_url: str, kafka_bootstrap: str, kafka_producer: AIOKafkaProducer
) -> None:
    app = create_app(
        offer_settings(
            database_url,
            kafka_bootstrap=kafka_bootstrap,
            run_backbone=True,
            consumer_group=await fresh_group(kafka_bootstrap, "offer", subscriptions.topics()),
        )
    )
    fid, jefe, nina = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    async with service_client(app) as client:
        p = await registrar(client, app, municipios=["05001"])
        r = await client.put(
            f"/v1/programas/{p['programa_id']}/cupos/05001/2026",
            json={"cupos": 1},
            headers=entidad(app),
        )
        assert r.status_code == 200, r.text
        miembros = (
            inscripcion.Integrante(
                integrante_id=jefe, fecha_nacimiento=date(1985, 3, 14), sexo="M", parentesco="JEFE"
            ),
            inscripcion.Integrante(
                integrante_id=nina, fecha_nacimiento=date(2024, 1, 20), sexo="M", parentesco="HIJO"
            ),
        )
        await publish(
            kafka_producer,
            inscripcion.events,
            inscripcion.FamiliaPreseleccionada(
                familia_id=fid,
                municipio="05001",
                registro="SISBEN",
                desplazada=False,
                nivel_sisben=1,
                integrantes=miembros,
            ),
            fid,
        )
        await publish(
            kafka_producer,
            acompanamiento.events,
            _tablero(fid, date(2026, 3, 1), {"LB8": [nina], "LB30": []}),
            fid,
            times=2,
        )
        municipal = como(app, Role.MUNICIPAL, "05001")
        demanda = "/v1/municipios/05001/demanda?dimension=EDUCACION_Y_CAPACITACION"
        lb8 = lambda filas: next(f for f in filas if f["logro"] == "LB8")  # noqa: E731
        await _esperar(client, demanda, municipal, lambda b: lb8(b)["familias"] == 1)

        asignado = await client.post(
            f"/v1/programas/{p['programa_id']}/cupos/05001/2026/asignaciones",
            json={"familia_id": fid, "integrante_id": nina, "fecha": "2026-04-01"},
            headers=municipal,
        )
        assert asignado.status_code == 201, asignado.text

        await publish(
            kafka_producer,
            acompanamiento.events,
            acompanamiento.LogroAlcanzado(
                familia_id=fid,
                municipio="05001",
                logro="LB8",
                fecha=date(2026, 6, 1),
                evidencia=acompanamiento.Evidencia(tipo="VISITA", referencia="visita-9"),
            ),
            fid,
        )
        await _esperar(client, demanda, municipal, lambda b: lb8(b)["familias"] == 0)

        await publish(
            kafka_producer,
            inscripcion.events,
            inscripcion.FamiliaRetirada(
                familia_id=fid, motivo="VOLUNTARIO", fecha=date(2026, 7, 1)
            ),
            fid,
        )
        cupos = f"/v1/cupos?familia_id={fid}"
        [cupo] = (
            await _esperar(
                client, cupos, municipal, lambda b: b["items"][0]["estado"] == "LIBERADO"
            )
        )["items"]
        assert cupo["motivo"] == "FAMILIA_EGRESADA"
        habitabilidad = await client.get(
            "/v1/municipios/05001/demanda?logro=LB30", headers=municipal
        )
        assert habitabilidad.json()[0]["familias"] == 0  # the exit dropped its demand


async def _registros(bootstrap: str, topic: str, cumple) -> list:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    vistos: list = []
    try:
        async with asyncio.timeout(PLAZO):
            while not cumple(vistos):
                lote = await consumer.getmany(timeout_ms=500)
                for registros in lote.values():
                    vistos += registros
    finally:
        await consumer.stop()
    return vistos


async def test_delivered_services_on_kafka_carry_no_documents(
    database_url: str,
    kafka_bootstrap: str,
    kafka_producer: AIOKafkaProducer,
    enrollment: EnrollmentReal,
) -> None:
    documentos = {
        linea.split(",")[2]
        for linea in (ENROLLMENT_SAMPLES / "sisben-muestra.csv").read_text().splitlines()[1:]
    }
    await upgrade(database_url, MIGRATIONS)
    app = create_app(
        offer_settings(
            database_url,
            kafka_bootstrap=kafka_bootstrap,
            run_backbone=True,
            consumer_group=await fresh_group(kafka_bootstrap, "offer", subscriptions.topics()),
            enrollment_url=enrollment.url,
            enrollment_token=enrollment.token(),
        )
    )
    async with service_client(app) as client:
        p = (await registrar(client, app))["programa_id"]
        csv = "tipo_documento,numero_documento,programa_id,fecha,valor\n" + "".join(
            f"CC,{d},{p},2026-05-01,1000\n" for d in ("1001001", "2002001", "3003001", "9999999")
        )
        r = await client.post(
            "/v1/entregas/ruaf",
            content=csv.encode(),
            headers={"content-type": "text/csv", **entidad(app)},
        )
        assert r.status_code == 200, r.text
        assert r.json()["resumen"]["registradas"] == 3

        def tipo(registro) -> str:
            return dict(registro.headers)["ce_type"].decode().rsplit(".", 1)[1]

        def propios(registros: list) -> list:
            return [x for x in registros if tipo(x) == "ServicioPrestado" and p.encode() in x.value]

        registros = await _registros(
            kafka_bootstrap, "juntos.offer.events", lambda vistos: len(propios(vistos)) == 3
        )
    for registro in registros:
        crudo = registro.value + b"".join(v for _, v in registro.headers) + (registro.key or b"")
        texto = crudo.decode("utf-8", errors="replace")
        filtrados = sorted(d for d in documentos | {"9999999"} if d in texto)
        assert not filtrados, f"{tipo(registro)} carries {filtrados}"
