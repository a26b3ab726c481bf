"""Statistics over problems: the coverage law, the Pareto frontier, and a seeded bootstrap.

The estimators that turn one pool of samples into every budget live in `ponder.lab.estimators`; this
module is what comes after: the fitted coverage law and the compute-optimal frontier. Intervals live
in `ponder.lab.intervals` (re-exported here); the percentile bootstrap stays for benchmarks and
diagnostics, never for a reported interval (it undercovers at 20 problems).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from ponder.lab.intervals import Z95 as Z95
from ponder.lab.intervals import Interval as Interval
from ponder.lab.intervals import wilson as wilson

FloatArray = npt.NDArray[np.float64]
_CHUNK_ELEMENTS = 2_000_000  # bounds the (resamples, problems) index matrix of the bootstrap

MIN_LAW_POINTS = 3  # two points always fit a two-parameter law exactly: no fit below three


@dataclass(frozen=True)
class CoverageLaw:
    """coverage(k) ≈ exp(a·k^b) (Large Language Monkeys), fitted by least squares on log(−log c).

    r2 is that of the linearised fit, which is near 1 whether the law holds or not (a third of the
    problems unsolvable still gives ≈ 0.996), so the fit also reports what can fail: the points it
    used, its residuals in coverage space (observed − fitted), and a held-out check, the law fitted
    on every k < n predicting coverage at k = n.
    """

    a: float
    b: float
    r2: float
    points: int
    ks: tuple[float, ...] = ()
    residuals: tuple[float, ...] = ()  # coverage space, one per k used
    holdout_k: float | None = None
    holdout_predicted: float | None = None
    holdout_observed: float | None = None

    def predict(self, k: float) -> float:
        """Coverage at k samples: the one place the law is evaluated (fit, report, summary)."""
        return math.exp(self.a * k**self.b)

    @property
    def holdout_error(self) -> float | None:
        """Predicted − observed coverage at the held-out k (None without a held-out check)."""
        if self.holdout_predicted is None or self.holdout_observed is None:
            return None
        return self.holdout_predicted - self.holdout_observed

    @property
    def max_abs_residual(self) -> float:
        return max((abs(r) for r in self.residuals), default=0.0)


def _fit(k: FloatArray, c: FloatArray) -> tuple[float, float, float] | None:
    use = (k > 0) & (c > 0) & (c < 1) & np.isfinite(k) & np.isfinite(c)
    if use.sum() < MIN_LAW_POINTS:
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
    return -math.exp(intercept), b, r2


def fit_coverage_law(ks: Sequence[float], coverage: Sequence[float]) -> CoverageLaw | None:
    """Fit over the points with k > 0 and 0 < c < 1 (coverage 0 or 1 has no finite log(−log c));
    None when fewer than three usable points (or all at one k) remain. The held-out check refits
    without the largest k and needs three usable points below it."""
    k = np.asarray(ks, dtype=np.float64)
    c = np.asarray(coverage, dtype=np.float64)
    if k.shape != c.shape or k.ndim != 1:
        raise ValueError("ks and coverage must be 1-D and of equal length")
    fitted = _fit(k, c)
    if fitted is None:
        return None
    a, b, r2 = fitted
    use = (k > 0) & (c > 0) & (c < 1) & np.isfinite(k) & np.isfinite(c)
    used = k[use]
    law = CoverageLaw(a=a, b=b, r2=r2, points=int(use.sum()), ks=tuple(map(float, used)))
    residuals = tuple(float(o - law.predict(kk)) for kk, o in zip(used, c[use], strict=True))
    law = replace(law, residuals=residuals)
    top = float(k.max())
    below = k < top
    early = _fit(k[below], c[below])
    if early is None:
        return law
    ea, eb, er2 = early
    held_out = CoverageLaw(a=ea, b=eb, r2=er2, points=int((use & below).sum()))
    observed = float(c[k == top][0])
    return replace(law, holdout_k=top, holdout_predicted=held_out.predict(top), holdout_observed=observed)


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
