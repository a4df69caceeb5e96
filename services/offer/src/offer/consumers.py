"""Reactions to evaluated achievements: pending ones become demand for preferential slots."""

from juntos_events.consumer import Subscriptions

subscriptions = Subscriptions()
