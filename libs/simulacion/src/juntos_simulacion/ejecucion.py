"""`simulate run`: the stages in order against the running stack, the catch-up, the checks,
and the JSON report (`<dir>/informe-run.json`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from juntos_simulacion.cliente import KEEPALIVE_S, Cliente
from juntos_simulacion.etapas import ETAPAS, Contexto
from juntos_simulacion.invariantes import Invariante, comprobar
from juntos_simulacion.medidas import Medida
from juntos_simulacion.pila import Pila
from juntos_simulacion.rezago import Espera, esperar_al_dia, eventos_agregados, medir

INFORME = "informe-run.json"


@dataclass(frozen=True)
class Opciones:
    concurrencia: int = 8
    semilla: int = 1
    a_graduar: float = 0.2
    espera: float = 600.0  # seconds to wait for the consumers after each stage


async def ejecutar(
    dir_: Path,
    pila: Pila,
    op: Opciones,
    al_terminar_etapa: Callable[[Medida], None] = lambda _: None,
) -> dict[str, Any]:
    """Every stage, a wait for the consumers after each, the invariants; returns the report."""
    manifiesto = json.loads((dir_ / "manifest.json").read_text())
    cliente = Cliente(op.concurrencia)
    ctx = Contexto(pila, cliente, dir_, manifiesto, op.concurrencia, op.semilla, op.a_graduar)
    medidas: list[Medida] = []
    esperas: dict[str, Espera] = {}
    inicio = time.monotonic()
    metricas = httpx.AsyncClient(timeout=30, limits=httpx.Limits(keepalive_expiry=KEEPALIVE_S))
    try:
        for nombre, interfaz, etapa in ETAPAS:
            m = Medida(nombre, interfaz)
            cliente.medida = m
            antes = await eventos_agregados(metricas, pila.urls())
            t0 = time.perf_counter()
            await etapa(ctx, m)
            m.segundos = time.perf_counter() - t0
            cliente.medida = None
            rezago = await medir(metricas, pila)
            m.rezago, m.backlog = rezago.total_consumidores, rezago.total_outbox
            m.rezago_grupos = rezago.consumidores
            esperas[nombre] = await esperar_al_dia(metricas, pila, segundos=op.espera)
            m.eventos = await eventos_agregados(metricas, pila.urls()) - antes
            medidas.append(m)
            al_terminar_etapa(m)
        etapas_s = time.monotonic() - inicio
        final = Medida("comprobacion", "REST reads, Kafka")
        cliente.medida = final
        invariantes = await comprobar(ctx, medidas)
        rezago = await medir(metricas, pila)
    finally:
        await cliente.cerrar()
        await metricas.aclose()
    informe = armar_informe(
        manifiesto, op, medidas, esperas, invariantes, etapas_s, time.monotonic() - inicio, pila
    )
    informe["rezago_final"] = {
        "consumidores": rezago.consumidores,
        "outbox": rezago.outbox,
        "proyeccion_s": rezago.proyeccion_s,
    }
    (dir_ / INFORME).write_text(json.dumps(informe, indent=2, ensure_ascii=False) + "\n")
    return informe


def armar_informe(
    manifiesto: dict[str, Any],
    op: Opciones,
    medidas: list[Medida],
    esperas: dict[str, Espera],
    invariantes: list[Invariante],
    etapas_s: float,
    total_s: float,
    pila: Pila,
) -> dict[str, Any]:
    etapas = []
    for m in medidas:
        fila = m.resumen()
        espera = esperas.get(m.etapa)
        fila["espera_consumidores_s"] = round(espera.segundos, 3) if espera else 0.0
        fila["espera_por_grupo_s"] = espera.por_grupo_s if espera else {}
        etapas.append(fila)
    return {
        "formato": 1,
        "cuando": datetime.now(UTC).isoformat(timespec="seconds"),
        "familias": manifiesto["poblacion"]["familias"],
        "personas": manifiesto["poblacion"]["personas"],
        "semilla": manifiesto["semilla"],
        "opciones": op.__dict__,
        "etapas": etapas,
        "segundos_etapas_y_esperas": round(etapas_s, 1),
        "segundos_total": round(total_s, 1),
        "invariantes": [i.resumen() for i in invariantes],
        "ok": all(i.ok for i in invariantes),
        "rss_pico_mib": pila.rss_pico(),
        "disco_bases_bytes": pila.disco_bases(),
        "disco_topicos_bytes": pila.disco_topicos(),
    }
