"""Indicators and reports for coordinators, filtered by the caller's scope."""
