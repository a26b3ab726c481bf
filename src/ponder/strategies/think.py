"""think: being built (issue 13)."""
