"""Process entry point: `uvicorn enrollment.main:create_app --factory`."""

from juntos_web import app_factory

from enrollment.api import router
from enrollment.consumers import subscriptions
from enrollment.events import events

create_app = app_factory("enrollment", router, events, subscriptions)
