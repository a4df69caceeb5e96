"""Process entry point: `uvicorn offer.main:create_app --factory`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI
from juntos_web import ServiceSettings, app_factory
from juntos_web.auth import TokenIssuer
from juntos_web.oauth import Secrets, document_token_endpoint

from offer.api import router
from offer.api_clientes import TOKEN_PATH
from offer.consumers import subscriptions
from offer.credenciales import Credenciales
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
    app.state.credenciales = Credenciales(
        engine=app.state.engine,
        emisor=TokenIssuer(settings),
        vida=timedelta(seconds=settings.oauth_token_ttl_seconds),
        secretos=Secrets(),
    )
    try:
        yield
    finally:
        await enrollment.cerrar()


_create_app = app_factory(
    "offer",
    router,
    events,
    subscriptions,
    settings_class=OfferSettings,
    lifespans=[_servicios],
)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """Offer's app; its OpenAPI also tells partners where their tokens come from."""
    app = _create_app(settings)
    document_token_endpoint(app, TOKEN_PATH)
    return app
