"""The run store: SQLite under PONDER_HOME, changed only through append-only named migrations."""

from ponder.store.db import Store, open_store

__all__ = ["Store", "open_store"]
