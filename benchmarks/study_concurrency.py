"""Benchmark: a study's completion tokens per second on the embedded engine, by requests in flight.

Runs the same small real study (default: smollm2-135m, arithmetic@2, `cot,sc,coverage` up to k = 4,
no timing requests) at each `--concurrency` level, alternating the levels (order reversed every
other repeat) so drift in the machine's load falls on all of them. Each run opens its own engine
with the study's own session (slots: concurrency × the largest request, at most 16) and runs the
study's driver: requests, oracle and saves, as `ponder study` does.

tokens/s = completion tokens recorded by the study ÷ the wall time of its work (the engine's load and
the outputs, the same at every level, are left out); ratios are against the first level within the
same run: trust them over the absolute figures.

A shared machine skews the figures: on 2 cores one other busy process halves a run's rate. Each run
records `others`, the share of the machine's CPU time that other processes used while it ran
(/proc/stat's busy time less this process's own); the medians are taken over the quiet runs
(others < `--quiet`, default 10%) where a level has any, and the report says how many.

    python benchmarks/study_concurrency.py --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ponder.lab.study import StudyConfig
from ponder.lab.study.drive import drive
from ponder.lab.study.runner import open_session, open_study, plan
from ponder.tasks import load


def one_run(args: argparse.Namespace, concurrency: int, folder: Path) -> dict[str, float]:
    """The study's work on a fresh engine, timed from the first request to the last save (the
    engine's load and the outputs, the same at every level, are left out)."""
    config = StudyConfig(
        models=[args.model],
        suite=args.suite,
        strategies=["cot", "sc", "coverage"],
        max_n=args.max_n,
        problems=args.problems,
        max_tokens=args.max_tokens,
        timing_problems=0,
        threads=args.threads,
        concurrency=concurrency,
        out=str(folder / f"c{concurrency}-{time.monotonic_ns()}"),
    )
    config.check()
    items = load(config.suite, config.problems, seed=config.seed)
    store = open_study(config, resume=False)
    try:
        store.initialise(items, {"identity": config.identity()})
        work = plan(config, items, set())
        with open_session(args.model, config) as session:
            busy0, mine0, t0 = machine_busy(), own_cpu(), time.perf_counter()
            asyncio.run(drive(work, session, config, store))
            wall = time.perf_counter() - t0
            busy, mine = machine_busy(), own_cpu()
        tokens = sum(r["completion_tokens"] for r in store.requests())
    finally:
        store.close()
    others = None
    if busy is not None and busy0 is not None:
        others = max(0.0, (busy - busy0) - (mine - mine0)) / (wall * (os.cpu_count() or 1))
    return {"tokens_per_second": tokens / wall, "seconds": wall, "tokens": tokens, "others": others}


def machine_busy() -> float | None:
    """CPU seconds the whole machine has been busy (Linux's /proc/stat), None elsewhere."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def spread(runs: list[dict[str, Any]]) -> list[float]:
    rates = [r["tokens_per_second"] for r in runs]
    return [min(rates), max(rates)]


def quiet_runs(runs: list[dict[str, Any]], limit: float) -> list[dict[str, Any]]:
    return [r for r in runs if r["others"] is not None and r["others"] < limit]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--suite", default="arithmetic@2")
    ap.add_argument("--problems", type=int, default=6)
    ap.add_argument("--max-n", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--concurrency", default="1,2,4", help="levels, comma-separated; the first is the baseline"
    )
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--quiet", type=float, default=0.1, help="most CPU share of other processes in a run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]

    runs: dict[int, list[dict[str, Any]]] = {c: [] for c in levels}
    with tempfile.TemporaryDirectory() as tmp:
        one_run(args, levels[0], Path(tmp))  # warm-up: file cache, first engine load
        for repeat in range(args.repeats):
            for c in levels if repeat % 2 == 0 else reversed(levels):
                runs[c].append(one_run(args, c, Path(tmp)))
    quiet = {c: quiet_runs(runs[c], args.quiet) for c in levels}
    kept = {c: quiet[c] or runs[c] for c in levels}  # a level without a quiet run uses them all
    rates = {c: statistics.median(r["tokens_per_second"] for r in kept[c]) for c in levels}
    base = rates[levels[0]]
    report = {
        "tokens_per_second": {str(c): rates[c] for c in levels},
        "spread": {str(c): spread(kept[c]) for c in levels},
        "quiet_runs": {str(c): f"{len(quiet[c])} of {len(runs[c])}" for c in levels},
        "runs": {str(c): runs[c] for c in levels},
        "ratio_vs_first": {str(c): rates[c] / base for c in levels},
        "best": max(levels, key=lambda c: rates[c]),
        "tokens": {str(c): statistics.median(r["tokens"] for r in kept[c]) for c in levels},
        "setup": {**vars(args), "levels": levels},
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for c in levels:
            print(f"concurrency {c}: {rates[c]:.1f} tokens/s ({rates[c] / base:.2f}x)")


if __name__ == "__main__":
    main()
