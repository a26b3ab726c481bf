"""Unbiased accuracy estimators for every budget k ≤ n from ONE pool of n samples per problem.

The design: draw n samples per problem once, then derive pass@k, best-of-k and majority@k for every
smaller budget k from that pool, instead of drawing a fresh pool per budget. Each estimator is the
average, over all C(n, k) subsets of size k of the pool, of what the strategy would score on that
subset. Because the n samples are i.i.d., every k-subset is itself a set of k i.i.d. samples, so this
average (a U-statistic) is an unbiased estimate of the strategy's expected accuracy at budget k, and
it has lower variance than scoring one arbitrary k-subset.

Invariant: 1 ≤ k ≤ n for every budget; the pool size n is shared by all problems (arrays are
(problems, n)).

One estimator a module, each stating its own invariants:
- `_pass_at_k`: pass@k, an exact closed form (running products, nothing overflows).
- `_best_of_k`: best-of-k, exact, by the rank of each sample under (valid, score, -index).
- `_majority`: majority@k with c/t credit for ties, exact where cheap, else seeded Monte Carlo with
  its standard error (`MajorityCurve.mc_error`).
- `_adaptive`: a vote that stops once it has settled, replayed on random orders of the pool.
- `_groups`: a vote's pool reduced to its answer-group counts, so problems with the same counts
  are computed once (majority@k and the adaptive vote).
- `_pool`: the array types, the budget check and the bound on temporary arrays.
"""

from __future__ import annotations

from ponder.lab.estimators._adaptive import AdaptiveCurve, adaptive_curve
from ponder.lab.estimators._best_of_k import best_of_k, best_of_k_curve
from ponder.lab.estimators._majority import EXACT_LIMIT, MajorityCurve, majority_at_k, majority_curve
from ponder.lab.estimators._pass_at_k import pass_at_k, pass_at_k_curve

__all__ = [
    "EXACT_LIMIT",
    "AdaptiveCurve",
    "MajorityCurve",
    "adaptive_curve",
    "best_of_k",
    "best_of_k_curve",
    "majority_at_k",
    "majority_curve",
    "pass_at_k",
    "pass_at_k_curve",
]
