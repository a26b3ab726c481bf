"""95% intervals over problems that hold their coverage at the sizes ponder studies (20 problems).

- A binary row (each problem right or wrong: `cot`, `direct`) gets the Wilson score interval.
- A fractional row (each problem's value an expectation over a pool: maj@k, bon@k, pass@k) gets the
  same score interval on its mean, with the binomial variance p(1−p). A value in [0, 1] with mean p
  has variance at most p(1−p), so this is conservative: simulated at 20 problems and true accuracies
  0.05–0.95 (tests/test_intervals.py) it covers at least its binary coverage. The percentile
  bootstrap covers 66% at 20/20 when the truth is 0.95; BCa 88–90% at the extremes; a dispersion
  estimated from 20 values (a quasi-score interval) 85–91% where the values are skewed. None of
  them holds 95% at this size, so the study does not use them.
- A difference of two paired rows gets MOVER (Zou & Donner 2008): each row's own interval, combined
  through the correlation of the problems' values, taken against the same variance bounds the
  intervals use (so it never exceeds Pearson's r). With two binary rows it is Newcombe's paired
  score interval (1998, method 10), φ continuity-corrected as there.
- A point chosen as the best of M is given the Bonferroni quantile z(1 − α/2M), so the interval of
  the chosen one holds its coverage whichever was chosen.

No interval has zero width: Wilson's never does, and a correlation of exactly 1 (two identical rows)
is shrunk by (P−1)/P.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Z95 = 1.959963984540054

WILSON = "wilson"
WILSON_MEAN = "wilson on the mean (conservative for fractional values)"
NEWCOMBE = "newcombe paired score"
MOVER = "mover (paired)"


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    method: str = WILSON


def _z(alpha: float, tests: int = 1) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - alpha / (2 * tests))


def bonferroni_z(tests: int, alpha: float = 0.05) -> float:
    """The normal quantile that keeps a two-sided 1−α coverage over `tests` intervals at once."""
    if tests < 1:
        raise ValueError("tests must be at least 1")
    return _z(alpha, tests)


def _score(p: float, trials: float, z: float) -> tuple[float, float]:
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(max(p * (1 - p), 0.0) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson(successes: int | float, trials: int, z: float = Z95) -> Interval:
    """The Wilson score interval for successes/trials (sound at 0, 1 and small n)."""
    if trials <= 0:
        return Interval(float("nan"), 0.0, 1.0)
    p = successes / trials
    low, high = _score(p, trials, z)
    return Interval(p, low, high, WILSON)


def _values(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ValueError("need at least one problem")
    # Estimators sum products of ratios: 1 + 2e-16 is a probability of 1, not an error.
    if not np.all(np.isfinite(x)) or x.min() < -1e-9 or x.max() > 1 + 1e-9:
        raise ValueError("values must lie in [0, 1]")
    return np.clip(x, 0.0, 1.0)


def is_binary(values: npt.ArrayLike) -> bool:
    x = np.asarray(values, dtype=np.float64)
    return bool(np.all((x == 0) | (x == 1)))


def mean_interval(values: npt.ArrayLike, z: float = Z95) -> Interval:
    """The mean over problems with its score interval (Wilson; on the mean for fractional values)."""
    x = _values(values)
    n = x.size
    p = float(x.mean())
    if is_binary(x):
        return wilson(float(x.sum()), n, z)
    low, high = _score(p, n, z)
    return Interval(p, low, high, WILSON_MEAN)


def _correlation(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    n = a.size
    if is_binary(a) and is_binary(b):
        # Newcombe's φ for the 2×2 table, continuity-corrected toward 0.
        both = float(np.sum((a == 1) & (b == 1)))
        only_a = float(np.sum((a == 1) & (b == 0)))
        only_b = float(np.sum((a == 0) & (b == 1)))
        neither = float(np.sum((a == 0) & (b == 0)))
        denom = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
        if denom == 0:
            return 0.0
        cross = both * neither - only_a * only_b
        cross = max(cross - n / 2, 0.0) if cross > 0 else cross
        return cross / math.sqrt(denom)
    # Each row's interval assumes the bound p(1−p) on its variance, so the correlation must be taken
    # against the same bounds: cov / √(pa(1−pa)·pb(1−pb)), never above Pearson's r. With the
    # actual r, two rows of one pool (sc@1 against sc@8) undercovered (88–91% at 100 problems).
    pa, pb = float(a.mean()), float(b.mean())
    bound = pa * (1 - pa) * pb * (1 - pb)
    if bound <= 0:
        return 0.0
    cov = float(np.mean((a - pa) * (b - pb)))
    return max(-1.0, min(1.0, cov / math.sqrt(bound))) * (n - 1) / n


def paired_difference(a: npt.ArrayLike, b: npt.ArrayLike, z: float = Z95) -> Interval:
    """mean(a) − mean(b) over paired problems, with its MOVER interval (Newcombe's when binary)."""
    x, y = _values(a), _values(b)
    if x.shape != y.shape:
        raise ValueError("paired samples must be of equal length")
    ia, ib = mean_interval(x, z), mean_interval(y, z)
    r = _correlation(x, y)
    d = ia.estimate - ib.estimate
    down_a, up_a = ia.estimate - ia.low, ia.high - ia.estimate
    down_b, up_b = ib.estimate - ib.low, ib.high - ib.estimate
    low = d - math.sqrt(max(down_a**2 + up_b**2 - 2 * r * down_a * up_b, 0.0))
    high = d + math.sqrt(max(up_a**2 + down_b**2 - 2 * r * up_a * down_b, 0.0))
    method = NEWCOMBE if is_binary(x) and is_binary(y) else MOVER
    return Interval(d, max(-1.0, low), min(1.0, high), method)


def paired_binary_diff(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[float, float, float]:
    """(difference, low, high) of two paired binary rows: Newcombe's paired score interval."""
    i = paired_difference(a, b)
    return i.estimate, i.low, i.high
