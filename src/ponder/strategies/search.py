"""search: being built (issue 13)."""
