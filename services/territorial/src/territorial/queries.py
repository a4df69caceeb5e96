"""Territorial's local read models (capacity map per dimension, plan progress)."""
