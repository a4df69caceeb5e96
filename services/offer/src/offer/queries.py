"""Offer's local read models (local offer map per municipality, demand and gaps)."""
