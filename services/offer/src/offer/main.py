"""Process entry point: `uvicorn offer.main:create_app --factory`."""

from juntos_web import app_factory

from offer.api import router
from offer.consumers import subscriptions
from offer.events import events

create_app = app_factory("offer", router, events, subscriptions)
