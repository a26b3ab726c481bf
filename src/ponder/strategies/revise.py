"""revise: being built (issue 13)."""
