"""The live consumer on the real topics: producers' CloudEvents become projection rows once,
and a type reporting does not know is skipped with a log line."""

from __future__ import annotations

import logging
import uuid
from datetime import date

from aiokafka import AIOKafkaProducer
from juntos_events.topics import dead_letter_topic, event_topic
from juntos_web.testing import service_client
from reporting import consumers
from sqlalchemy.ext.asyncio import AsyncEngine

from . import relato as r
from .conftest import filas
from .kafka import desde_ahora, hasta_que, leer_hasta

MPIO = "94001"


class _Registro(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.eventos: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, dict):
            self.eventos.append(record.msg)


async def test_events_from_three_topics_become_rows_once_and_unknown_types_are_skipped(
    engine: AsyncEngine, db: str, kafka_bootstrap: str, kafka_producer: AIOKafkaProducer
) -> None:
    registro = _Registro()
    logging.getLogger("reporting.consumers").addHandler(registro)
    antes = consumers.DESCONOCIDOS.labels("enrollment", "FamiliaTeletransportada")._value.get()
    d = r.dia(date(2026, 5, 4))
    f = "kafka-fam-1"
    try:
        async with desde_ahora(db, kafka_bootstrap) as app, service_client(app):
            await r.desconocido(f, d).publicar(kafka_producer)
            await r.preseleccionada(f, MPIO, d).publicar(kafka_producer, veces=2)
            await r.evaluados(f, MPIO, d, pendientes=("LB3",)).publicar(kafka_producer, veces=2)
            await r.cupos_habilitados("prg", "ent", MPIO, ("LB3",), 5, d).publicar(kafka_producer)

            async def proyectado() -> bool:
                familias = await filas(engine, "SELECT count(*) FROM {familias}.familia_estado")
                logros = await filas(engine, "SELECT count(*) FROM {logros}.familia_logro")
                cupos = await filas(engine, "SELECT count(*) FROM {oferta}.cupos_habilitados")
                return familias == [(1,)] and logros == [(45,)] and cupos == [(1,)]

            await hasta_que(proyectado, "the three topics reached the projections")
            hechos = await filas(
                engine,
                "SELECT (SELECT count(*) FROM {familias}.familia_estado_hecho),"
                " (SELECT count(*) FROM {logros}.familia_logro_hecho)",
            )
            assert hechos == [(1, 1)]  # the redelivered copies were not applied again
            # ... and `aplicado` alone guards that: the live consumer writes no inbox rows
            assert await filas(engine, "SELECT count(*) FROM inbox") == [(0,)]
    finally:
        logging.getLogger("reporting.consumers").removeHandler(registro)
    saltados = [e for e in registro.eventos if e.get("event") == "unknown event type skipped"]
    assert saltados and saltados[0]["event_type"] == "FamiliaTeletransportada"
    assert saltados[0]["service"] == "enrollment"
    despues = consumers.DESCONOCIDOS.labels("enrollment", "FamiliaTeletransportada")._value.get()
    assert despues == antes + 1


def _retraso(metricas: str, proyeccion: str) -> float | None:
    for linea in metricas.splitlines():
        if linea.startswith(f'juntos_projection_lag_seconds{{projection="{proyeccion}"}}'):
            return float(linea.split()[-1])
    return None


async def test_projection_lag_in_metrics(
    db: str, kafka_bootstrap: str, kafka_producer: AIOKafkaProducer
) -> None:
    """The lag is now minus the event time of the newest event applied, per projection."""
    from datetime import UTC, datetime, timedelta

    hace_un_rato = datetime.now(UTC) - timedelta(minutes=10)
    async with desde_ahora(db, kafka_bootstrap) as app, service_client(app) as cliente:
        metricas = (await cliente.get("/metrics")).text
        assert "# TYPE juntos_projection_lag_seconds gauge" in metricas
        await r.preseleccionada("lag-fam", MPIO, hace_un_rato).publicar(kafka_producer)

        async def con_retraso() -> float | None:
            return _retraso((await cliente.get("/metrics")).text, "familias")

        retraso = await hasta_que(con_retraso, "the familias projection reports its lag")
        assert 600 <= retraso < 900
        await r.visita("lag-fam", MPIO, "cg", hace_un_rato + timedelta(minutes=5)).publicar(
            kafka_producer
        )

        async def operacion() -> float | None:
            return _retraso((await cliente.get("/metrics")).text, "operacion")

        assert 300 <= await hasta_que(operacion, "the operacion projection reports its lag") < 600


async def test_an_invalid_event_goes_to_the_dead_letter_topic_and_its_batch_is_applied(
    engine: AsyncEngine, db: str, kafka_bootstrap: str, kafka_producer: AIOKafkaProducer
) -> None:
    """The consumer's batch (published before it starts: one poll) holds an invalid event: it
    alone reaches the dead-letter topic, the others are applied once, the unknown type is
    counted once."""
    d = r.dia(date(2026, 5, 5))
    f = f"dlq-{uuid.uuid4().hex[:8]}"
    antes = consumers.DESCONOCIDOS.labels("enrollment", "FamiliaTeletransportada")._value.get()
    invalido = r.invalido(f, d)
    async with desde_ahora(db, kafka_bootstrap) as app:
        for suceso in (
            r.preseleccionada(f, MPIO, d),
            r.desconocido(f, d),
            invalido,
            r.cogestor_asignado(f, MPIO, "cg-1", d),
            r.evaluados(f, MPIO, d, pendientes=("LB3",)),
        ):
            await suceso.publicar(kafka_producer)
        async with service_client(app):

            async def proyectado() -> bool:
                familia = await filas(
                    engine,
                    "SELECT cogestor_id FROM {familias}.familia_estado WHERE familia_id = $1",
                    f=f,
                )
                logros = await filas(
                    engine, "SELECT count(*) FROM {logros}.familia_logro WHERE familia_id = $1", f=f
                )
                return familia == [("cg-1",)] and logros == [(45,)]

            await hasta_que(proyectado, "the valid events of the batch were applied")
    muertos = await leer_hasta(
        kafka_bootstrap,
        dead_letter_topic(event_topic("enrollment")),
        lambda registro: dict(registro.headers).get("ce_id") == invalido.id.encode(),
    )
    cabeceras = dict(muertos[-1].headers)
    assert b"lacks what reporting reads" in cabeceras["dlq_error"]
    assert [dict(m.headers).get("ce_id", b"").decode() for m in muertos].count(invalido.id) == 1
    despues = consumers.DESCONOCIDOS.labels("enrollment", "FamiliaTeletransportada")._value.get()
    assert despues == antes + 1
