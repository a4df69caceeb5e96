"""Reporting publishes no events (read models only); the registry exists for the shared shape."""

from juntos_events.events import EventRegistry

events = EventRegistry("reporting")
