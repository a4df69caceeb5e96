"""Process entry point: `uvicorn accompaniment.main:create_app --factory`."""

from juntos_web import app_factory

from accompaniment.api import router
from accompaniment.consumers import subscriptions
from accompaniment.events import events

create_app = app_factory("accompaniment", router, events, subscriptions)
