"""95% intervals for a mean score over problems, each problem's score a value in [0, 1].

A score (the share of a writing task's constraints kept, a judge's grade) is not a proportion:
its values sit anywhere in [0, 1], often clustered (most texts keep 3 or 4 of 5 rules), so the
binomial bound p(1−p) that `intervals.py` takes for accuracies is far above their spread, and a
Wilson interval on their mean would say nothing about them. What is used instead:

- **one mean**: Student's t interval on the per-problem values with one pseudo-problem at each end
  of the range (a 0 and a 1) added, N = P + 2 values, N − 1 degrees of freedom; it is widened to
  hold the plain mean, which stays the estimate. The pseudo-problems are Agresti and Coull's
  "add a success and a failure" carried over to bounded values: they keep the interval from
  collapsing where every problem scored alike (the plain t interval then has width 0) and hold it
  open toward the bound that a skewed sample has not reached yet;
- **a paired difference** (a − b on the same problems, each difference in [−1, 1]): the same on
  the differences, with one pseudo-problem at −1 and one at +1.

Coverage, simulated (20,000 studies each) at every even number of problems from 12 to 30 on 67
distributions of values in [0, 1] (Bernoulli 0.02–0.98, binomial grades k/L for L = 2…8, beta
shapes, a spike with 3–20% of its mass moved to a bound, pools of 8 samples' pass@1, grades mostly
1): this interval covered 98–99% on average and 93.4% at the worst (two-valued scores at p = 0.5
and 24 problems: the lattice effect every binary interval shows); the plain t interval 77–88% on
average and 22% at the worst (p = 0.98, 12 problems: every problem scored 1, width 0). It is
narrower than a Wilson interval on the mean by 14–28% on average and by up to two thirds on
clustered grades, and at most 22% wider (near-binary values at an extreme). The percentile
bootstrap, BCa and quasi-score intervals were measured for accuracies at 20 problems and covered
66–91% at the extremes (`intervals.py`): not used. The paired interval covered at least 95.7% on
22 distributions of differences at 12–30 problems (ternary −1/0/+1, correlated grades, two
estimators of one pool), conservative where the differences are small: the price of holding 95% at
this size without assuming a distribution. `tests/test_scores.py` rechecks coverage on a smaller
grid.

No interval here has zero width: the pseudo-problems give every sample a spread.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from ponder.lab.intervals import Interval

T_MEAN = "t on the mean, one pseudo-problem at 0 and one at 1"
T_PAIRED = "paired t on the differences, one pseudo-problem at -1 and one at +1"
LEVEL = 0.95


def t_cdf_two_sided(t: float, df: int) -> float:
    """P(|T| ≤ t) for Student's t with an integer number of degrees of freedom, exactly
    (Abramowitz and Stegun 26.7.3 and 26.7.4: finite sums in θ = atan(t/√df))."""
    if df < 1:
        raise ValueError("df must be at least 1")
    theta = math.atan(abs(t) / math.sqrt(df))
    s, c2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2:  # odd: (2/π)(θ + sin θ (cos θ + 2/3 cos³θ + … + cos^(df−2) θ terms))
        term = total = math.cos(theta) if df > 1 else 0.0
        for j in range(1, (df - 1) // 2):
            term *= c2 * (2 * j) / (2 * j + 1)
            total += term
        return min(1.0, 2 / math.pi * (theta + s * total))
    term = total = 1.0  # even: sin θ (1 + 1/2 cos²θ + 1·3/(2·4) cos⁴θ + … + cos^(df−2) θ terms)
    for j in range(df // 2 - 1):
        term *= c2 * (2 * j + 1) / (2 * j + 2)
        total += term
    return min(1.0, s * total)


@lru_cache(maxsize=256)
def t_quantile(df: int, level: float = LEVEL) -> float:
    """The t such that P(|T| ≤ t) = level, by bisection on the exact distribution function."""
    low, high = 0.0, 1.0
    while t_cdf_two_sided(high, df) < level:
        high *= 2
    for _ in range(80):
        mid = (low + high) / 2
        low, high = (mid, high) if t_cdf_two_sided(mid, df) < level else (low, mid)
    return (low + high) / 2


def _checked(values: npt.ArrayLike, low: float, high: float) -> npt.NDArray[np.float64]:
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ValueError("need at least one problem")
    if not np.all(np.isfinite(x)) or x.min() < low - 1e-9 or x.max() > high + 1e-9:
        raise ValueError(f"values must lie in [{low:g}, {high:g}]")
    return np.clip(x, low, high)


def _padded(x: npt.NDArray[np.float64], low: float, high: float) -> tuple[float, float]:
    """The t interval of x with one pseudo-value at `low` and one at `high`, holding x's mean."""
    padded = np.concatenate([x, [low, high]])
    n = padded.size
    centre = float(padded.mean())
    half = t_quantile(n - 1) * float(padded.std(ddof=1)) / math.sqrt(n)
    mean = float(x.mean())
    return max(low, min(centre - half, mean)), min(high, max(centre + half, mean))


def score_interval(values: npt.ArrayLike) -> Interval:
    """The mean of per-problem scores in [0, 1], with its 95% interval (module docstring)."""
    x = _checked(values, 0.0, 1.0)
    low, high = _padded(x, 0.0, 1.0)
    return Interval(float(x.mean()), low, high, T_MEAN)


def paired_score_difference(a: npt.ArrayLike, b: npt.ArrayLike) -> Interval:
    """mean(a) − mean(b) over paired problems, scores in [0, 1], with its 95% interval."""
    x, y = _checked(a, 0.0, 1.0), _checked(b, 0.0, 1.0)
    if x.shape != y.shape:
        raise ValueError("paired samples must be of equal length")
    d = x - y
    low, high = _padded(d, -1.0, 1.0)
    return Interval(float(d.mean()), low, high, T_PAIRED)
