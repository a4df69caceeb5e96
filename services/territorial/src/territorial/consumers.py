"""Reactions to offer's and accompaniment's events feeding the capacity map."""

from juntos_events.consumer import Subscriptions

subscriptions = Subscriptions()
