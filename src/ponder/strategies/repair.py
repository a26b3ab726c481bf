"""repair: being built (issue 13)."""
