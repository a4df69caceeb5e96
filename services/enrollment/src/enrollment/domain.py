"""Family aggregate: state, events, decide and evolve over them; pure, no I/O."""
