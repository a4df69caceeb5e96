"""Process entry point: `uvicorn offer.main:create_app --factory`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from juntos_web import app_factory

from offer.api import router
from offer.consumers import subscriptions
from offer.enrollment import EnrollmentHttp
from offer.events import events
from offer.handlers import Servicios
from offer.settings import OfferSettings


@contextlib.asynccontextmanager
async def _servicios(app: FastAPI) -> AsyncIterator[None]:
    """The adapters, from settings; the enrollment client lives as long as the app."""
    settings: OfferSettings = app.state.settings
    token = settings.enrollment_token.get_secret_value() if settings.enrollment_token else None
    enrollment = EnrollmentHttp(
        settings.enrollment_url, token, timeout=settings.enrollment_timeout_seconds
    )
    app.state.offer = Servicios(engine=app.state.engine, enrollment=enrollment, settings=settings)
    try:
        yield
    finally:
        await enrollment.cerrar()


create_app = app_factory(
    "offer",
    router,
    events,
    subscriptions,
    settings_class=OfferSettings,
    lifespans=[_servicios],
)
