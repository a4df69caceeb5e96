"""Reactions to other services' events, e.g. graduating a family (LogroAlcanzado)."""

from juntos_events.consumer import Subscriptions

subscriptions = Subscriptions()
