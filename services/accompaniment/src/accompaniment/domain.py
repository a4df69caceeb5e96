"""Family-case aggregate: visits, baseline, achievement states; pure, no I/O."""
