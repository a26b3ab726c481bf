"""Append-only, named schema migrations (after simonw/llm's `migrations.py`).

Never edit or reorder a migration that has shipped: add a new one. Each runs once, in order, inside
the transaction that records its name in `_migrations`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []

_USAGE_COLUMNS = """
    calls INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    cached_prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    thinking_tokens INTEGER NOT NULL,
    wall_seconds REAL NOT NULL,
    flops REAL NOT NULL,
    cost_usd REAL NOT NULL
"""


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_runs_calls_samples(db: sqlite3.Connection) -> None:
    db.execute(
        f"""CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            kind TEXT NOT NULL,
            model TEXT NOT NULL,
            strategy TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT,
            scorer TEXT,
            settings TEXT NOT NULL,
            notes TEXT NOT NULL,
            {_USAGE_COLUMNS}
        )"""
    )
    db.execute(
        f"""CREATE TABLE calls (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL,
            model TEXT NOT NULL,
            n INTEGER NOT NULL,
            {_USAGE_COLUMNS},
            PRIMARY KEY (run_id, seq)
        )"""
    )
    db.execute(
        """CREATE TABLE samples (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            text TEXT NOT NULL,
            thoughts TEXT NOT NULL,
            answer TEXT,
            score REAL,
            completion_tokens INTEGER NOT NULL,
            thinking_tokens INTEGER NOT NULL,
            finish_reason TEXT NOT NULL,
            PRIMARY KEY (run_id, seq)
        )"""
    )
    db.execute("CREATE INDEX runs_created ON runs(created_at)")


@migration
def m002_calibrations(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE calibrations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            family TEXT NOT NULL,
            model TEXT NOT NULL,
            level INTEGER,
            interval_low INTEGER,
            interval_high INTEGER,
            details TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX calibrations_lookup ON calibrations(family, model, id)")


@migration
def m003_run_tree(db: sqlite3.Connection) -> None:
    """A run keeps its inner strategies' results (a vote's runs) and why a limit stopped it."""
    db.execute("ALTER TABLE runs ADD COLUMN children TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE runs ADD COLUMN stopped TEXT")


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations not yet applied; return their names."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        with db:
            fn(db)
            db.execute(
                "INSERT INTO _migrations VALUES (?, datetime('now'))",
                (name,),
            )
        applied.append(name)
    return applied
