"""Benchmark: how many pool requests a study's store saves per second, against a bare SQLite insert.

A study's driver saves every finished request into its one SQLite file (`StudyStore.save_request`: the
request, its samples, its calls, one transaction, on one writer thread). At scale that is the one
serial step every worker's results pass through. Variants, alternated within each repeat (order
reversed every other repeat), each saving `--requests` requests of `--samples` samples:
- `bare`    a fresh SQLite file with one requests table and one samples table (the sample's text,
            answer, verdict, tokens), one transaction per request: the floor any store pays;
- `store`   a fresh `StudyStore` (its whole schema), `save_request` with the same samples and one
            call record, as the driver saves a pool request;
- `driver`  what the driver's writer thread does per request (`drive.judged`, then the save): one
            verdict lookup per sample, then `save_request` with the answers the store had not
            judged yet (`--distinct` new answers per request) in the same transaction. The
            oracle's own time is left out (GSM8K's is a number comparison).
All use SQLite's defaults (rollback journal, synchronous FULL: one fsync per transaction or more), on
the file system of `--dir` (default: the system's temporary directory). Sample texts are `--chars`
characters (760: the mean sample of the 0.5B model's GSM8K pool in studies/results).

    python benchmarks/store_saves.py --json
prints {"store_saves_per_s", "driver_saves_per_s", "bare_saves_per_s", "ratio_vs_bare",
"driver_ratio_vs_bare", "store_samples_per_s", "verdict_ms", "store_bytes_per_sample", ...}:
medians over the repeats.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import string
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from ponder.lab.study.store import StoredSample, StudyStore
from ponder.types import CallRecord, Usage

BARE_SCHEMA = """
CREATE TABLE requests (id INTEGER PRIMARY KEY AUTOINCREMENT, problem_id TEXT NOT NULL, kind TEXT NOT NULL);
CREATE TABLE samples (request_id INTEGER NOT NULL, idx INTEGER NOT NULL, text TEXT NOT NULL,
    answer TEXT, correct INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
    PRIMARY KEY (request_id, idx));
"""


def samples_for(rng: random.Random, n: int, chars: int, distinct: int) -> list[StoredSample]:
    """n samples whose answers take `distinct` values (each request is a new problem)."""
    letters = string.ascii_lowercase + " " * 6
    return [
        StoredSample("".join(rng.choices(letters, k=chars)), "", str(i % distinct), rng.random() < 0.3,
                     None, chars // 3, "stop")
        for i in range(n)
    ]  # fmt: skip


def time_bare(path: Path, batches: list[list[StoredSample]]) -> float:
    db = sqlite3.connect(path)
    db.executescript(BARE_SCHEMA)
    t0 = time.perf_counter()
    for i, samples in enumerate(batches):
        with db:
            cur = db.execute("INSERT INTO requests (problem_id, kind) VALUES (?, ?)", (f"p{i}", "pool"))
            db.executemany(
                "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?)",
                [(cur.lastrowid, j, s.text, s.answer, int(s.correct), s.completion_tokens)
                 for j, s in enumerate(samples)],
            )  # fmt: skip
    seconds = time.perf_counter() - t0
    db.close()
    return seconds


def time_store(path: Path, batches: list[list[StoredSample]], *, judge: bool = False) -> float:
    store = StudyStore(path)
    store.initialise([], {"bench": True})
    t0 = time.perf_counter()
    for i, samples in enumerate(batches):
        new: dict[str, bool] = {}
        if judge:  # drive.judge, per sample: read the verdict, or compute it once for the save
            for s in samples:
                assert s.answer is not None
                if s.answer not in new and store.verdict(f"p{i}", s.answer) is None:
                    new[s.answer] = s.correct
        tokens = sum(s.completion_tokens for s in samples)
        usage = Usage(calls=1, prompt_tokens=147, completion_tokens=tokens, wall_seconds=1.0)
        call = CallRecord("policy", "m", len(samples), usage, first_prompt_tokens=147)
        store.save_request(model="m", problem_id=f"p{i}", kind="pool", seed=i, usage=usage,
                           samples=samples, calls=[call], verdicts=new)  # fmt: skip
    seconds = time.perf_counter() - t0
    store.close()
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=256, help="samples per request")
    ap.add_argument("--requests", type=int, default=20, help="requests saved per variant and repeat")
    ap.add_argument("--chars", type=int, default=760, help="characters per sample text")
    ap.add_argument("--distinct", type=int, default=64, help="distinct answers per request")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", default=None, help="where the SQLite files go (default: a temporary dir)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    rng = random.Random(0)
    distinct = max(1, min(args.distinct, args.samples))
    batches = [samples_for(rng, args.samples, args.chars, distinct) for _ in range(args.requests)]
    timers: dict[str, Callable[[Path, list[list[StoredSample]]], float]] = {
        "bare": time_bare,
        "store": time_store,
        "driver": partial(time_store, judge=True),
    }
    seconds: dict[str, list[float]] = {name: [] for name in timers}
    sizes: list[float] = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for repeat in range(args.repeats):
            order = list(timers) if repeat % 2 == 0 else list(reversed(timers))
            for name in order:
                path = Path(tmp) / f"{name}-{repeat}.sqlite"
                seconds[name].append(timers[name](path, batches))
                if name == "store":
                    sizes.append(path.stat().st_size / (args.requests * args.samples))
    per_s = {k: [args.requests / s for s in v] for k, v in seconds.items()}
    rate = {k: statistics.median(v) for k, v in per_s.items()}
    # What judging adds to the store's save, per new answer (lookups and rows, no commit of its own).
    pairs = zip(seconds["driver"], seconds["store"], strict=True)
    verdict_ms = statistics.median(1000 * (d - s) / (args.requests * distinct) for d, s in pairs)
    report: dict[str, Any] = {
        "store_saves_per_s": round(rate["store"], 2),
        "driver_saves_per_s": round(rate["driver"], 2),
        "bare_saves_per_s": round(rate["bare"], 2),
        "ratio_vs_bare": round(rate["store"] / rate["bare"], 3),
        "driver_ratio_vs_bare": round(rate["driver"] / rate["bare"], 3),
        "store_samples_per_s": round(rate["store"] * args.samples),
        "verdict_ms": round(verdict_ms, 2),
        "spread_saves_per_s": {k: [round(min(v), 2), round(max(v), 2)] for k, v in per_s.items()},
        "store_bytes_per_sample": round(statistics.median(sizes)),
        "setup": {"samples_per_request": args.samples, "distinct_answers": distinct,
                  "requests": args.requests, "chars": args.chars, "repeats": args.repeats,
                  "dir": args.dir or tempfile.gettempdir()},
    }  # fmt: skip
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
