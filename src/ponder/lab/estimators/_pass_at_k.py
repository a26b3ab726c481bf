"""pass@k (coverage): the chance a k-subset of the pool holds a correct sample.

Invariant: pass@k is an exact closed form over all k-subsets (no sampling, no big binomials: the
binomial ratios are running products of factors in [0, 1], so nothing overflows). The same table
gives majority@k of a problem whose answered samples are all correct (pass@k with the answered
samples marked).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ponder.lab.estimators._pool import FloatArray, check_budgets


def miss_table(n: int, ks: Sequence[int]) -> FloatArray:
    """T[m, j] = C(m, k_j)/C(n, k_j) for m = 0..n: the chance a k-subset avoids m' = n-m marked items.

    C(m, k)/C(n, k) = prod_{i=m+1..n} (1 - k/i), built as a running product from i = n downwards;
    the factors lie in [0, 1] once clipped (a factor ≤ 0 means m < k: no k-subset fits), so the
    product never overflows or loses precision the way a ratio of huge binomials would.
    """
    i = np.arange(n, 0, -1, dtype=np.float64)  # n, n-1, ..., 1
    k = np.asarray(ks, dtype=np.float64)[None, :]
    factors = np.clip(1.0 - k / i[:, None], 0.0, 1.0)  # row r: the factor for i = n - r
    table = np.ones((n + 1, len(ks)), dtype=np.float64)
    table[:n][::-1] = np.cumprod(factors, axis=0)  # m = n-1-r takes the product down to i = m+1
    return table


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chen et al. (2021): 1 - C(n-c, k)/C(n, k), the chance a k-subset holds a correct sample."""
    if n < 1 or not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need n ≥ 1, 0 ≤ c ≤ n and 1 ≤ k ≤ n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    miss = 1.0
    for i in range(n - c + 1, n + 1):
        miss *= 1.0 - k / i
    return 1.0 - miss


def pass_at_k_curve(correct: npt.ArrayLike, ks: Sequence[int]) -> FloatArray:
    """pass@k for each problem (row of `correct`, shape (problems, n)) and budget: (problems, len(ks))."""
    grid = np.asarray(correct, dtype=bool)
    if grid.ndim != 2 or grid.shape[1] == 0:
        raise ValueError("correct must have shape (problems, n) with n ≥ 1")
    n = grid.shape[1]
    budgets = check_budgets(ks, n)
    wrong = n - grid.sum(axis=1)
    out: FloatArray = 1.0 - miss_table(n, budgets)[wrong]
    return out
