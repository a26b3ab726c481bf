"""Statistics over problems: Wilson and bootstrap intervals, the coverage law, the Pareto frontier.

The estimators that turn one pool of samples into every budget live in `ponder.lab.estimators`; this
module is what comes after: intervals over problems (bootstrap resamples are seeded, so a study's
summary is a function of its store), the fitted coverage law, and the compute-optimal frontier.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
_CHUNK_ELEMENTS = 2_000_000  # bounds the (resamples, problems) index matrix of the bootstrap

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson(successes: int, trials: int, z: float = Z95) -> Interval:
    """The Wilson score interval for successes/trials (sound at 0, 1 and small n)."""
    if trials <= 0:
        return Interval(float("nan"), 0.0, 1.0)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class CoverageLaw:
    """coverage(k) ≈ exp(a·k^b) (Large Language Monkeys); r2 is that of the log(-log c) linear fit."""

    a: float
    b: float
    r2: float
    points: int

    def predict(self, k: float) -> float:
        return math.exp(self.a * k**self.b)


def fit_coverage_law(ks: Sequence[float], coverage: Sequence[float]) -> CoverageLaw | None:
    """Least squares of log(-log c) = log(-a) + b·log k over the points with k > 0 and 0 < c < 1.

    Coverage 0 or 1 has no finite log(-log c), so those points are left out; None when fewer than two
    usable points (or all at one k) remain.
    """
    k = np.asarray(ks, dtype=np.float64)
    c = np.asarray(coverage, dtype=np.float64)
    if k.shape != c.shape or k.ndim != 1:
        raise ValueError("ks and coverage must be 1-D and of equal length")
    use = (k > 0) & (c > 0) & (c < 1) & np.isfinite(k) & np.isfinite(c)
    if use.sum() < 2:
        return None
    x = np.log(k[use])
    y = np.log(-np.log(c[use]))
    dx = x - x.mean()
    sxx = float(dx @ dx)
    if sxx == 0.0:
        return None
    b = float(dx @ (y - y.mean())) / sxx
    intercept = float(y.mean()) - b * float(x.mean())
    residual = y - (intercept + b * x)
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(residual @ residual) / total if total > 0 else 1.0
    return CoverageLaw(a=-math.exp(intercept), b=b, r2=r2, points=int(use.sum()))


def _bootstrap_means(values: FloatArray, resamples: int, seed: int) -> FloatArray:
    rng = np.random.default_rng(seed)
    size = values.size
    means = np.empty(resamples, dtype=np.float64)
    # Chunks keep the (resamples, problems) index matrix bounded; the chunking depends only on the
    # sizes, so a seed still fixes the result.
    chunk = max(1, _CHUNK_ELEMENTS // size)
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, size, size=(stop - start, size))
        means[start:stop] = values[idx].mean(axis=1)
    return means


def bootstrap_ci(
    per_problem: npt.ArrayLike, *, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, low, high): the mean over problems with a seeded 95% percentile bootstrap interval."""
    values = np.asarray(per_problem, dtype=np.float64).reshape(-1)
    if values.size == 0 or resamples < 1:
        raise ValueError("need at least one problem and one resample")
    low, high = np.percentile(_bootstrap_means(values, resamples, seed), [2.5, 97.5])
    return float(values.mean()), float(low), float(high)


def paired_bootstrap_diff(
    a: npt.ArrayLike, b: npt.ArrayLike, *, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """(mean of a-b, low, high) over paired problems; a and b are resampled by the same indices."""
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    y = np.asarray(b, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError("paired samples must be of equal length")
    return bootstrap_ci(x - y, resamples=resamples, seed=seed)


def pareto_frontier(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the (cost, accuracy) points no other point dominates, by cost (then index).

    A point dominates another when its cost is ≤ and its accuracy ≥, one of them strictly; so equal
    points do not dominate each other and both stay.
    """
    pts = [(float(c), float(a)) for c, a in points]
    if any(math.isnan(c) or math.isnan(a) for c, a in pts):
        raise ValueError("points contain NaN")
    order = sorted(range(len(pts)), key=lambda i: (pts[i][0], -pts[i][1], i))
    frontier: list[int] = []
    best_cheaper = -math.inf  # the best accuracy at a strictly lower cost
    pos = 0
    while pos < len(order):
        cost = pts[order[pos]][0]
        end = pos
        while end < len(order) and pts[order[end]][0] == cost:
            end += 1
        top = pts[order[pos]][1]
        if top > best_cheaper:
            frontier.extend(i for i in order[pos:end] if pts[i][1] == top)
            best_cheaper = top
        pos = end
    return frontier
