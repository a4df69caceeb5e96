"""Enrollment's local read models (families by municipality, by cogestor)."""
