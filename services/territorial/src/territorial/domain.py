"""Municipality aggregate: conditions (CBT), action plan, accountability; pure, no I/O."""
