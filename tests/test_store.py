from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ponder import PonderError
from ponder.store import open_store
from ponder.store.migrations import MIGRATIONS, migrate
from ponder.types import CallRecord, Candidate, Result, Usage


def result() -> Result:
    usage = Usage(calls=1, prompt_tokens=10, completion_tokens=7, wall_seconds=1.5, flops=3.0, cost_usd=0.01)
    return Result(
        answer="4",
        strategy="sc@2",
        model="m",
        candidates=[Candidate("Answer: 4", "4", 0.5, 3), Candidate("Answer: 5", "5", 0.5, 4)],
        votes={"4": 1, "5": 1},
        usage=usage,
        calls=[CallRecord("policy", "m", 2, usage)],
    )


def test_migrations_run_once_and_are_recorded(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "x.db")
    assert migrate(db) == [name for name, _ in MIGRATIONS]
    assert migrate(db) == []
    names = [r[0] for r in db.execute("SELECT name FROM _migrations")]
    assert names == [name for name, _ in MIGRATIONS]


def test_save_and_read_back(isolated_home: Path) -> None:
    store = open_store()
    run_id = store.save(result(), kind="ask", question="2+2?", settings={"seed": 1})
    run = store.run(run_id[:5])
    assert run["answer"] == "4" and run["completion_tokens"] == 7 and run["settings"] == {"seed": 1}
    assert [s["answer"] for s in run["samples"]] == ["4", "5"]
    assert run["calls"][0]["n"] == 2
    assert [r["id"] for r in store.runs()] == [run_id]
    with pytest.raises(PonderError, match="no run"):
        store.run("zzz")
    with pytest.raises(PonderError, match="no run"):
        store.run("")


def test_a_failed_save_leaves_nothing(isolated_home: Path) -> None:
    store = open_store()
    bad = result()
    bad.candidates.append(Candidate(None, None, None, 0))  # type: ignore[arg-type]  # text NOT NULL
    with pytest.raises(sqlite3.IntegrityError):
        store.save(bad, kind="ask", question="q", settings={})
    assert store.runs() == []
    assert store.db.execute("SELECT count(*) FROM calls").fetchone()[0] == 0
