"""The events this service publishes on its topic; its own issue adds them."""

from juntos_events.events import EventRegistry

events = EventRegistry("territorial")
