"""Program and slot aggregates: capacity, assignments, deliveries; pure, no I/O."""
