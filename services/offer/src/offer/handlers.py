"""Offer commands (programs, slots, delivered services): load, decide, append with outbox."""
