"""Benchmarks of the event backbone, each against a raw baseline measured in the same run."""
