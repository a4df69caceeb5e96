"""Synthetic population for scale runs and benchmarks (`juntos simulate ...`)."""
