"""Unbiased accuracy estimators for every budget k ≤ n from ONE pool of n samples per problem.

The design: draw n samples per problem once, then derive pass@k, best-of-k and majority@k for every
smaller budget k from that pool, instead of drawing a fresh pool per budget. Each estimator is the
average, over all C(n, k) subsets of size k of the pool, of what the strategy would score on that
subset. Because the n samples are i.i.d., every k-subset is itself a set of k i.i.d. samples, so this
average (a U-statistic) is an unbiased estimate of the strategy's expected accuracy at budget k, and
it has lower variance than scoring one arbitrary k-subset.

Invariants:
- 1 ≤ k ≤ n for every budget; the pool size n is shared by all problems (arrays are (problems, n)).
- pass@k and best-of-k are exact closed forms over all k-subsets (no sampling, no big binomials: the
  binomial ratios are running products of factors in [0, 1], so nothing overflows).
- best-of-k ranks samples by the key (valid, score, -index), descending: an answered sample beats an
  unanswered one, a higher score wins, and equal scores go to the earlier sample, as the strategy
  does. That is a total order, so the best of a subset is well defined, and the sample ranked r-th
  (0-based, best first) is the best of a uniform k-subset with probability C(n-1-r, k-1)/C(n, k).
  Scores may be -inf (unscorable); NaN has no place in the order and is refused.
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
- adaptive (a vote that stops once it has settled, `adaptive_curve`) replays the pool in random
  orders: the rule is a function of the first k samples in the order drawn, and a random order of the
  pool puts a random ordered k-tuple of its samples first, so the average over orders is unbiased
  (a U-statistic again) for both its accuracy and its expected samples drawn. Exact at k = 1, seeded
  Monte Carlo (2,000 orders) elsewhere, with its standard error for both figures.
- The estimate of a problem depends only on its answer-group counts (unanswered, and the multisets
  of the correct groups' sizes and of the wrong groups' sizes), so problems with the same counts are
  computed once and share one value; this also makes Monte Carlo results independent of label ids
  and sample order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

EXACT_LIMIT = 5000  # enumerate every k-subset when there are at most this many
_CHUNK_ELEMENTS = 2_000_000  # bounds the temporary arrays of the enumeration


def _check_budgets(ks: Sequence[int], n: int) -> list[int]:
    out = [int(k) for k in ks]
    for k in out:
        if not 1 <= k <= n:
            raise ValueError(f"budget k={k} is outside 1..n={n}")
    return out


def _miss_table(n: int, ks: Sequence[int]) -> FloatArray:
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
    budgets = _check_budgets(ks, n)
    wrong = n - grid.sum(axis=1)
    out: FloatArray = 1.0 - _miss_table(n, budgets)[wrong]
    return out


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
    budgets = _check_budgets(ks, n)
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


@dataclass
class MajorityCurve:
    """majority@k per problem and budget, with what Monte Carlo added to the mean's uncertainty."""

    values: FloatArray  # (problems, len(ks))
    mc_error: FloatArray  # (len(ks),): standard error of the mean over problems due to sampling
    method: list[str]  # per k: "exact", or "monte-carlo (M draws)" when any problem was sampled
    ks: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Groups:
    """Each problem reduced to what its majority@k depends on, deduplicated across problems."""

    right: IntArray  # (U, R) sizes of the correct answers' groups, descending, zero padded
    wrong: IntArray  # (U, W) sizes of the wrong answers' groups, descending, zero padded
    blank: IntArray  # (U,) samples with no answer
    inverse: IntArray  # (P,) which row of the above each problem is
    multiplicity: IntArray  # (U,) how many problems share the row


def _group(labels: IntArray, correct: BoolArray) -> _Groups:
    problems, n = labels.shape
    order = np.argsort(labels, axis=1, kind="stable")
    ordered = np.take_along_axis(labels, order, axis=1)
    flags = np.take_along_axis(correct, order, axis=1)
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    clash = ~starts[:, 1:] & (flags[:, 1:] != flags[:, :-1]) & (ordered[:, 1:] >= 0)
    if clash.any():
        row, col = (int(x[0]) for x in np.nonzero(clash))
        raise ValueError(
            f"problem {row}: samples with answer id {int(ordered[row, col + 1])} disagree on whether "
            "they are correct; samples with one answer must share one correctness flag"
        )
    group = (np.cumsum(starts, axis=1) - 1).ravel()  # the run of equal labels each position belongs to
    rows = np.repeat(np.arange(problems), n)
    sizes = np.bincount(rows * n + group, minlength=problems * n).reshape(problems, n)
    label_of = np.full((problems, n), -2, dtype=np.int64)  # -2: an unused run slot
    label_of[rows, group] = ordered.ravel()
    right_of = np.zeros((problems, n), dtype=bool)
    right_of[rows, group] = flags.ravel()  # one flag per answered run (checked above)
    answered = label_of >= 0
    is_right = answered & right_of
    is_wrong = answered & ~right_of
    blank = np.where(label_of == -1, sizes, 0).sum(axis=1)
    right = -np.sort(-np.where(is_right, sizes, 0), axis=1)
    wrong = -np.sort(-np.where(is_wrong, sizes, 0), axis=1)
    right_width = max(1, int(is_right.sum(axis=1).max(initial=0)))
    wrong_width = max(1, int(is_wrong.sum(axis=1).max(initial=0)))
    key = np.concatenate([blank[:, None], right[:, :right_width], wrong[:, :wrong_width]], axis=1)
    unique, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    unique = unique.astype(np.int64)
    return _Groups(
        right=unique[:, 1 : 1 + right_width],
        wrong=unique[:, 1 + right_width :],
        blank=unique[:, 0],
        inverse=inverse.reshape(-1).astype(np.int64),
        multiplicity=counts.astype(np.int64),
    )


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


def _enumerate(groups: _Groups, rows: IntArray, n: int, k: int) -> FloatArray:
    """Exact majority@k of the given rows by voting on every k-subset of a canonical pool."""
    r_width, w_width = groups.right.shape[1], groups.wrong.shape[1]
    ids = r_width + w_width + 1  # 0..R-1 correct groups, R..R+W-1 wrong groups, R+W no answer
    pools = np.empty((rows.size, n), dtype=np.int64)
    for out, u in enumerate(rows):
        sizes = np.concatenate([groups.right[u], groups.wrong[u], [groups.blank[u]]])
        pools[out] = np.repeat(np.arange(ids), sizes)
    subsets = _subsets(n, k)
    per_row = subsets.shape[0] * max(k, ids)
    chunk = max(1, _CHUNK_ELEMENTS // per_row)
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
    groups: _Groups, rows: IntArray, k: int, draws: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """(mean credit, per-draw credit variance) of each row over `draws` random k-subsets."""
    r_width, w_width = groups.right.shape[1], groups.wrong.shape[1]
    means = np.empty(rows.size, dtype=np.float64)
    variance = np.empty(rows.size, dtype=np.float64)
    # The draws of a chunk of rows are scored together: scoring row by row adds a fifth or more to the
    # sampling time. Absent groups stay 0 in the buffer, which never ties a top count above 0.
    chunk = max(1, _CHUNK_ELEMENTS // (draws * (r_width + w_width)))
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


def _check_votes(
    labels: npt.ArrayLike, correct: npt.ArrayLike, draws: int
) -> tuple[npt.NDArray[np.int64], BoolArray]:
    """A vote's inputs, checked: answer ids (problems, n), −1 for none; their flags; draws ≥ 2."""
    votes = np.asarray(labels)
    flags = np.asarray(correct)
    if votes.ndim != 2 or votes.shape[1] == 0 or not np.issubdtype(votes.dtype, np.integer):
        raise ValueError("labels must be an integer array of shape (problems, n) with n ≥ 1")
    if flags.shape != votes.shape or flags.dtype != np.bool_:
        raise ValueError("correct must be a bool array of the same shape as labels, (problems, n)")
    if (votes < -1).any():
        raise ValueError("answer ids must be ≥ 0, or -1 for no answer")
    if draws < 2:
        raise ValueError("draws must be at least 2 (the error estimate needs a variance)")
    return votes, flags


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
    votes, flags = _check_votes(labels, correct, draws)
    problems, n = votes.shape
    budgets = _check_budgets(ks, n)
    groups = _group(votes.astype(np.int64), flags)
    rng = np.random.default_rng(seed)
    right_total = groups.right.sum(axis=1)
    answered = n - groups.blank
    has_right = right_total > 0
    has_wrong = groups.wrong[:, 0] > 0
    pass_table = _miss_table(n, budgets)

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
    votes, flags = _check_votes(labels, correct, draws)
    problems, n = votes.shape
    budgets = _check_budgets(ks, n)
    table = np.asarray(settled, dtype=bool)
    if table.ndim != 2 or min(table.shape) < n + 1:
        raise ValueError(f"settled must be a bool table indexed [a, b] for votes 0..{n}")
    stops = {int(c) for c in checkpoints if 1 <= c <= n}
    # Over random orders a problem's estimate depends only on its answer-group sizes: each distinct
    # set of sizes is replayed once, on a canonical pool (correct groups first, then wrong ones).
    groups = _group(votes.astype(np.int64), flags)
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
    chunk = max(1, _CHUNK_ELEMENTS // (draws * (n + 2 * width)))
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
