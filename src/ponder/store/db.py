"""Reading and writing runs. A run is written whole in one transaction, or not at all."""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ponder import paths
from ponder.errors import PonderError
from ponder.store.migrations import migrate
from ponder.types import Result, Usage

_USAGE = tuple(Usage().to_dict())
CALIBRATION_ITEMS = "item_hashes"  # the key, in a calibration's details, of its items' content hashes


@dataclass
class Store:
    db: sqlite3.Connection

    def close(self) -> None:
        self.db.close()

    def save(self, result: Result, *, kind: str, question: str, settings: dict[str, Any]) -> str:
        run_id = uuid.uuid4().hex[:12]
        usage = result.usage.to_dict()
        with self.db:
            self.db.execute(
                f"INSERT INTO runs (id, created_at, kind, model, strategy, question, answer, scorer,"
                f" settings, notes, children, stopped, {', '.join(_USAGE)})"
                f" VALUES ({', '.join('?' * (12 + len(_USAGE)))})",
                (
                    run_id,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    kind,
                    result.model,
                    result.strategy,
                    question,
                    result.answer,
                    result.scorer,
                    json.dumps(settings, sort_keys=True),
                    json.dumps(result.notes),
                    json.dumps([c.to_dict() for c in result.children]),
                    result.stopped,
                    *(usage[k] for k in _USAGE),
                ),
            )
            self.db.executemany(
                f"INSERT INTO calls (run_id, seq, role, model, n, {', '.join(_USAGE)})"
                f" VALUES ({', '.join('?' * (5 + len(_USAGE)))})",
                [
                    (run_id, i, c.role, c.model, c.n, *(c.usage.to_dict()[k] for k in _USAGE))
                    for i, c in enumerate(result.calls)
                ],
            )
            self.db.executemany(
                "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        i,
                        c.text,
                        c.thoughts,
                        c.answer,
                        c.score,
                        c.completion_tokens,
                        c.thinking_tokens,
                        c.finish_reason,
                    )
                    for i, c in enumerate(result.candidates)
                ],
            )
        return run_id

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM runs ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,))
        return [dict(r) for r in rows]

    def run(self, run_id: str) -> dict[str, Any]:
        """One run with its calls and samples; `run_id` may be a unique prefix."""
        rows = self.db.execute(
            "SELECT * FROM runs WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 2", (len(run_id), run_id)
        ).fetchall()
        if not rows or not run_id:
            raise PonderError(f"no run '{run_id}': `ponder runs list` shows the run ids")
        if len(rows) > 1:
            raise PonderError(f"'{run_id}' matches several runs: give more of the id")
        run = dict(rows[0])
        run["settings"] = json.loads(run["settings"])
        run["notes"] = json.loads(run["notes"])
        run["children"] = json.loads(run["children"])
        run["calls"] = [
            dict(r) for r in self.db.execute("SELECT * FROM calls WHERE run_id=? ORDER BY seq", (run["id"],))
        ]
        run["samples"] = [
            dict(r)
            for r in self.db.execute("SELECT * FROM samples WHERE run_id=? ORDER BY seq", (run["id"],))
        ]
        return run

    def save_calibration(
        self,
        family: str,
        model: str,
        level: int | None,
        low: int | None,
        high: int | None,
        details: dict[str, Any],
    ) -> None:
        """`details` is stored as JSON; its `item_hashes` (CALIBRATION_ITEMS), the content hashes of
        every item the calibration measured, are what a FAMILY@frontier study skips."""
        with self.db:
            self.db.execute(
                "INSERT INTO calibrations (created_at, family, model, level, interval_low, interval_high,"
                " details) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    family,
                    model,
                    level,
                    low,
                    high,
                    json.dumps(details),
                ),
            )

    def frontiers(self, model: str) -> dict[str, int | None]:
        """family → calibrated level for `model`; None where it is below 50% even at level 1."""
        rows = self.db.execute(
            "SELECT family, level FROM calibrations c WHERE model = ? AND id = "
            "(SELECT max(id) FROM calibrations WHERE family = c.family AND model = c.model)",
            (model,),
        )
        return {r["family"]: r["level"] for r in rows}

    def calibration_items(self, model: str) -> dict[str, frozenset[str]]:
        """family → content hashes of the items its latest calibration for `model` measured (none for
        a calibration stored before they were kept)."""
        rows = self.db.execute(
            "SELECT family, details FROM calibrations c WHERE model = ? AND id = "
            "(SELECT max(id) FROM calibrations WHERE family = c.family AND model = c.model)",
            (model,),
        )
        out = {}
        for r in rows:
            hashes = json.loads(r["details"]).get(CALIBRATION_ITEMS, [])
            out[r["family"]] = frozenset(h for h in hashes if isinstance(h, str))
        return out


def open_store(path: Path | None = None) -> Store:
    path = path or paths.store_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db)
    except (OSError, sqlite3.Error) as e:
        raise PonderError(
            f"cannot open the run store at {path} ({e}): move the file away or set PONDER_HOME"
        ) from e
    return Store(db)
