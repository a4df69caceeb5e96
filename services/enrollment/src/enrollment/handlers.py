"""Enrollment commands: load the family stream, decide, append with the outbox."""
