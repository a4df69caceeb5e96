"""Territorial commands (baseline, conditions, action plan): load, decide, append."""
