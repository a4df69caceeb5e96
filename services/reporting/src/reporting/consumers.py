"""Projections fed by every topic, each event applied with its inbox row."""

from juntos_events.consumer import Subscriptions

subscriptions = Subscriptions()
