"""The program's choreography across real services and a real Kafka: a family is imported and
vinculada in enrollment, accompaniment opens its case, the baseline and the plan leave nothing
pending, accompaniment announces it, and enrollment graduates the family, which closes the case;
reporting, fed by both topics, shows the family's way in its indicators.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

from accompaniment.ejemplos import hogar_completo, integrante_completo
from accompaniment.linea_base import LineaBase
from accompaniment.main import create_app as accompaniment_app
from aiokafka import AIOKafkaConsumer
from enrollment.main import create_app as enrollment_app
from juntos_events.topics import ensure_topics
from juntos_web import Role
from juntos_web.testing import bearer, service_client, settings_for_tests
from reporting.consumers import subscriptions as reporting_subscriptions
from reporting.main import create_app as reporting_app
from reporting.reconstruccion import particiones

SAMPLE = Path(__file__).parents[1] / "services/enrollment/samples/sisben-muestra.csv"
COGESTOR = "cgs-flujo"
NOTA = "Visitamos a Pedro Suárez en su casa"  # the sample's head of household in 05002


async def until(check: Callable[[], Awaitable[Any]], what: str, seconds: float = 60) -> Any:
    async with asyncio.timeout(seconds):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.3)
    raise AssertionError(what)  # pragma: no cover


async def test_from_import_to_graduation(
    pg_server, database_url: str, kafka_bootstrap: str
) -> None:
    await ensure_topics(kafka_bootstrap)
    acomp_db = f"acomp_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(acomp_db)
    enr = enrollment_app(
        settings_for_tests(
            "enrollment",
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            run_backbone=True,
        )
    )
    acc = accompaniment_app(
        settings_for_tests(
            "accompaniment",
            database_url=pg_server.async_url(acomp_db),
            kafka_bootstrap=kafka_bootstrap,
            run_backbone=True,
        )
    )
    # reporting reads what is published from now on (the session's topics carry other tests')
    rep_db = f"rep_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(rep_db)
    grupo = f"reporting-flujo-{uuid.uuid4().hex[:8]}"
    await group_at_the_end(kafka_bootstrap, grupo, reporting_subscriptions.topics())
    rep = reporting_app(
        settings_for_tests(
            grupo,
            database_url=pg_server.async_url(rep_db),
            kafka_bootstrap=kafka_bootstrap,
            run_backbone=True,
        )
    )
    assert files("accompaniment")  # both packages installed in the workspace
    async with service_client(enr) as e, service_client(acc) as a, service_client(rep) as rp:
        nacional = bearer(enr, Role.NACIONAL)
        cogestor = bearer(enr, Role.COGESTOR, "05002", sub=COGESTOR)
        r = await e.post(
            "/v1/importaciones/SISBEN",
            content=SAMPLE.read_bytes(),
            headers={"content-type": "text/csv", **nacional},
        )
        assert r.status_code == 200, r.text
        familia = (await e.get("/v1/familias?municipio=05002", headers=nacional)).json()["items"][0]
        fid = familia["familia_id"]
        detalle = (await e.get(f"/v1/familias/{fid}", headers=nacional)).json()
        jefe = next(i for i in detalle["integrantes"] if i["parentesco"] == "JEFE")
        await e.put(
            f"/v1/cogestores/{COGESTOR}",
            headers=nacional,
            json={"operador": "op", "microrregion": "mr", "municipios": ["05002"]},
        )
        assert (
            await e.put(
                f"/v1/familias/{fid}/cogestor", headers=nacional, json={"cogestor_id": COGESTOR}
            )
        ).status_code == 200
        r = await e.post(
            f"/v1/familias/{fid}/vinculacion",
            headers=cogestor,
            json={
                "fecha": date.today().isoformat(),
                "firmante_id": jefe["integrante_id"],
                "lugar_municipio": "05002",
            },
        )
        assert r.status_code == 200, r.text

        async def caso_abierto() -> dict | None:
            r = await a.get(f"/v1/casos/{fid}", headers=cogestor)
            return r.json() if r.status_code == 200 and r.json()["estado"] == "ABIERTO" else None

        caso = await until(caso_abierto, "accompaniment opened the case")
        assert caso["cogestor_id"] == COGESTOR and caso["municipio"] == "05002"

        linea_base = LineaBase(
            hogar=hogar_completo(),
            integrantes={i["integrante_id"]: integrante_completo() for i in detalle["integrantes"]},
        )
        r = await a.post(
            f"/v1/casos/{fid}/linea-base",
            headers=cogestor,
            json={
                "fecha": date.today().isoformat(),
                "duracion_minutos": 60,
                "linea_base": linea_base.model_dump(mode="json"),
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["pendientes"] == 1  # only the plan familiar
        r = await a.put(
            f"/v1/casos/{fid}/plan",
            headers=cogestor,
            json={
                "fecha": date.today().isoformat(),
                "prioridades": [
                    {"logro": "LB34", "fecha_meta": "2027-01-01", "acciones": ["seguir el plan"]}
                ],
            },
        )
        assert r.status_code == 200, r.text

        async def promovida() -> bool:
            r = await e.get(f"/v1/familias/{fid}", headers=nacional)
            return r.json()["estado"] == "PROMOVIDA"

        await until(promovida, "enrollment graduated the family")

        async def cerrado() -> bool:
            r = await a.get(f"/v1/casos/{fid}", headers=bearer(acc, Role.NACIONAL))
            return r.json()["estado"] == "CERRADO"

        await until(cerrado, "accompaniment closed the case")

        async def indicadores() -> bool:
            r = await rp.get(
                "/v1/indicadores/familias",
                params={"municipio": "05002"},
                headers=bearer(rep, Role.MUNICIPAL, "05002"),
            )
            fila = r.json()["items"][0]
            return (
                fila["potencial"],
                fila["vinculadas"],
                fila["en_acompanamiento"],
                fila["promovidas"],
                fila["con_linea_base"],
                fila["con_plan"],
            ) == (1, 1, 0, 1, 1, 1)

        await until(indicadores, "reporting counts the family vinculada, then graduated")
        pendientes = await rp.get(
            "/v1/indicadores/logros-pendientes",
            params={"municipio": "05002"},
            headers=bearer(rep, Role.NACIONAL),
        )
        por_numero = {f["pendientes"]: f["familias"] for f in pendientes.json()["items"]}
        assert por_numero[0] == 1 and sum(por_numero.values()) == 1
        tabla_3 = await rp.get(
            "/v1/semilla/cogestores-por-departamento",
            params={"departamento": "05"},
            headers=bearer(rep, Role.NACIONAL),
        )
        assert tabla_3.json()["items"][0]["cogestores"] == 1
    # the cogestor's notes (free text naming people) and the position never reach Kafka
    raw = await topic_bytes(kafka_bootstrap, "juntos.accompaniment.events")
    assert b"LineaBaseLevantada" in raw and b"TodosLosLogrosAlcanzados" in raw
    for secret in (
        b"Pedro",
        b"Su\xc3\xa1rez",
        b"6.2518437",
        b"75.5636192",
        b"RespuestasRegistradas",
        b"NotasDeVisita",
    ):
        assert secret not in raw, secret


async def group_at_the_end(bootstrap: str, group: str, topics: list[str]) -> None:
    """Commit the current end of `topics` for `group`: its consumer sees new events only."""
    partitions = await particiones(bootstrap, topics)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit(dict(await consumer.end_offsets(partitions)))
    finally:
        await consumer.stop()


async def topic_bytes(bootstrap: str, topic: str) -> bytes:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    seen = b""
    try:
        for _ in range(10):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    seen += r.value + b"".join(v for _, v in r.headers)
    finally:
        await consumer.stop()
    return seen
