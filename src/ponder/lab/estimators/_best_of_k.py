"""best-of-k: the accuracy of the subset's top-scored sample, exact over all k-subsets.

Invariants:
- best-of-k is an exact closed form over all k-subsets (no sampling, no big binomials: the binomial
  ratios are running products of factors in [0, 1], so nothing overflows).
- best-of-k ranks samples by the key (valid, score, -index), descending: an answered sample beats an
  unanswered one, a higher score wins, and equal scores go to the earlier sample, as the strategy
  does. That is a total order, so the best of a subset is well defined, and the sample ranked r-th
  (0-based, best first) is the best of a uniform k-subset with probability C(n-1-r, k-1)/C(n, k).
  Scores may be -inf (unscorable); NaN has no place in the order and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ponder.lab.estimators._pool import FloatArray, check_budgets


def _best_weights(n: int, ks: Sequence[int]) -> FloatArray:
    """W[j, r] = C(n-1-r, k_j - 1)/C(n, k_j): the chance rank r is the best of a uniform k_j-subset.

    W[j, 0] = k/n and W[j, r+1]/W[j, r] = (n-r-k)/(n-1-r), a running product of factors in [0, 1).
    """
    k = np.asarray(ks, dtype=np.float64)[:, None]
    weights = np.empty((len(ks), n), dtype=np.float64)
    weights[:, 0] = k[:, 0] / n
    if n > 1:
        r = np.arange(n - 1, dtype=np.float64)[None, :]
        ratio = np.clip((n - r - k) / (n - 1 - r), 0.0, 1.0)
        weights[:, 1:] = weights[:, :1] * np.cumprod(ratio, axis=1)
    return weights


def best_of_k_curve(
    scores: npt.ArrayLike,
    correct: npt.ArrayLike,
    ks: Sequence[int],
    *,
    valid: npt.ArrayLike | None = None,
) -> FloatArray:
    """Best-of-k accuracy, exact over all k-subsets, for each problem and budget: (problems, len(ks)).

    `scores` (float) and `correct` (bool) have shape (problems, n); `valid` (bool, default all True)
    marks the samples that have an answer. The subset's pick is its top sample by (valid, score,
    -index); scores may be -inf, NaN raises ValueError.
    """
    s = np.asarray(scores, dtype=np.float64)
    ok = np.asarray(correct, dtype=bool)
    if s.ndim != 2 or s.shape != ok.shape or s.shape[1] == 0:
        raise ValueError("scores and correct must share one shape (problems, n) with n ≥ 1")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN; use -inf for a sample that cannot be scored")
    answered = np.ones(s.shape, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    if answered.shape != s.shape:
        raise ValueError("valid must have the same shape as scores")
    n = s.shape[1]
    budgets = check_budgets(ks, n)
    index = np.broadcast_to(np.arange(n), s.shape)
    # lexsort sorts ascending on the LAST key first: unanswered after answered, then higher scores
    # first, then the earlier sample first, so position r holds the rank-r sample.
    order = np.lexsort((index, -s, ~answered), axis=-1)
    ranked = np.take_along_axis(ok, order, axis=1).astype(np.float64)
    out: FloatArray = ranked @ _best_weights(n, budgets).T
    return out


def best_of_k(
    scores: npt.ArrayLike, correct: npt.ArrayLike, k: int, *, valid: npt.ArrayLike | None = None
) -> float:
    """Best-of-k accuracy of one problem's pool (1-D `scores`, `correct`, optional `valid`)."""
    s = np.asarray(scores, dtype=np.float64)[None, :]
    ok = np.asarray(correct, dtype=bool)[None, :]
    v = None if valid is None else np.asarray(valid, dtype=bool)[None, :]
    return float(best_of_k_curve(s, ok, [k], valid=v)[0, 0])
