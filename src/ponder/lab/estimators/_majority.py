"""majority@k: the vote over a k-subset of the pool, exact where cheap, else seeded Monte Carlo.

Invariants:
- majority@k votes over distinct answers (labels), several of which may be correct: different
  spellings of one right answer ("1/2" and "0.5" under a math check) or different correct programs.
  Each sample carries a correctness flag, shared by all samples with its label (a clash is refused);
  samples with no answer (label -1) do not vote, and their flag is ignored. A subset's vote is
  correct when the winning answer is any correct one, so counting only one correct label would
  score the other correct spellings as wrong answers and badly underestimate majority@k.
- majority@k is exact where that is cheap (k = 1, k = n, a problem with no correct sample or whose
  answered samples are all correct, and whenever C(n, k) ≤ `exact_limit`, by enumerating the
  subsets). Elsewhere it is a seeded Monte Carlo average over `draws` random subsets per problem,
  still unbiased; `MajorityCurve.mc_error` reports the standard error that sampling adds to the mean
  over problems (0.0 where every problem was exact), so a caller can check it is small next to the
  between-problem (bootstrap) interval. With draws=2000 the per-problem credit, a value in [0, 1],
  has variance ≤ 1/4, so mc_error ≤ 0.5/sqrt(2000·problems): ≤ 0.0011 at 100 problems, where the
  95% bootstrap half-width of a mean accuracy is typically 0.05–0.1.
- majority credit and ties: let t answers share the subset's top count, c of them correct; the
  subset earns c/t (0 when nobody in it answered). The strategy breaks a tie by first appearance;
  given the answer counts of a subset, the order of its i.i.d. samples is exchangeable, so each tied
  answer is equally likely to appear first and the vote is correct with probability c/t. Crediting
  c/t has the same mean as drawing the tie-break and less variance; with one correct answer it is
  the familiar 1/t when that answer ties for the top, else 0.
- A problem with no correct sample scores 0 at every k. One whose answered samples are all correct
  wins every subset that holds an answered sample: 1 − C(n − answered, k)/C(n, k), pass@k with the
  answered samples marked.
- Problems with the same answer-group counts share one value (see `_groups`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from ponder.lab.estimators._groups import AnswerGroups, check_votes, group_answers
from ponder.lab.estimators._pass_at_k import miss_table
from ponder.lab.estimators._pool import CHUNK_ELEMENTS, FloatArray, IntArray, check_budgets

EXACT_LIMIT = 5000  # enumerate every k-subset when there are at most this many


@dataclass
class MajorityCurve:
    """majority@k per problem and budget, with what Monte Carlo added to the mean's uncertainty."""

    values: FloatArray  # (problems, len(ks))
    mc_error: FloatArray  # (len(ks),): standard error of the mean over problems due to sampling
    method: list[str]  # per k: "exact", or "monte-carlo (M draws)" when any problem was sampled
    ks: list[int] = field(default_factory=list)


def _vote_credit(right: IntArray, wrong: IntArray) -> FloatArray:
    """Expected credit of votes whose correct groups count `right` and wrong groups `wrong` (last axis).

    c/t, where t answers share the top count and c of them are correct; 0 when nobody voted. Zero
    padding is harmless: an empty group never ties a top count above 0.
    """
    top = np.maximum(right.max(axis=-1, initial=0), wrong.max(axis=-1, initial=0))[..., None]
    c = (right == top).sum(axis=-1)
    t = c + (wrong == top).sum(axis=-1)
    credit: FloatArray = np.where(top[..., 0] > 0, c / np.maximum(t, 1), 0.0)
    return credit


@lru_cache(maxsize=32)
def _subsets(n: int, k: int) -> IntArray:
    subsets = np.array(list(itertools.combinations(range(n), k)), dtype=np.int64).reshape(-1, k)
    subsets.setflags(write=False)
    return subsets


def _enumerate(groups: AnswerGroups, rows: IntArray, n: int, k: int) -> FloatArray:
    """Exact majority@k of the given rows by voting on every k-subset of a canonical pool."""
    r_width, w_width = groups.right.shape[1], groups.wrong.shape[1]
    ids = r_width + w_width + 1  # 0..R-1 correct groups, R..R+W-1 wrong groups, R+W no answer
    pools = np.empty((rows.size, n), dtype=np.int64)
    for out, u in enumerate(rows):
        sizes = np.concatenate([groups.right[u], groups.wrong[u], [groups.blank[u]]])
        pools[out] = np.repeat(np.arange(ids), sizes)
    subsets = _subsets(n, k)
    per_row = subsets.shape[0] * max(k, ids)
    chunk = max(1, CHUNK_ELEMENTS // per_row)
    values = np.empty(rows.size, dtype=np.float64)
    for start in range(0, rows.size, chunk):
        votes = pools[start : start + chunk][:, subsets]  # (rows, subsets, k)
        flat = votes.reshape(-1, k) + ids * np.arange(votes.shape[0] * votes.shape[1])[:, None]
        tally = np.bincount(flat.ravel(), minlength=flat.shape[0] * ids)
        tally = tally.reshape(votes.shape[0], votes.shape[1], ids)
        credit = _vote_credit(tally[..., :r_width], tally[..., r_width : ids - 1])
        values[start : start + chunk] = credit.mean(axis=1)
    return values


def _monte_carlo(
    groups: AnswerGroups, rows: IntArray, k: int, draws: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """(mean credit, per-draw credit variance) of each row over `draws` random k-subsets."""
    r_width, w_width = groups.right.shape[1], groups.wrong.shape[1]
    means = np.empty(rows.size, dtype=np.float64)
    variance = np.empty(rows.size, dtype=np.float64)
    # The draws of a chunk of rows are scored together: scoring row by row adds a fifth or more to the
    # sampling time. Absent groups stay 0 in the buffer, which never ties a top count above 0.
    chunk = max(1, CHUNK_ELEMENTS // (draws * (r_width + w_width)))
    for start in range(0, rows.size, chunk):
        part = rows[start : start + chunk]
        counts = np.zeros((part.size, draws, r_width + w_width), dtype=np.int64)
        for i, u in enumerate(part):
            right = groups.right[u][groups.right[u] > 0]
            wrong = groups.wrong[u][groups.wrong[u] > 0]
            colors = np.concatenate([right, wrong, [groups.blank[u]]])
            sample = rng.multivariate_hypergeometric(colors, k, size=draws)
            counts[i, :, : right.size] = sample[:, : right.size]
            counts[i, :, r_width : r_width + wrong.size] = sample[:, right.size : -1]
        credit = _vote_credit(counts[..., :r_width], counts[..., r_width:])
        means[start : start + part.size] = credit.mean(axis=1)
        variance[start : start + part.size] = credit.var(axis=1, ddof=1)
    return means, variance


def majority_curve(
    labels: npt.ArrayLike,
    correct: npt.ArrayLike,
    ks: Sequence[int],
    *,
    draws: int = 2000,
    seed: int = 0,
    exact_limit: int = EXACT_LIMIT,
) -> MajorityCurve:
    """majority@k for each problem and budget from one pool of answer ids per problem.

    `labels` (int, (problems, n)): each sample's answer id, -1 for no answer (it does not vote).
    `correct` (bool, (problems, n)): whether each sample's answer is correct. Several answer ids may
    be correct (different spellings of one right answer); samples sharing an id must share a flag
    (else ValueError); the flag of a sample with no answer is ignored.
    A subset's vote earns c/t: t answers share its top count and c of them are correct.
    Exact where cheap (see the module docstring), else `draws` seeded Monte Carlo subsets per problem:
    each draw takes the subset's answer-group counts from a multivariate hypergeometric over the
    groups, the unanswered samples being one more group that does not vote.
    """
    votes, flags = check_votes(labels, correct, draws)
    problems, n = votes.shape
    budgets = check_budgets(ks, n)
    groups = group_answers(votes.astype(np.int64), flags)
    rng = np.random.default_rng(seed)
    right_total = groups.right.sum(axis=1)
    answered = n - groups.blank
    has_right = right_total > 0
    has_wrong = groups.wrong[:, 0] > 0
    pass_table = miss_table(n, budgets)

    values = np.zeros((groups.blank.size, len(budgets)), dtype=np.float64)
    mc_error = np.zeros(len(budgets), dtype=np.float64)
    method: list[str] = []
    for j, k in enumerate(budgets):
        col = values[:, j]
        if k == 1:
            col[:] = right_total / n
            method.append("exact")
            continue
        if k == n:
            col[:] = _vote_credit(groups.right, groups.wrong)
            method.append("exact")
            continue
        # No correct sample: 0. Only correct answers: a win whenever any sample in the subset answered,
        # i.e. pass@k with the answered samples as the marked ones.
        col[:] = np.where(has_right, 1.0 - pass_table[n - answered, j], 0.0)
        contested = np.flatnonzero(has_right & has_wrong)
        if contested.size == 0 or math.comb(n, k) <= exact_limit:
            if contested.size:
                col[contested] = _enumerate(groups, contested, n, k)
            method.append("exact")
            continue
        col[contested], variance = _monte_carlo(groups, contested, k, draws, rng)
        # Problems sharing a row share its estimate, so its error counts once per problem, fully
        # correlated: multiplicity squared, not multiplicity.
        weight = groups.multiplicity[contested].astype(np.float64)
        mc_error[j] = math.sqrt(float((weight**2 * variance).sum()) / draws) / problems
        method.append(f"monte-carlo ({draws} draws)")
    return MajorityCurve(values=values[groups.inverse], mc_error=mc_error, method=method, ks=budgets)


def majority_at_k(
    labels: npt.ArrayLike,
    correct: npt.ArrayLike,
    k: int,
    *,
    draws: int = 2000,
    seed: int = 0,
    exact_limit: int = EXACT_LIMIT,
) -> float:
    """majority@k of one problem's pool (1-D answer ids, -1 for no answer, and 1-D bool correctness)."""
    row = np.asarray(labels)[None, :]
    flags = np.asarray(correct)[None, :]
    curve = majority_curve(row, flags, [k], draws=draws, seed=seed, exact_limit=exact_limit)
    return float(curve.values[0, 0])
