"""Process entry point: `uvicorn enrollment.main:create_app --factory`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from juntos_events.logs import get_logger
from juntos_web import app_factory

from enrollment.api import router
from enrollment.boveda import Boveda, Huellas
from enrollment.consumers import subscriptions
from enrollment.events import events
from enrollment.handlers import Servicios, egresar_por_tiempo
from enrollment.settings import EnrollmentSettings

log = get_logger(__name__)


def servicios(app: FastAPI) -> Servicios:
    """The adapters, from settings; refuses to run without the keys that protect personal data."""
    settings: EnrollmentSettings = app.state.settings
    if settings.keks is None or settings.document_pepper is None:
        raise RuntimeError(
            "enrollment needs ENROLLMENT_KEKS and ENROLLMENT_DOCUMENT_PEPPER (see its README)"
        )
    return Servicios(
        engine=app.state.engine,
        boveda=Boveda(settings.keks.get_secret_value()),
        huellas=Huellas(settings.document_pepper.get_secret_value()),
        settings=settings,
    )


async def _instalar(app: FastAPI) -> None:
    app.state.enrollment = servicios(app)


@contextlib.asynccontextmanager
async def _egresos(app: FastAPI) -> AsyncIterator[None]:
    """The 5-year exit job, with the backbone (HTTP-only test apps do not run it)."""
    settings: EnrollmentSettings = app.state.settings
    if not settings.run_backbone:
        yield
        return

    async def bucle() -> None:
        while True:
            try:
                salidas = await egresar_por_tiempo(app.state.enrollment)
                if salidas:
                    log.info("families exited by time", count=salidas)
            except Exception:
                log.exception("5-year exit job failed; retrying later")
            await asyncio.sleep(settings.egresos_cada_segundos)

    tarea = asyncio.create_task(bucle())
    try:
        yield
    finally:
        tarea.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tarea


create_app = app_factory(
    "enrollment",
    router,
    events,
    subscriptions,
    settings_class=EnrollmentSettings,
    startup=[_instalar],
    lifespans=[_egresos],
)
