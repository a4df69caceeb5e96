"""Reactions to FamiliaVinculada (open the case) and ServicioPrestado (to verify)."""

from juntos_events.consumer import Subscriptions

subscriptions = Subscriptions()
