"""The scripted story through the real topics: enrollment's, accompaniment's and offer's
CloudEvents published to Kafka, reporting's live consumer, and the API polled until the
indicators show the expected numbers (redelivered events counted once, time travel, scope)."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaProducer
from juntos_web import Role
from juntos_web.testing import bearer, service_client

from . import relato as r
from .kafka import desde_ahora, hasta_que
from .relato import D3, D4, A, B

ESPERADO_MITU_D4 = {
    "territorio": A,
    "nombre": "MITÚ",
    "potencial": 3,
    "preseleccionadas": 0,
    "vinculadas": 2,
    "en_acompanamiento": 1,
    "no_vinculadas": 1,
    "promovidas": 1,
    "retiradas": 0,
    "egresadas_por_tiempo": 0,
    "con_linea_base": 2,
    "con_plan": 1,
}


async def test_the_story_through_kafka(
    db: str, kafka_bootstrap: str, kafka_producer: AIOKafkaProducer
) -> None:
    prefijo = f"k{uuid.uuid4().hex[:6]}-"
    sucesos = r.historia(prefijo)
    async with desde_ahora(db, kafka_bootstrap) as app, service_client(app) as cliente:
        nacional = bearer(app, Role.NACIONAL)
        await r.desconocido(f"{prefijo}f1", r.dia(D3)).publicar(kafka_producer)
        for suceso in sucesos:
            # every event twice: a redelivery must not count again
            await suceso.publicar(kafka_producer, veces=2)

        async def familias(fecha: str) -> dict | None:
            respuesta = await cliente.get(
                "/v1/indicadores/familias",
                params={"municipio": A, "fecha": fecha},
                headers=nacional,
            )
            assert respuesta.status_code == 200, respuesta.text
            return respuesta.json()["items"][0]

        async def al_dia() -> bool:
            return await familias(D4.isoformat()) == ESPERADO_MITU_D4

        await hasta_que(al_dia, "the indicators of Mitú reflect the story")

        # the last event of each topic is in too (every topic caught up)
        async def todo() -> bool:
            oferta = (
                await cliente.get(
                    "/v1/oferta/cupos",
                    params={"municipio": A, "logro": "LB1", "fecha": D4.isoformat()},
                    headers=nacional,
                )
            ).json()["items"][0]
            logros = (
                await cliente.get(
                    "/v1/indicadores/logros",
                    params={"municipio": A, "logro": "LB2", "fecha": D4.isoformat()},
                    headers=nacional,
                )
            ).json()["items"][0]
            planes = (
                await cliente.get(
                    "/v1/territorial/planes",
                    params={"municipio": A, "fecha": D4.isoformat()},
                    headers=nacional,
                )
            ).json()["items"][0]
            return (
                (oferta["cupos_asignados"], oferta["servicios_prestados"]) == (1, 1)
                and (logros["alcanzado"], logros["por_alcanzar"]) == (2, 0)
                and (planes["cumplidas"], planes["en_curso"], planes["acciones"]) == (1, 1, 3)
            )

        await hasta_que(todo, "offer's, accompaniment's and territorial's events are in")

        # time travel: the day before the graduation, and before anything
        antes = await familias(D3.isoformat())
        assert (antes["en_acompanamiento"], antes["promovidas"]) == (2, 0)
        assert (await familias("2025-06-30"))["potencial"] == 0

        # scope: Mitú's coordinator reads Mitú, Carurú's does not
        propio = await cliente.get(
            "/v1/indicadores/familias",
            params={"municipio": A, "fecha": D4.isoformat()},
            headers=bearer(app, Role.MUNICIPAL, A),
        )
        assert propio.status_code == 200 and propio.json()["items"][0] == ESPERADO_MITU_D4
        ajeno = await cliente.get(
            "/v1/indicadores/familias",
            params={"municipio": A},
            headers=bearer(app, Role.MUNICIPAL, B),
        )
        assert ajeno.status_code == 403

        visitas = (
            await cliente.get(
                "/v1/operacion/visitas",
                params={"municipio": A, "desde": "2026-01-01", "fecha": D4.isoformat()},
                headers=bearer(app, Role.COGESTOR, A),
            )
        ).json()["items"]
        assert [(v["mes"], v["visitas"]) for v in visitas] == [("2026-02", 1), ("2026-03", 2)]


async def test_reports_answer_while_nothing_was_consumed(db: str, kafka_bootstrap: str) -> None:
    async with desde_ahora(db, kafka_bootstrap) as app, service_client(app) as cliente:
        respuesta = await cliente.get(
            "/v1/indicadores/familias", headers=bearer(app, Role.NACIONAL)
        )
    assert respuesta.status_code == 200
    assert respuesta.json()["items"][0]["potencial"] == 0
