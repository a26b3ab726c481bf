"""Benchmark: adaptive@16 against sc@16 from one 16-sample pool: its accuracy and the samples it draws.

The target (issue 12): adaptive@16 reaches sc@16's accuracy, within sc@16's 95% interval, with at
most 40% of its mean samples, on GSM8K from a 16-sample pool. Both points come from the same pool in
the same run, so the ratio of mean samples is the figure to read; sc@16 draws 16 on every problem.

    python benchmarks/adaptive.py out/gsm8k --json   # a stored study with sc and adaptive, pool of 16
    python benchmarks/adaptive.py --json             # no study: a synthetic pool, said in `source`

A stored study is read from its summary.json (each model with both points is reported). Without one,
a synthetic suite stands in: each problem's chance of a correct sample is drawn from Beta(0.7, 0.5)
(many easy problems, a tail of hopeless ones, pass@1 ≈ 0.58), 3% of samples carry no answer, and wrong
answers fall into 1–6 groups of uneven size; both points are estimated from its pool with the
study's estimators (maj@k for sc, the replay for adaptive), and the seconds each estimator took are
given with their ratio. Synthetic figures show the estimator works and what the rule does on such a
pool, not what a model does on GSM8K.

prints {"source", "points": [{"model", "adaptive": {"accuracy", "ci_low", "ci_high", "mean_samples"},
"sc": {...}, "samples_ratio", "within_sc_interval", "target_met"}], ...}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ponder.lab import intervals
from ponder.lab.estimators import majority_curve
from ponder.lab.study.summary import Row, Summary
from ponder.strategies.adaptive import BATCH, THRESHOLD, estimate
from ponder.strategies.pooling import PoolView

TARGET_RATIO = 0.40


def synthetic(problems: int, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(labels, correct) for a synthetic suite: label 0 is the correct answer, -1 no answer."""
    rng = np.random.default_rng(seed)
    shape = (problems, samples)
    chance = rng.beta(0.7, 0.5, size=(problems, 1))
    right = rng.random(shape) < chance
    groups = rng.integers(1, 7, size=problems)
    shares = rng.dirichlet(np.ones(6), size=problems) * (np.arange(6)[None, :] < groups[:, None])
    cumulative = np.cumsum(shares / shares.sum(axis=1, keepdims=True), axis=1)
    wrong = 1 + (rng.random(shape)[:, :, None] > cumulative[:, None, :]).sum(axis=2)
    labels = np.where(right, 0, np.minimum(wrong, groups[:, None]))
    labels = np.where(rng.random(shape) < 0.03, -1, labels).astype(np.int64)
    return labels, labels == 0


def point(accuracy: float, low: float, high: float, samples: float) -> dict[str, float]:
    return {"accuracy": accuracy, "ci_low": low, "ci_high": high, "mean_samples": samples}


def compare(model: str, adaptive: dict[str, float], sc: dict[str, float]) -> dict[str, Any]:
    ratio = adaptive["mean_samples"] / sc["mean_samples"]
    within = sc["ci_low"] <= adaptive["accuracy"] <= sc["ci_high"]
    return {
        "model": model,
        "adaptive": adaptive,
        "sc": sc,
        "samples_ratio": ratio,
        "within_sc_interval": within,
        "target_met": within and ratio <= TARGET_RATIO,
    }


def from_study(folder: Path, budget: int, name: str) -> dict[str, Any]:
    summary = Summary.load(folder / "summary.json")
    rows: dict[tuple[str, str, int], Row] = {(r.model, r.strategy, r.budget): r for r in summary.rows}
    points = []
    for model in dict.fromkeys(r.model for r in summary.rows):
        ada, sc = rows.get((model, name, budget)), rows.get((model, "sc", budget))
        if ada is None or sc is None:
            continue
        samples = ada.mean_samples if ada.mean_samples is not None else float(budget)
        points.append(
            compare(
                model,
                point(ada.accuracy, ada.ci_low, ada.ci_high, samples),
                point(sc.accuracy, sc.ci_low, sc.ci_high, float(budget)),
            )
        )
    if not points:
        sys.exit(f"{folder}: no model has both {name}@{budget} and sc@{budget}: study them from one pool")
    return {"source": f"study {folder}", "problems": summary.provenance.problems, "points": points}


def from_synthetic(problems: int, budget: int, batch: int, threshold: float, seed: int) -> dict[str, Any]:
    labels, correct = synthetic(problems, budget, seed)
    view = PoolView(correct, labels, np.full(labels.shape, -np.inf), labels >= 0, seed=seed)
    start = time.perf_counter()
    majority = majority_curve(labels, correct, [budget], seed=seed)
    majority_seconds = time.perf_counter() - start
    start = time.perf_counter()
    adaptive = estimate(view, [budget], batch=batch, threshold=threshold)
    adaptive_seconds = time.perf_counter() - start
    assert adaptive.samples is not None
    sc = intervals.mean_interval(majority.values[:, 0])
    ada = intervals.mean_interval(adaptive.values[:, 0])
    return {
        "source": "synthetic pool (no study given): not a model's figures",
        "problems": problems,
        "pass_at_1": float(correct.mean()),
        "points": [
            compare(
                "synthetic",
                point(ada.estimate, ada.low, ada.high, float(adaptive.samples[:, 0].mean())),
                point(sc.estimate, sc.low, sc.high, float(budget)),
            )
        ],
        "adaptive_mc_error": adaptive.info["mc_error"][str(budget)],
        "adaptive_estimator_seconds": adaptive_seconds,
        "majority_estimator_seconds": majority_seconds,
        "estimator_seconds_ratio": adaptive_seconds / max(majority_seconds, 1e-9),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", nargs="?", type=Path, help="a stored study's folder (omit: a synthetic pool)")
    ap.add_argument("--budget", type=int, default=16)
    ap.add_argument("--name", default="adaptive", help="the adaptive row's strategy, e.g. adaptive:batch=1")
    ap.add_argument("--problems", type=int, default=1319, help="synthetic problems (GSM8K's test set: 1319)")
    ap.add_argument("--batch", type=int, default=BATCH, help="synthetic: the rule's batch")
    ap.add_argument("--threshold", type=float, default=THRESHOLD, help="synthetic: the rule's threshold")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    if args.study is not None:
        report = from_study(args.study, args.budget, args.name)
    else:
        report = from_synthetic(args.problems, args.budget, args.batch, args.threshold, args.seed)
    if args.json:
        print(json.dumps(report))
        return
    print(f"{report['source']}, {report['problems']} problems, budget {args.budget}")
    for p in report["points"]:
        a, s = p["adaptive"], p["sc"]
        print(
            f"{p['model']}: adaptive {a['accuracy']:.3f} with {a['mean_samples']:.2f} samples; "
            f"sc {s['accuracy']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}] with {s['mean_samples']:.0f}: "
            f"samples ratio {p['samples_ratio']:.2f} (target ≤ {TARGET_RATIO:.2f}), "
            f"{'within' if p['within_sc_interval'] else 'outside'} sc's interval: "
            f"target {'met' if p['target_met'] else 'not met'}"
        )
    if "estimator_seconds_ratio" in report:
        print(
            f"estimators: replay {report['adaptive_estimator_seconds']:.2f} s, "
            f"maj@k {report['majority_estimator_seconds']:.2f} s ({report['estimator_seconds_ratio']:.1f}×)"
        )


if __name__ == "__main__":
    main()
