"""Process entry point: `uvicorn territorial.main:create_app --factory`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from juntos_events.logs import get_logger
from juntos_web import app_factory

from territorial.api import router
from territorial.consumers import subscriptions
from territorial.events import events
from territorial.handlers import publicar_catalogo
from territorial.settings import TerritorialSettings

log = get_logger(__name__)


@contextlib.asynccontextmanager
async def _catalogo(app: FastAPI) -> AsyncIterator[None]:
    """Publish the DIVIPOLA catalogue once the backbone has migrated (HTTP-only apps do not).

    In the background, so that a database that is not there yet delays the catalogue, not the
    service: the publication is retried until it succeeds, and only appends what is missing."""
    settings: TerritorialSettings = app.state.settings
    if not (settings.run_backbone and settings.publicar_catalogo):
        yield
        return

    async def publicar() -> None:
        while True:
            try:
                hecho = await publicar_catalogo(app.state.engine)
                log.info(
                    "DIVIPOLA catalogue published",
                    departamentos=hecho.departamentos,
                    municipios=hecho.municipios,
                )
                return
            except Exception:
                log.exception("catalogue publication failed; retrying later")
                await asyncio.sleep(settings.reintento_catalogo_segundos)

    tarea = asyncio.create_task(publicar())
    try:
        yield
    finally:
        tarea.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tarea


create_app = app_factory(
    "territorial",
    router,
    events,
    subscriptions,
    settings_class=TerritorialSettings,
    lifespans=[_catalogo],
)
