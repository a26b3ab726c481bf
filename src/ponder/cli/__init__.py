"""The `ponder` command: one module per command group."""
