"""No aggregate here: the pure folding functions of reporting's projections."""
