"""Accompaniment's local read models (a cogestor's caseload, a family's achievements)."""
