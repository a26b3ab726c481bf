"""A study's own SQLite file, DIR/study.sqlite: its settings, problems, requests and samples.

The unit of work is one request (a pool of n samples, one run of a strategy at one budget, or a
timing request of the batching calibration) with its recorded seed. It is written in one
transaction when it completes, with every model call it made as the ledger recorded it (`calls`), so
a study killed at any moment (SIGKILL included) loses no finished request and, on `--resume`, redoes
none. Figures charged to a strategy are derived from these records, never stored in their place.

`verdicts` caches the oracle per (problem, answer): a verdict does not depend on when it was
computed, so two identical programs cannot get different verdicts from a flaky sandbox timeout.

`failures` holds the requests that failed on every try (the Ray executor's, `ray_executor.py`):
recorded, never dropped, and not done, so `--resume` tries them again; a request saved later clears
its row in the same transaction.

`meta.schema` is the store's layout version (`STORE_SCHEMA`), written when a study starts or is
extended. A store without it predates the version and has the same layout: it is read as it always
was. A store of a newer schema is refused in one line, before anything is read or written.

The driver saves from one writer thread while the event loop runs (`check_same_thread=False`); the
store is never used from two threads at once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.errors import PonderError
from ponder.lab.study.execute import Record
from ponder.tasks.base import Item
from ponder.types import CallRecord, Usage

STORE_SCHEMA = 1  # the layout this ponder writes and the newest it reads
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS problems (
    position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, item TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL, problem_id TEXT NOT NULL, kind TEXT NOT NULL, seed INTEGER NOT NULL,
    n INTEGER NOT NULL, answer TEXT, correct INTEGER,
    calls INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, cached_prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL, thinking_tokens INTEGER NOT NULL, wall_seconds REAL NOT NULL,
    flops REAL NOT NULL, cost_usd REAL NOT NULL,
    UNIQUE (model, problem_id, kind));
CREATE TABLE IF NOT EXISTS samples (
    request_id INTEGER NOT NULL REFERENCES requests(id), idx INTEGER NOT NULL,
    text TEXT NOT NULL, thoughts TEXT NOT NULL, answer TEXT, correct INTEGER NOT NULL,
    score REAL, completion_tokens INTEGER NOT NULL, finish_reason TEXT NOT NULL,
    PRIMARY KEY (request_id, idx));
CREATE TABLE IF NOT EXISTS calls (
    request_id INTEGER NOT NULL REFERENCES requests(id), idx INTEGER NOT NULL,
    role TEXT NOT NULL, n INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL, cached_prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL, wall_seconds REAL NOT NULL, prompt_seconds REAL NOT NULL,
    flops REAL NOT NULL, cost_usd REAL NOT NULL, requests INTEGER NOT NULL,
    first_prompt_tokens INTEGER NOT NULL, first_cached_prompt_tokens INTEGER NOT NULL,
    model TEXT,
    PRIMARY KEY (request_id, idx));
CREATE TABLE IF NOT EXISTS trees (
    request_id INTEGER PRIMARY KEY REFERENCES requests(id), children TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scores (
    request_id INTEGER NOT NULL REFERENCES requests(id), idx INTEGER NOT NULL,
    score REAL, grp TEXT, method TEXT NOT NULL,
    PRIMARY KEY (request_id, idx));
CREATE TABLE IF NOT EXISTS score_details (
    request_id INTEGER NOT NULL REFERENCES requests(id), idx INTEGER NOT NULL, detail TEXT NOT NULL,
    PRIMARY KEY (request_id, idx));
CREATE TABLE IF NOT EXISTS failures (
    model TEXT NOT NULL, problem_id TEXT NOT NULL, kind TEXT NOT NULL, tries INTEGER NOT NULL,
    error TEXT NOT NULL, PRIMARY KEY (model, problem_id, kind));
CREATE TABLE IF NOT EXISTS verdicts (
    problem_id TEXT NOT NULL, answer TEXT NOT NULL, correct INTEGER NOT NULL,
    PRIMARY KEY (problem_id, answer));
"""


@dataclass(frozen=True)
class PassScore:
    """A scoring pass's verdict on one pool sample: its score, its behaviour group (None: none, or
    the pass groups nothing) and how it was scored."""

    score: float | None
    group: str | None
    method: str
    detail: str = ""  # what else the pass found (a judge's per-criterion scores), JSON; "": nothing


@dataclass(frozen=True)
class StoredSample:
    text: str
    thoughts: str
    answer: str | None
    correct: bool
    score: float | None
    completion_tokens: int
    finish_reason: str


class StudyStore:
    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        """Open (or create) a study store; `readonly` opens an existing one without writing."""
        self.path = path
        try:
            if readonly:
                self.db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            else:
                self.db = sqlite3.connect(path, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            schema = self.schema()
            if schema > STORE_SCHEMA:
                self.db.close()
                raise PonderError(
                    f"{path} was written by a newer ponder (study store schema {schema}, this one reads "
                    f"up to {STORE_SCHEMA}): upgrade ponder, or choose another --out"
                )
            if not readonly:
                self.db.executescript(SCHEMA)
                columns = {r["name"] for r in self.db.execute("PRAGMA table_info(calls)")}
                if "model" not in columns:  # a store from before roles: its calls were the policy's
                    with self.db:
                        self.db.execute("ALTER TABLE calls ADD COLUMN model TEXT")
        except sqlite3.Error as e:
            raise PonderError(f"{path} is not a study store ({e}): choose another --out") from None

    def schema(self) -> int:
        """The store's layout version: 0 for a store older than versions (the same layout as 1)."""
        table = self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
        if table.fetchone() is None:
            return 0
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        return int(json.loads(row["value"])) if row else 0

    def close(self) -> None:
        self.db.close()

    def meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row["value"]) if row else None

    def initialise(self, items: list[Item], meta: dict[str, Any]) -> None:
        """Problems and settings in one transaction: a store is a study whole, or not at all."""
        with self.db:
            self.db.executemany(
                "INSERT INTO problems VALUES (?, ?, ?)",
                [(i, item.id, json.dumps(item.to_dict())) for i, item in enumerate(items)],
            )
            self._set_meta({"schema": STORE_SCHEMA, **meta})

    def update_meta(self, meta: dict[str, Any]) -> None:
        """Replace settings in one transaction (an extended study's identity), and mark the schema."""
        with self.db:
            self._set_meta({"schema": STORE_SCHEMA, **meta})

    def _set_meta(self, meta: dict[str, Any]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()]
        )

    def problems(self) -> list[Item]:
        rows = self.db.execute("SELECT item FROM problems ORDER BY position")
        return [Item(**json.loads(r["item"])) for r in rows]

    def done(self) -> set[tuple[str, str, str]]:
        rows = self.db.execute("SELECT model, problem_id, kind FROM requests")
        return {(r["model"], r["problem_id"], r["kind"]) for r in rows}

    def save_failure(self, model: str, problem_id: str, kind: str, tries: int, error: str) -> None:
        """A request that failed on every try, with its last error, in place of any earlier row."""
        with self.db:
            row = (model, problem_id, kind, tries, error)
            self.db.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?)", row)

    def failures(self) -> list[tuple[str, str, str, int, str]]:
        """(model, problem, kind, tries, last error) of each request that failed on every try."""
        rows = self.db.execute("SELECT * FROM failures ORDER BY model, problem_id, kind")
        return [(r["model"], r["problem_id"], r["kind"], int(r["tries"]), r["error"]) for r in rows]

    def pool_sizes(self) -> dict[tuple[str, str], int]:
        """(model, pool request kind) → the samples each stored pool request drew."""
        rows = self.db.execute(
            "SELECT model, kind, max(n) AS n FROM requests WHERE kind = 'pool' OR kind LIKE 'pool:%'"
            " GROUP BY model, kind"
        )
        return {(r["model"], r["kind"]): int(r["n"]) for r in rows}

    def save(self, record: Record, new_verdicts: Mapping[str, bool] | None = None) -> None:
        """A judged record in one transaction: the request, its samples (a timing request's are
        measured, not stored), a score request's scores (one per sample of its pool, in the pool's
        order: `scores`, not `samples`, which hold only what a model drew), every call it made, and
        the oracle's verdicts on its problem that the store did not hold (`new_verdicts`, answer →
        correct): one commit per request, never one per new answer."""
        if record.judged and (record.verdicts is None or (record.run and record.correct is None)):
            raise ValueError(f"{record.kind} of {record.problem_id} was not judged before saving")
        verdicts = record.verdicts or ()
        self.save_request(
            model=record.model,
            problem_id=record.problem_id,
            kind=record.kind,
            seed=record.seed,
            usage=record.usage,
            samples=[
                StoredSample(d.text, d.thoughts, d.answer, ok, d.score, d.completion_tokens, d.finish_reason)
                for d, ok in zip(record.samples, verdicts, strict=True)
            ]
            if record.judged
            else [],
            scores=[PassScore(d.score, d.answer, d.thoughts, d.text) for d in record.samples]
            if record.kind.startswith("score:")
            else None,
            answer=record.answer,
            correct=record.correct,
            calls=list(record.calls),
            children=list(record.children),
            verdicts=new_verdicts,
        )

    def save_request(
        self,
        *,
        model: str,
        problem_id: str,
        kind: str,
        seed: int,
        usage: Usage,
        samples: list[StoredSample],
        answer: str | None = None,
        correct: bool | None = None,
        calls: list[CallRecord] | None = None,
        children: list[dict[str, Any]] | None = None,
        scores: list[PassScore] | None = None,
        verdicts: Mapping[str, bool] | None = None,
    ) -> None:
        u = usage
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO verdicts VALUES (?, ?, ?)",
                [(problem_id, a, int(ok)) for a, ok in (verdicts or {}).items()],
            )
            key = (model, problem_id, kind)
            self.db.execute("DELETE FROM failures WHERE model = ? AND problem_id = ? AND kind = ?", key)
            cur = self.db.execute(
                "INSERT INTO requests (model, problem_id, kind, seed, n, answer, correct, calls,"
                " prompt_tokens, cached_prompt_tokens, completion_tokens, thinking_tokens, wall_seconds,"
                " flops, cost_usd)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    model, problem_id, kind, seed, len(samples) or len(scores or []), answer,
                    None if correct is None else int(correct),
                    u.calls, u.prompt_tokens, u.cached_prompt_tokens, u.completion_tokens,
                    u.thinking_tokens, u.wall_seconds, u.flops, u.cost_usd,
                ),
            )  # fmt: skip
            self.db.executemany(
                "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        cur.lastrowid, i, s.text, s.thoughts, s.answer, int(s.correct), s.score,
                        s.completion_tokens, s.finish_reason,
                    )
                    for i, s in enumerate(samples)
                ],
            )  # fmt: skip
            self.db.executemany(
                "INSERT INTO calls (request_id, idx, role, n, prompt_tokens, cached_prompt_tokens,"
                " completion_tokens, wall_seconds, prompt_seconds, flops, cost_usd, requests,"
                " first_prompt_tokens, first_cached_prompt_tokens, model)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        cur.lastrowid, i, c.role, c.n, c.usage.prompt_tokens, c.usage.cached_prompt_tokens,
                        c.usage.completion_tokens, c.usage.wall_seconds, c.prompt_seconds, c.usage.flops,
                        c.usage.cost_usd, c.requests, c.first_prompt_tokens, c.first_cached_prompt_tokens,
                        c.model,
                    )
                    for i, c in enumerate(calls or [])
                ],
            )  # fmt: skip
            self.db.executemany(
                "INSERT INTO scores VALUES (?, ?, ?, ?, ?)",
                [(cur.lastrowid, i, x.score, x.group, x.method) for i, x in enumerate(scores or [])],
            )
            self.db.executemany(
                "INSERT INTO score_details VALUES (?, ?, ?)",
                [(cur.lastrowid, i, x.detail) for i, x in enumerate(scores or []) if x.detail],
            )
            if children:
                self.db.execute(
                    "INSERT INTO trees VALUES (?, ?)", (cur.lastrowid, json.dumps(children, allow_nan=False))
                )

    def calls(self) -> dict[int, list[dict[str, Any]]]:
        """Every request's calls in order, by request id (empty for a study stored before calls were)."""
        out: dict[int, list[dict[str, Any]]] = {}
        for r in self.db.execute("SELECT * FROM calls ORDER BY request_id, idx"):
            out.setdefault(r["request_id"], []).append(dict(r))
        return out

    def verdict(self, problem_id: str, answer: str) -> bool | None:
        row = self.db.execute(
            "SELECT correct FROM verdicts WHERE problem_id = ? AND answer = ?", (problem_id, answer)
        ).fetchone()
        return None if row is None else bool(row["correct"])

    def save_verdict(self, problem_id: str, answer: str, correct: bool) -> None:
        """The first verdict for (problem, answer) stands; later ones are not asked for."""
        with self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO verdicts VALUES (?, ?, ?)", (problem_id, answer, int(correct))
            )

    def request_id(self, model: str, problem_id: str, kind: str) -> int | None:
        row = self.db.execute(
            "SELECT id FROM requests WHERE model = ? AND problem_id = ? AND kind = ?",
            (model, problem_id, kind),
        ).fetchone()
        return None if row is None else int(row["id"])

    def answer(self, request_id: int) -> str | None:
        """A run request's chosen answer."""
        row = self.db.execute("SELECT answer FROM requests WHERE id = ?", (request_id,)).fetchone()
        return None if row is None else row["answer"]

    def scores(self, request_id: int) -> list[PassScore]:
        """A score request's scores, in its pool's order (none in a store from before scoring passes)."""
        if not self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'scores'").fetchone():
            return []
        rows = self.db.execute(
            "SELECT score, grp, method FROM scores WHERE request_id = ? ORDER BY idx", (request_id,)
        )
        return [PassScore(r["score"], r["grp"], r["method"]) for r in rows]

    def score_details(self, request_id: int) -> list[dict[str, Any] | None]:
        """A score request's per-candidate details, in its pool's order (None where it kept none,
        and for every candidate in a store from before details were kept)."""
        n = len(self.scores(request_id))
        if not self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'score_details'").fetchone():
            return [None] * n
        out: list[dict[str, Any] | None] = [None] * n
        for r in self.db.execute("SELECT idx, detail FROM score_details WHERE request_id = ?", (request_id,)):
            out[r["idx"]] = json.loads(r["detail"])
        return out

    def requests(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM requests ORDER BY id")]

    def samples(self, request_id: int) -> list[StoredSample]:
        rows = self.db.execute(
            "SELECT text, thoughts, answer, correct, score, completion_tokens, finish_reason"
            " FROM samples WHERE request_id = ? ORDER BY idx",
            (request_id,),
        )
        return [
            StoredSample(r["text"], r["thoughts"], r["answer"], bool(r["correct"]), r["score"],
                         r["completion_tokens"], r["finish_reason"])
            for r in rows
        ]  # fmt: skip

    def trees(self) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
        """(model, problem, kind) → a run's inner results (`Result.to_dict()` each), where it had any."""
        if not self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'trees'").fetchone():
            return {}  # a store from before trees (opened read-only)
        rows = self.db.execute(
            "SELECT r.model, r.problem_id, r.kind, t.children FROM trees t"
            " JOIN requests r ON r.id = t.request_id"
        )
        return {(r["model"], r["problem_id"], r["kind"]): json.loads(r["children"]) for r in rows}

    def all_samples(self) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self.db.execute(
                "SELECT r.model, r.problem_id, r.kind, s.* FROM samples s"
                " JOIN requests r ON r.id = s.request_id ORDER BY r.id, s.idx"
            )
        ]
