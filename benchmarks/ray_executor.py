"""Benchmark: a study on Ray against the same study on the local executor, in one run (issue 16).

Two figures:

1. `overhead_ms_per_request`: what Ray adds to each request (scheduling the call on an actor,
   sending the work there and the record back), on a stand-in model that answers at once, so only
   the executors' own work is timed: the same planned requests of `--problems` problems, driven
   and saved by each executor into a fresh store (the actors already started), three rounds
   alternated, the median per request; Ray's less the local one is the overhead.
2. `ratio`: a real study (`--config`, default studies/gsm8k-ray.toml: qwen2.5-coder-0.5b on GSM8K)
   on two Ray workers of one thread each, against the same study on one local worker of two
   threads: wall time on Ray ÷ wall time local. Both studies are kept under `--out`. Also
   reported: the share of requests whose samples are identical (the seeds are; the samples need not
   be, since one thread and two do not sum in the same order) and both accuracies. `--skip-model`
   leaves it out.

    python benchmarks/ray_executor.py --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import ray

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from ponder.lab.study import StudyConfig, run_study, runner
from ponder.lab.study.drive import drive
from ponder.lab.study.ray_executor import ActorPool, drive_on_ray
from ponder.lab.study.store import StudyStore
from ponder.models.resolve import ModelRef
from scripted import SeededBackend

ROOT = Path(__file__).resolve().parents[1]


def stand_in(model: str, config: StudyConfig) -> tuple[SeededBackend, ModelRef]:
    return SeededBackend(model=model), ModelRef(model, "embedded", model, None, 100)


def wall(config: StudyConfig, **kw: Any) -> float:
    t0 = time.perf_counter()
    run_study(config, quiet=True, **kw)
    return time.perf_counter() - t0


def requests(out: Path) -> dict[tuple[str, str], list[str]]:
    with sqlite3.connect(out / "study.sqlite") as db:
        rows = db.execute("SELECT id, problem_id, kind FROM requests").fetchall()
        return {
            (p, k): [t for (t,) in db.execute("SELECT text FROM samples WHERE request_id = ?", (i,))]
            for i, p, k in rows
        }


def overhead(tmp: Path, problems: int) -> dict[str, Any]:
    tmp.mkdir()
    suite = tmp / "qa.jsonl"
    suite.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "question": f"Question {i}?", "answer": "1"}) + "\n"
            for i in range(problems)
        )
    )
    config = StudyConfig(
        models=["stand-in"],
        suite=f"jsonl:{suite}:check=exact",
        strategies=["cot", "sc@4"],
        problems=problems,
        timing_problems=0,
        threads=1,
    )
    items = runner._load_items(config)
    work = runner.plan(config, items, set(), {})

    def fresh(name: str) -> StudyStore:
        store = StudyStore(tmp / f"{name}.sqlite")
        store.initialise(items, {"identity": config.identity()})
        return store

    seconds: dict[str, list[float]] = {"local": [], "ray": []}
    with runner.open_session("stand-in", config, stand_in) as session:
        pool = ActorPool(ray, "stand-in", config, stand_in, largest=4)
        pool.ready()
        for round_ in range(3):  # alternated, so drift in the machine's load falls on both
            store = fresh(f"local{round_}")
            t0 = time.perf_counter()
            asyncio.run(drive(work, session, config, store))
            seconds["local"].append(time.perf_counter() - t0)
            store.close()
            store = fresh(f"ray{round_}")
            t0 = time.perf_counter()
            asyncio.run(drive_on_ray(work, pool, config, store))
            seconds["ray"].append(time.perf_counter() - t0)
            store.close()
        pool.close()
    per = {k: 1000 * statistics.median(v) / len(work) for k, v in seconds.items()}
    return {
        "overhead_ms_per_request": per["ray"] - per["local"],
        "local_ms_per_request": per["local"],
        "ray_ms_per_request": per["ray"],
        "requests": len(work),
    }


def real(args: argparse.Namespace) -> dict[str, Any]:
    on_ray = StudyConfig.from_toml(args.config, out=str(args.out / "ray"))
    local = replace(on_ray, executor="local", workers=1, threads=2, out=str(args.out / "local"))
    seconds = {"ray": wall(on_ray), "local": wall(local)}
    a, b = requests(args.out / "local"), requests(args.out / "ray")
    accuracy = {}
    for name in ("local", "ray"):
        rows = json.loads((args.out / name / "summary.json").read_text())["rows"]
        accuracy[name] = {f"{r['strategy']}@{r['budget']}": r["accuracy"] for r in rows}
    return {
        "ratio": seconds["ray"] / seconds["local"],
        "seconds": seconds,
        "identical_requests": sum(a[k] == b.get(k) for k in a) / len(a),
        "accuracy": accuracy,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=100, help="problems of the stand-in study")
    ap.add_argument("--config", type=Path, default=ROOT / "studies" / "gsm8k-ray.toml")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "ray-benchmark", help="where both studies go")
    ap.add_argument("--skip-model", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not args.skip_model and args.out.exists():
        sys.exit(f"{args.out} exists: remove it, or choose another --out")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.cloudpickle.register_pickle_by_value(sys.modules["scripted"])  # the stand-in, sent to the actors
    try:
        with tempfile.TemporaryDirectory() as tmp:
            report: dict[str, Any] = {
                "setup": {k: str(v) for k, v in vars(args).items()},
                **overhead(Path(tmp) / "o", args.problems),
            }
            if not args.skip_model:
                report |= real(args)
    finally:
        ray.shutdown()
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"Ray adds {report['overhead_ms_per_request']:.2f} ms per request")
    if "ratio" in report:
        print(f"2 Ray workers × 1 thread / 1 local worker × 2 threads: {report['ratio']:.2f}")


if __name__ == "__main__":
    main()
