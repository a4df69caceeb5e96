"""How a service plugs its events into the app: store, migrations, relay, consumers, AsyncAPI.

A service declares what it has (its event registry, its migrations folder, its subscriptions)
and the app factory does the same thing for all five: migrations before the first request, the
outbox relay and the consumers for the app's lifetime, the AsyncAPI document at /asyncapi.json.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from juntos_events.asyncapi import asyncapi_document
from juntos_events.consumer import Subscriptions
from juntos_events.events import EventRegistry
from juntos_events.runtime import Backbone
from juntos_events.store import EventStore

from juntos_web.settings import ServiceSettings

ASYNCAPI_PATH = "/asyncapi.json"


@dataclass(frozen=True)
class EventWiring:
    """What a service brings to the backbone."""

    events: EventRegistry
    migrations: Path | None = None
    subscriptions: Subscriptions | None = None

    def backbone(self, settings: ServiceSettings) -> Backbone:
        return Backbone(
            service=settings.service_name,
            consumer_group=settings.consumer_group,
            database_url=settings.database_url,
            bootstrap=settings.kafka_bootstrap,
            migrations=self.migrations,
            subscriptions=self.subscriptions,
        )


def install(app: FastAPI, wiring: EventWiring, settings: ServiceSettings) -> None:
    """Store on app.state for the handlers; the AsyncAPI route for partners."""
    app.state.events = wiring.events
    app.state.store = EventStore(wiring.events)
    app.include_router(_asyncapi_router(wiring))


@asynccontextmanager
async def running(app: FastAPI, wiring: EventWiring) -> AsyncIterator[None]:
    """Migrate, then run relay and consumers until shutdown (skipped when run_backbone is off)."""
    settings: ServiceSettings = app.state.settings
    if not settings.run_backbone:
        yield
        return
    backbone = wiring.backbone(settings)
    await backbone.migrate()
    async with backbone.running(app.state.engine):
        yield


def _asyncapi_router(wiring: EventWiring) -> APIRouter:
    router = APIRouter()

    @router.get(ASYNCAPI_PATH, include_in_schema=False)
    async def asyncapi(request: Request) -> dict[str, Any]:
        """The service's event contract: its topic, every message type and version, headers."""
        app = request.app
        consumes = wiring.subscriptions.topics() if wiring.subscriptions else []
        return asyncapi_document(
            wiring.events, title=app.title, version=app.version, consumes=consumes
        )

    return router
