"""Rebuild from offset 0, blue/green: the live projections answer throughout, the rebuilt
tables equal the live ones, events that arrive during the rebuild are neither lost nor counted
twice, and the operator's command does it with a progress bar."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from juntos_testing.publishing import committed_offsets
from juntos_web import Role
from juntos_web.testing import bearer, service_client
from reporting import reconstruccion
from reporting.consumers import subscriptions
from reporting.handlers import CANDADO_RECONSTRUCCION
from reporting.proyecciones import PROYECCIONES
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from . import relato as r
from .kafka import app_con_backbone, hasta_que, particiones
from .relato import D4


async def al_dia(bootstrap: str, grupo: str) -> bool:
    """The live consumer group has committed the end of every topic it reads."""
    tps = await particiones(bootstrap, subscriptions.topics())
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        finales = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    confirmados = await committed_offsets(bootstrap, grupo)
    return all(finales[tp] == 0 or confirmados.get(tp, -1) >= finales[tp] for tp in tps)


async def punteros(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        filas = await conn.execute(text("SELECT proyeccion, esquema FROM reporting_proyeccion"))
        return {p: e for p, e in filas}


async def diferencias(engine: AsyncEngine, a: dict[str, str], b: dict[str, str]) -> dict:
    async with engine.connect() as conn:
        return {
            p: d for p in sorted(a) if (d := await reconstruccion.comparar(conn, p, a[p], b[p]))
        }


async def _reportes(cliente: httpx.AsyncClient, headers: dict) -> list:
    cuerpos = []
    for url, params in (
        ("/v1/indicadores/familias", {"departamento": "97", "fecha": D4.isoformat()}),
        ("/v1/indicadores/logros", {"municipio": r.A, "logro": "LB1", "fecha": D4.isoformat()}),
        ("/v1/oferta/cupos", {"municipio": r.A, "logro": "LB1", "fecha": D4.isoformat()}),
    ):
        respuesta = await cliente.get(url, params=params, headers=headers)
        assert respuesta.status_code == 200, respuesta.text
        cuerpos.append(respuesta.json()["items"])
    return cuerpos


async def test_blue_green_rebuild_while_the_live_projections_answer(
    db: str, engine: AsyncEngine, kafka_bootstrap: str, kafka_producer: AIOKafkaProducer
) -> None:
    prefijo = f"rb{uuid.uuid4().hex[:6]}-"
    grupo = f"reporting-{uuid.uuid4().hex[:8]}"  # a fresh group: reads the topics from offset 0
    app = app_con_backbone(db, kafka_bootstrap, grupo)
    async with service_client(app) as cliente:
        nacional = bearer(app, Role.NACIONAL)
        for suceso in r.historia(prefijo):
            await suceso.publicar(kafka_producer)
        await hasta_que(lambda: al_dia(kafka_bootstrap, grupo), "the live consumer caught up")
        antes = await _reportes(cliente, nacional)
        assert antes[0][0]["potencial"] >= 4
        vivos = await punteros(engine)

        tarea = asyncio.create_task(
            reconstruccion.reconstruir(engine, kafka_bootstrap, conservar_anteriores=True)
        )
        while not tarea.done():  # reports never go blank, and say the same
            assert await _reportes(cliente, nacional) == antes
            await asyncio.sleep(0.05)
        resultado = await tarea
        assert resultado.anteriores == vivos
        nuevos = await punteros(engine)
        assert nuevos == resultado.esquemas
        assert all(nuevos[p].endswith("_2") for p in PROYECCIONES)
        assert resultado.leidos >= len(r.historia())
        assert await diferencias(engine, vivos, nuevos) == {}
        assert await _reportes(cliente, nacional) == antes

        # events published while a second rebuild runs: neither lost nor counted twice
        async def publicar_durante(n: int) -> None:
            for i in range(n):
                suceso = r.preseleccionada(f"{prefijo}nueva-{i}", r.B, r.dia(D4))
                await suceso.publicar(kafka_producer, veces=2)
                await asyncio.sleep(0.02)

        editor = asyncio.create_task(publicar_durante(40))
        segundo = await reconstruccion.reconstruir(engine, kafka_bootstrap)
        await editor
        assert set(segundo.anteriores.values()) == set(nuevos.values())
        async with engine.connect() as conn:
            quedan = await conn.scalar(
                text(
                    "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ANY(:s)"
                ),
                {"s": list(nuevos.values())},
            )
        assert quedan == 0  # the replaced generation was dropped

        async def cuarenta_mas() -> bool:
            fila = (await _reportes(cliente, nacional))[0][0]
            return fila["potencial"] == antes[0][0]["potencial"] + 40

        await hasta_que(
            cuarenta_mas, "the live consumer applied the new events to the new generation"
        )
        await hasta_que(lambda: al_dia(kafka_bootstrap, grupo), "the live consumer caught up")
        tercero = await reconstruccion.reconstruir(
            engine, kafka_bootstrap, conservar_anteriores=True
        )
        assert await diferencias(engine, tercero.anteriores, tercero.esquemas) == {}
        # and the comparison does see a difference when there is one
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                f"DELETE FROM {tercero.anteriores['familias']}.familia_estado"
                " WHERE familia_id = $1",
                (f"{prefijo}nueva-0",),
            )
        assert set(await diferencias(engine, tercero.anteriores, tercero.esquemas)) == {"familias"}


async def test_one_rebuild_at_a_time(engine: AsyncEngine, kafka_bootstrap: str) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": CANDADO_RECONSTRUCCION})
        await conn.commit()
        with pytest.raises(reconstruccion.ReconstruccionEnCurso):
            await reconstruccion.reconstruir(engine, kafka_bootstrap, ["familias"])
        await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": CANDADO_RECONSTRUCCION})
        await conn.commit()
    with pytest.raises(ValueError, match="unknown projection"):
        await reconstruccion.reconstruir(engine, kafka_bootstrap, ["nada"])


def juntos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "juntos_cli.main", *args],
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )


async def test_the_operators_command(
    db: str, engine: AsyncEngine, kafka_bootstrap: str, kafka_producer: AIOKafkaProducer
) -> None:
    await r.preseleccionada(f"cli-{uuid.uuid4().hex[:6]}", r.C, r.dia(D4)).publicar(kafka_producer)
    hecho = await asyncio.to_thread(
        juntos,
        "reporting",
        "rebuild",
        "familias",
        "--database-url",
        db,
        "--bootstrap",
        kafka_bootstrap,
    )
    assert hecho.returncode == 0, hecho.stderr + hecho.stdout
    assert "rp_familias_2" in hecho.stdout and "rp_familias_1" in hecho.stdout
    assert "events read" in hecho.stdout
    assert await punteros(engine) == {
        "familias": "rp_familias_2",
        "logros": "rp_logros_1",
        "oferta": "rp_oferta_1",
        "operacion": "rp_operacion_1",
        "territorial": "rp_territorial_1",
    }
    async with engine.connect() as conn:
        familias = await conn.scalar(text("SELECT count(*) FROM rp_familias_2.familia_estado"))
        puntos = await conn.scalar(text("SELECT count(*) FROM rp_familias_2.checkpoint"))
    assert familias >= 1 and puntos >= 1

    estado = await asyncio.to_thread(juntos, "reporting", "status", "--database-url", db)
    assert estado.returncode == 0, estado.stderr
    assert "rp_familias_2" in estado.stdout and "rp_oferta_1" in estado.stdout

    mal = await asyncio.to_thread(
        juntos, "reporting", "rebuild", "nada", "--database-url", db, "--bootstrap", kafka_bootstrap
    )
    assert mal.returncode == 1 and "unknown projection" in mal.stderr
