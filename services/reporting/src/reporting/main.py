"""Process entry point: `uvicorn reporting.main:create_app --factory`."""

from juntos_web import app_factory

from reporting.api import router
from reporting.consumers import subscriptions
from reporting.events import events
from reporting.metricas import refresco
from reporting.settings import ReportingSettings

create_app = app_factory(
    "reporting",
    router,
    events,
    subscriptions,
    settings_class=ReportingSettings,
    lifespans=[refresco],
)
