"""The adaptive vote (one that stops once it has settled), replayed on the pool.

Invariant: adaptive (a vote that stops once it has settled, `adaptive_curve`) replays the pool in
random orders: the rule is a function of the first k samples in the order drawn, and a random order
of the pool puts a random ordered k-tuple of its samples first, so the average over orders is
unbiased (a U-statistic again) for both its accuracy and its expected samples drawn. Exact at
k = 1, seeded Monte Carlo (2,000 orders) elsewhere, with its standard error for both figures.
Problems with the same answer-group counts share one value (see `_groups`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ponder.lab.estimators._groups import check_votes, group_answers
from ponder.lab.estimators._pool import CHUNK_ELEMENTS, BoolArray, FloatArray, check_budgets


@dataclass
class AdaptiveCurve:
    """A vote that stops early, replayed on the pool: per problem and budget, its expected
    correctness and the expected samples it draws, with the Monte Carlo error each adds to the mean
    over problems."""

    values: FloatArray  # (problems, len(ks)), in [0, 1]
    samples: FloatArray  # (problems, len(ks)), in [1, k]
    mc_error: FloatArray  # (len(ks),): standard error of the mean value due to sampling orders
    samples_mc_error: FloatArray  # (len(ks),): the same for the mean samples drawn
    method: list[str]  # per k: "exact" or "monte-carlo (M orders)"
    ks: list[int] = field(default_factory=list)


def _credit(score: npt.NDArray[np.int32], truth: BoolArray, width: int) -> FloatArray:
    """1 where the vote so far (scores as in `adaptive_curve`) picks a correct answer."""
    winner = np.argmax(score[:, :width], axis=1)
    line = np.arange(score.shape[0])
    won: FloatArray = (truth[line, winner] & (score[line, winner] > 0)).astype(np.float64)
    return won


def adaptive_curve(
    labels: npt.ArrayLike,
    correct: npt.ArrayLike,
    ks: Sequence[int],
    *,
    checkpoints: Sequence[int],
    settled: npt.ArrayLike,
    draws: int = 2000,
    seed: int = 0,
) -> AdaptiveCurve:
    """A vote drawn sample by sample that may stop early, replayed on one pool per problem.

    The rule replayed: the run at budget k looks at its vote after each checkpoint c < k
    (`checkpoints`, increasing sample counts) and stops at the first where `settled[a, b]` holds, a
    being the leading answer's votes and b the runner-up's (0 if none; samples without an answer do
    not vote); otherwise it stops at k. Its answer is the vote over the samples it drew, ties to the
    answer that appeared first. Its credit is 1 when that answer is correct, 0 otherwise (and when
    nobody answered).

    Unbiased: the rule is a function of the first k samples in the order drawn. A uniformly random
    order of the pool puts a uniformly random ordered k-tuple of distinct pool samples first, so the
    average over all orders is a U-statistic of the n i.i.d. samples, whose mean is the rule's
    expected credit (and samples drawn) on k fresh i.i.d. samples. Over random orders a problem's
    estimate depends only on its answer-group sizes (as majority@k's does), so each distinct set of
    sizes is replayed once, on `draws` seeded random orders, the same orders for every budget (so
    the samples drawn never decrease with k); the standard error that sampling orders adds to the
    mean over problems is reported, problems sharing one set of sizes counted as fully correlated.
    k = 1 is exact: the pool's pass@1 of answered samples, 1 sample.
    Invariants: values in [0, 1]; samples in [min(k, first checkpoint), k]; a rule that never
    settles draws k and is majority@k with first-appearance ties (equal in expectation to
    `majority_curve`); a problem whose samples all give one answer stops at the first checkpoint
    c < k where `settled[c, 0]`, else at k, in every order: its estimate is exact.
    """
    votes, flags = check_votes(labels, correct, draws)
    problems, n = votes.shape
    budgets = check_budgets(ks, n)
    table = np.asarray(settled, dtype=bool)
    if table.ndim != 2 or min(table.shape) < n + 1:
        raise ValueError(f"settled must be a bool table indexed [a, b] for votes 0..{n}")
    stops = {int(c) for c in checkpoints if 1 <= c <= n}
    # Over random orders a problem's estimate depends only on its answer-group sizes: each distinct
    # set of sizes is replayed once, on a canonical pool (correct groups first, then wrong ones).
    groups = group_answers(votes.astype(np.int64), flags)
    sizes = np.concatenate([groups.right, groups.wrong], axis=1)
    width = max(2, sizes.shape[1])  # ≥ 2 answers, so a runner-up always exists (with 0 votes)
    unique = sizes.shape[0]
    pools = np.full((unique, n), -1, dtype=np.int64)
    for u in range(unique):
        answered = np.repeat(np.arange(sizes.shape[1]), sizes[u])
        pools[u, : answered.size] = answered
    right = np.zeros((unique, width + 1), dtype=bool)  # the last column: no answer, never right
    right[:, : groups.right.shape[1]] = True
    kmax = max(budgets)
    K = kmax + 1
    rng = np.random.default_rng(seed)

    values = np.zeros((unique, len(budgets)))
    samples = np.zeros((unique, len(budgets)))
    value_var = np.zeros((unique, len(budgets)))
    samples_var = np.zeros((unique, len(budgets)))
    chunk = max(1, CHUNK_ELEMENTS // (draws * (n + 2 * width)))
    for start in range(0, unique, chunk):
        rows = np.arange(start, min(start + chunk, unique))
        p = rows.size
        # 1. A random order of each pool, `draws` times; only the first kmax samples are ever read.
        order = rng.random((p, draws, n)).argsort(axis=-1)[..., :kmax]
        drawn = np.take_along_axis(np.broadcast_to(pools[rows, None, :], (p, draws, n)), order, axis=-1)
        # 2. Walk each order sample by sample, keeping one score per answer that orders the vote:
        #    votes × K + (K − 1 − where it first appeared), K = kmax + 1, so the most votes win and
        #    ties go to the first to appear; votes = score // K. The last column takes the samples
        #    without an answer, which never vote.
        score = np.zeros((p * draws, width + 1), dtype=np.int32)
        flat = score.reshape(-1)
        base = np.arange(p * draws) * (width + 1)
        truth = right[np.repeat(rows, draws)]
        stopped_at = np.zeros(p * draws, dtype=np.int32)  # 0: not yet settled
        stopped_credit = np.zeros(p * draws, dtype=np.float64)
        for t in range(kmax):
            label = drawn[..., t].reshape(-1)
            at = base + np.where(label >= 0, label, width)
            old = flat[at]
            flat[at] = old + K + np.where(old == 0, K - 1 - t, 0)
            m = t + 1
            # 3. A budget of m ends here unless it settled at an earlier checkpoint.
            for j in (j for j, k in enumerate(budgets) if k == m):
                early = stopped_at > 0
                value = np.where(early, stopped_credit, _credit(score, truth, width)).reshape(p, draws)
                used = np.where(early, stopped_at, m).astype(np.float64).reshape(p, draws)
                values[rows, j], value_var[rows, j] = value.mean(axis=1), value.var(axis=1, ddof=1)
                samples[rows, j], samples_var[rows, j] = used.mean(axis=1), used.var(axis=1, ddof=1)
            # 4. A checkpoint: orders whose vote has settled stop here, for every budget above m.
            if m in stops and m < kmax:
                top = np.partition(score[:, :width], width - 2, axis=1)[:, -2:] // K
                now = table[top[:, 1], top[:, 0]] & (stopped_at == 0)
                stopped_at[now] = m
                stopped_credit[now] = _credit(score, truth, width)[now]

    # Problems sharing a canonical pool share its estimate, so its error counts once per problem,
    # fully correlated: multiplicity squared.
    weight = groups.multiplicity.astype(np.float64)[:, None] ** 2
    method = []
    for j, k in enumerate(budgets):
        if k == 1:  # exact: one sample, the pool's share of correct answered samples
            values[:, j] = groups.right.sum(axis=1) / n
            samples[:, j], value_var[:, j], samples_var[:, j] = 1.0, 0.0, 0.0
        method.append("exact" if k == 1 else f"monte-carlo ({draws} orders)")
    return AdaptiveCurve(
        values=values[groups.inverse],
        samples=samples[groups.inverse],
        mc_error=np.sqrt((weight * value_var).sum(axis=0) / draws) / problems,
        samples_mc_error=np.sqrt((weight * samples_var).sum(axis=0) / draws) / problems,
        method=method,
        ks=budgets,
    )
