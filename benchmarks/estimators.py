"""Benchmark: pass@k, best-of-k and majority@k curves from one pool of samples per problem.

A synthetic suite of 10,000 problems × 256 samples: each problem has a difficulty (its chance of a
correct sample, Beta(0.6, 0.6) so both easy and hopeless problems occur), about 5% of samples carry no
answer, the wrong answers fall into 1–5 groups of uneven size, and scores are noisy but lean towards
correct samples, with a few unscorable (-inf). Every curve is computed at the budgets 1, 2, 4, …, 256.

    python benchmarks/estimators.py --json
prints {"pass_at_k_seconds", "best_of_k_seconds", "majority_seconds", "majority_methods",
"majority_max_mc_error", "problems", "samples", ...}. Targets on a 2-core machine: pass@k and
best-of-k under 2 s together, majority@k under 30 s.

majority@k uses `--draws` Monte Carlo subsets per problem where enumeration is too costly (every k
strictly between 1 and 256 here), and sampling is nearly all of its time (≈0.3 ms per problem and
budget at 2000 draws, ≈23 s in all: inside the target, but with little margin on a busy machine). The
benchmark therefore uses 1000 draws (≈12 s): the Monte Carlo error that adds to a mean accuracy is
reported next to the 95% bootstrap half-width over problems and stays far below it (a per-problem
credit in [0, 1] has variance ≤ 1/4, so the added standard error is at most
0.5/sqrt(1000·10,000) = 0.00016, measured ≤ 0.0001, against half-widths of 0.006-0.009; combined in
quadrature it widens the interval by under 0.1%).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from ponder.lab.estimators import best_of_k_curve, majority_curve, pass_at_k_curve
from ponder.lab.stats import bootstrap_ci

BUDGETS = [2**i for i in range(9)]  # 1 .. 256


def synthetic(
    problems: int, samples: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(correct, scores, valid, labels) for a synthetic suite."""
    rng = np.random.default_rng(seed)
    shape = (problems, samples)
    difficulty = rng.beta(0.6, 0.6, size=(problems, 1))
    valid = rng.random(shape) >= 0.05
    correct = (rng.random(shape) < difficulty) & valid
    scores = rng.normal(size=shape) + 0.8 * correct
    scores[rng.random(shape) < 0.02] = -np.inf
    # Wrong answers: 1..5 groups per problem with uneven (Dirichlet) shares, ids 1..5; 0 is correct.
    groups = rng.integers(1, 6, size=problems)
    shares = rng.dirichlet(np.ones(5), size=problems) * (np.arange(5)[None, :] < groups[:, None])
    cumulative = np.cumsum(shares / shares.sum(axis=1, keepdims=True), axis=1)
    wrong_id = 1 + (rng.random(shape)[:, :, None] > cumulative[:, None, :]).sum(axis=2)
    labels = np.where(correct, 0, np.minimum(wrong_id, groups[:, None]))
    labels = np.where(valid, labels, -1).astype(np.int64)
    return correct, scores, valid, labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=10_000)
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    ks = [k for k in BUDGETS if k <= args.samples]
    correct, scores, valid, labels = synthetic(args.problems, args.samples, args.seed)

    start = time.perf_counter()
    pass_curve = pass_at_k_curve(correct, ks)
    pass_seconds = time.perf_counter() - start

    start = time.perf_counter()
    best_curve = best_of_k_curve(scores, correct, ks, valid=valid)
    best_seconds = time.perf_counter() - start

    start = time.perf_counter()
    majority = majority_curve(labels, correct, ks, draws=args.draws, seed=args.seed)
    majority_seconds = time.perf_counter() - start

    # The between-problem uncertainty the Monte Carlo error should be small against.
    half_widths = []
    for j in range(len(ks)):
        _, low, high = bootstrap_ci(majority.values[:, j], resamples=500, seed=args.seed)
        half_widths.append((high - low) / 2)

    report: dict[str, Any] = {
        "problems": args.problems,
        "samples": args.samples,
        "ks": ks,
        "pass_at_k_seconds": pass_seconds,
        "best_of_k_seconds": best_seconds,
        "majority_seconds": majority_seconds,
        "majority_methods": dict(zip(map(str, ks), majority.method, strict=True)),
        "majority_max_mc_error": float(majority.mc_error.max()),
        "majority_min_bootstrap_half_width": float(min(half_widths)),
        "pass_at_k": dict(zip(map(str, ks), pass_curve.mean(axis=0).round(4).tolist(), strict=True)),
        "best_of_k": dict(zip(map(str, ks), best_curve.mean(axis=0).round(4).tolist(), strict=True)),
        "majority_at_k": dict(zip(map(str, ks), majority.values.mean(axis=0).round(4).tolist(), strict=True)),
    }
    if args.json:
        print(json.dumps(report))
        return
    print(f"{args.problems} problems × {args.samples} samples, budgets {ks}")
    print(f"pass@k curve   {pass_seconds:8.3f} s")
    print(f"best-of-k curve{best_seconds:8.3f} s")
    print(f"majority curve {majority_seconds:8.3f} s")
    print(f"{'k':>5} {'pass@k':>8} {'bon@k':>8} {'maj@k':>8} {'mc err':>9} {'±95% boot':>10}  method")
    for j, k in enumerate(ks):
        print(
            f"{k:>5} {pass_curve[:, j].mean():8.4f} {best_curve[:, j].mean():8.4f} "
            f"{majority.values[:, j].mean():8.4f} {majority.mc_error[j]:9.2e} {half_widths[j]:10.4f}  "
            f"{majority.method[j]}"
        )


if __name__ == "__main__":
    main()
