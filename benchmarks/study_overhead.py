"""Benchmark: a study's own overhead, everything but time inside the model, against its wall time.

Runs a small real study (default: smollm2-135m, arithmetic@1) and compares, in the same run:
- `wall`: the whole `run_study` call, outputs and report included;
- `model`: the time inside the model, summed from the recorded requests (what the ledger saw);
- `load`: loading the model into the engine (reported apart: it is the engine's, not ponder's).
overhead = (wall − model − load) / wall, target under 5%.

    python benchmarks/study_overhead.py --json
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from ponder.backends.base import Backend
from ponder.backends.factory import BackendOptions, open_backend
from ponder.lab.study import StudyConfig, run_study
from ponder.models.resolve import ModelRef
from ponder.models.resolve import parse as parse_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--suite", default="arithmetic@1")
    ap.add_argument("--problems", type=int, default=12)
    ap.add_argument("--max-n", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    loads: list[float] = []

    def timed_factory(model: str, config: StudyConfig) -> tuple[Backend, ModelRef]:
        t0 = time.perf_counter()
        ref = parse_model(model)
        options = BackendOptions(threads=config.threads, ctx=config.ctx, base_url=config.base_url)
        backend = open_backend(ref, options, slots=max(1, config.pool_size(model)))
        loads.append(time.perf_counter() - t0)
        return backend, ref

    with tempfile.TemporaryDirectory() as tmp:
        config = StudyConfig(
            models=[args.model],
            suite=args.suite,
            strategies=["cot", "sc", "bon", "coverage"],
            max_n=args.max_n,
            problems=args.problems,
            max_tokens=args.max_tokens,
            out=str(Path(tmp) / "study"),
        )
        t0 = time.perf_counter()
        run_study(config, backend_factory=timed_factory, quiet=True)
        wall = time.perf_counter() - t0
        with sqlite3.connect(Path(config.out) / "study.sqlite") as db:
            model, requests = db.execute("SELECT sum(wall_seconds), count(*) FROM requests").fetchone()
    load = sum(loads)
    report = {
        "overhead": (wall - model - load) / wall,
        "wall_seconds": wall,
        "model_seconds": model,
        "load_seconds": load,
        "requests": requests,
        "setup": vars(args),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"study overhead: {100 * report['overhead']:.1f}% of {wall:.1f}s ({requests} requests)")


if __name__ == "__main__":
    main()
