"""Process entry point: `uvicorn accompaniment.main:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI
from juntos_web import app_factory

from accompaniment.api import router
from accompaniment.consumers import subscriptions
from accompaniment.events import events
from accompaniment.handlers import Servicios


async def _instalar(app: FastAPI) -> None:
    app.state.accompaniment = Servicios(engine=app.state.engine)


create_app = app_factory("accompaniment", router, events, subscriptions, startup=[_instalar])
