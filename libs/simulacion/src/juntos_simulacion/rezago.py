"""How far behind the asynchronous parts are: consumer groups, outboxes, projections.

Consumer lag is read from Kafka itself (each group's committed offsets against the partitions'
end offsets), the outbox backlog from each service's `outbox` table (its `/metrics` gauge is
refreshed only every 5 s), event counts and projection lag from each service's `/metrics`. The
system has caught up when every group is at the end and every outbox is empty, twice in a row (an
event consumed can put a new row in another service's outbox).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from juntos_simulacion.pila import Pila


@dataclass(frozen=True)
class Rezago:
    consumidores: dict[str, int]  # group -> records behind the end, over its partitions
    outbox: dict[str, int]  # service -> outbox rows not yet published
    proyeccion_s: dict[str, float]  # reporting's projection -> seconds since its newest event

    @property
    def total_consumidores(self) -> int:
        return sum(self.consumidores.values())

    @property
    def total_outbox(self) -> int:
        return sum(self.outbox.values())

    @property
    def al_dia(self) -> bool:
        return self.total_consumidores == 0 and self.total_outbox == 0


async def rezago_consumidores(bootstrap: str) -> dict[str, int]:
    """Records each consumer group has yet to commit, summed over its partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        grupos = [g[0] for g in await admin.list_consumer_groups()]
        confirmados = {g: await admin.list_consumer_group_offsets(g) for g in grupos}
    finally:
        await admin.close()
    particiones = {tp for offsets in confirmados.values() for tp in offsets}
    if not particiones:
        return {g: 0 for g in grupos}
    consumidor = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumidor.start()
    try:
        fin = await consumidor.end_offsets(list(particiones))
    finally:
        await consumidor.stop()
    return {
        g: sum(max(0, fin[tp] - meta.offset) for tp, meta in offsets.items() if meta.offset >= 0)
        for g, offsets in confirmados.items()
    }


def muestras(texto: str, nombre: str) -> list[tuple[str, float]]:
    """(labels, value) of every sample of metric `nombre` in Prometheus text format."""
    encontradas = []
    for linea in texto.splitlines():
        if not linea.startswith(nombre) or linea.startswith("#"):
            continue
        cabeza, _, valor = linea.rpartition(" ")
        metrica, _, etiquetas = cabeza.partition("{")
        if metrica == nombre:
            encontradas.append((etiquetas.rstrip("}"), float(valor)))
    return encontradas


async def metricas(cliente: httpx.AsyncClient, urls: dict[str, str]) -> dict[str, str]:
    textos = await asyncio.gather(*(_leer_metricas(cliente, u) for u in urls.values()))
    return dict(zip(urls, textos, strict=True))


async def _leer_metricas(cliente: httpx.AsyncClient, url: str, intentos: int = 4) -> str:
    """A service's `/metrics`; a dropped connection (seen under load: the server closed a
    kept-alive one as it was reused) is retried, as a scraper would on its next round."""
    for intento in range(1, intentos + 1):
        try:
            respuesta = await cliente.get(f"{url}/metrics")
            respuesta.raise_for_status()
            return respuesta.text
        except httpx.TransportError:
            if intento == intentos:
                raise
            await asyncio.sleep(0.2 * intento)
    raise AssertionError("unreachable")


async def eventos_agregados(cliente: httpx.AsyncClient, urls: dict[str, str]) -> int:
    """Events appended to every service's store so far (juntos_events_appended_total)."""
    textos = await metricas(cliente, urls)
    return int(
        sum(v for t in textos.values() for _, v in muestras(t, "juntos_events_appended_total"))
    )


async def medir(cliente: httpx.AsyncClient, pila: Pila) -> Rezago:
    textos = await metricas(cliente, pila.urls())
    proyeccion = {
        etiquetas.split('"')[1]: valor
        for etiquetas, valor in muestras(
            textos.get("reporting", ""), "juntos_projection_lag_seconds"
        )
    }
    return Rezago(
        consumidores=await rezago_consumidores(pila.bootstrap),
        outbox=await asyncio.to_thread(pila.outbox_pendiente),
        proyeccion_s=proyeccion,
    )


@dataclass(frozen=True)
class Espera:
    """A wait for the consumers: how long in all, and per group until its lag was last seen
    above zero (0 for a group that never lagged): which consumer the stage waited for."""

    rezago: Rezago
    segundos: float
    por_grupo_s: dict[str, float]


async def esperar_al_dia(cliente: httpx.AsyncClient, pila: Pila, *, segundos: float) -> Espera:
    """Poll until caught up twice in a row.

    TimeoutError when the system has not caught up in `segundos`.
    """
    inicio = time.monotonic()
    seguidas = 0
    por_grupo: dict[str, float] = {}
    async with asyncio.timeout(segundos):
        while True:
            rezago = await medir(cliente, pila)
            ahora = time.monotonic() - inicio
            for grupo, atraso in rezago.consumidores.items():
                por_grupo[grupo] = ahora if atraso else por_grupo.get(grupo, 0.0)
            seguidas = seguidas + 1 if rezago.al_dia else 0
            if seguidas == 2:
                return Espera(rezago, ahora, {g: round(t, 1) for g, t in sorted(por_grupo.items())})
            await asyncio.sleep(0.5)
