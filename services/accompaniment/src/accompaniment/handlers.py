"""Accompaniment commands (visits, baseline, evaluations, offline sync): load, decide, append."""
