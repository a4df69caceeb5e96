"""`juntos_projection_lag_seconds{projection}`: how far each live projection is behind.

The lag is the seconds between now and the event time of the newest event the projection's
live generation applied (`max(t)` of its `aplicado` table). A background task reads those times
every few seconds; the gauge computes "now - that time" when Prometheus scrapes, so an idle
projection's lag grows as it should. A projection that applied nothing yet has no sample.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import datetime

from fastapi import FastAPI
from juntos_events.logs import get_logger
from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

from reporting import queries

log = get_logger(__name__)

RETRASO = Gauge(
    "juntos_projection_lag_seconds",
    "Seconds between now and the event time of the newest event a projection applied",
    ["projection"],
)

_ultimo: dict[str, float] = {}
"""Newest event time (epoch seconds) per projection, as last read; the gauge's only input."""


def registrar(ultimos: dict[str, datetime | None]) -> None:
    """Replace the newest event times; projections that applied nothing lose their sample."""
    for proyeccion in set(_ultimo) - {p for p, t in ultimos.items() if t is not None}:
        del _ultimo[proyeccion]
        RETRASO.remove(proyeccion)
    for proyeccion, ultimo_evento in ultimos.items():
        if ultimo_evento is None:
            continue
        if proyeccion not in _ultimo:
            RETRASO.labels(proyeccion).set_function(
                lambda p=proyeccion: time.time() - _ultimo.get(p, time.time())
            )
        _ultimo[proyeccion] = ultimo_evento.timestamp()


async def refrescar(engine: AsyncEngine) -> None:
    async with queries.lectura(engine) as (conn, _):
        filas = await queries.estado_proyecciones(conn)
    registrar({fila["proyeccion"]: fila["ultimo_evento"] for fila in filas})


@contextlib.asynccontextmanager
async def refresco(app: FastAPI) -> AsyncIterator[None]:
    """The background refresh, with the backbone (HTTP-only test apps do not run it)."""
    settings = app.state.settings
    if not settings.run_backbone:
        yield
        return

    async def bucle() -> None:
        while True:
            try:
                await refrescar(app.state.engine)
            except Exception:
                log.warning("projection lag refresh failed; retrying", exc_info=True)
            await asyncio.sleep(settings.retraso_cada_segundos)

    registrar({})  # one service per process; tests start several apps one after another
    tarea = asyncio.create_task(bucle())
    try:
        yield
    finally:
        registrar({})
        tarea.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tarea
