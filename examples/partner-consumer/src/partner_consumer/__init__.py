"""A partner entity's consumer of JUNTOS events, built only on the published contracts."""
