"""Process entry point: `uvicorn territorial.main:create_app --factory`."""

from juntos_web import app_factory

from territorial.api import router
from territorial.consumers import subscriptions
from territorial.events import events

create_app = app_factory("territorial", router, events, subscriptions)
