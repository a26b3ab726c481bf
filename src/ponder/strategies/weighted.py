"""`wbon@N`: weighted best-of-N (Li et al. 2023's weighted voting). N sampled chains of thought; each
answer group's weight is the sum of its samples' scores; the heaviest group wins.

Every scorer's score is mapped to a probability before summing, so that a larger group never loses
for having more negative numbers: `verify` gives P(yes) already; `logprob` gives exp(mean token
logprob), the geometric mean of the tokens' probabilities; `vote` gives 1 per sample (plain majority).
Samples without an answer carry no weight. Ties go to the answer that appeared first.

A study derives `wbon@k` from the pool (`weighted_majority`): the expected correctness of the
weighted vote over k-subsets of the pool, with the scoring pass's compute charged per sample scored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ponder.specs import Spec
from ponder.strategies.base import Context, Key, Strategy, StrategyInfo, register
from ponder.strategies.pooling import Estimate, Pooling, PoolView, scored_by
from ponder.strategies.sampling import TEMPERATURE, draw, to_candidate, vote
from ponder.strategies.scorers import SCORER_NAMES, score
from ponder.types import Problem, Result

EXACT_LIMIT = 5_000  # enumerate every k-subset up to this many; else Monte Carlo
DRAWS = 2_000


def weight(scorer: str, value: float) -> float:
    """A score as a probability in [0, 1] (0 for an unscored sample)."""
    if not math.isfinite(value):
        return 0.0
    if scorer.startswith("logprob"):
        return math.exp(min(value, 0.0))
    if scorer.startswith("vote"):
        return 1.0
    return min(max(value, 0.0), 1.0)


def weighted_vote(
    answers: Sequence[str | None], weights: Sequence[float]
) -> tuple[str | None, dict[str, float]]:
    """The heaviest answer group and every group's weight, heaviest first (ties: first appearance)."""
    sums: dict[str, float] = {}
    for a, w in zip(answers, weights, strict=True):
        if a is not None:
            sums[a] = sums.get(a, 0.0) + w
    if not sums:
        return None, {}
    ranked = sorted(sums, key=lambda a: -sums[a])  # stable: equal weights keep first appearance
    return ranked[0], {a: sums[a] for a in ranked}


def weighted_best_of_n(
    *, spec: str, n: int, scorer: str = "verify", temperature: float | None = None
) -> Strategy:
    async def run(problem: Problem, ctx: Context) -> Result:
        samples, answers = await draw(problem, ctx, n, temperature, logprobs=scorer == "logprob")
        # where a limit refuses the scorer's calls, the vote of the samples drawn is the answer
        ctx.keep(vote(answers)[0], [to_candidate(s, a, None) for s, a in zip(samples, answers, strict=True)])
        used, scores, notes = await score(scorer, problem, samples, answers, ctx)
        weights = [weight(used, x) for x in scores]
        winner, sums = weighted_vote(answers, weights)
        candidates = [to_candidate(s, a, w) for s, a, w in zip(samples, answers, weights, strict=True)]
        counts = {a: sum(1 for x in answers if x == a) for a in sums}
        return ctx.result(
            answer=winner,
            strategy=spec,
            candidates=candidates,
            votes=counts,
            scorer=used,
            notes=[*notes, "weights: " + ", ".join(f"{a}={w:.3g}" for a, w in sums.items())],
        )

    return run


def weighted_majority(view: PoolView, ks: Sequence[int], scorer: str = "verify") -> Estimate:
    """wbon@k: the expected correctness of the weighted vote over k-subsets of the pool, as the
    strategy decides it.

    Exact (every k-subset enumerated) where C(n, k) ≤ EXACT_LIMIT, else the mean over DRAWS seeded
    uniform k-subsets per problem, its Monte Carlo standard error in `info`. Ties: the strategy
    takes the tied group that appeared first; the samples are exchangeable, so a tied group comes
    first with probability its count over the tied groups' counts, which is the credit each correct
    tied group earns (all groups of a subset whose weights are all 0 tie). On a problem whose
    answered samples have no score (no logprobs, no verdict), the weights are 1, as the strategy
    falls back to the vote (`scorers.score`).
    """
    import numpy as np

    weights = np.vectorize(lambda x: weight(scorer, float(x)), otypes=[float])(view.scores)
    scored = (np.isfinite(view.scores) & view.valid).any(axis=1)
    if scorer.startswith("vote"):
        scored[:] = False
    weights = np.where(scored[:, None], weights, 1.0)
    weights = np.where(view.valid, weights, 0.0)
    problems, n = view.labels.shape
    rng = np.random.default_rng(view.seed)
    values = np.zeros((problems, len(ks)))
    errors: dict[str, float] = {}
    methods: dict[str, str] = {}
    for j, k in enumerate(ks):
        exact = math.comb(n, k) <= EXACT_LIMIT
        if exact:
            from itertools import combinations

            subsets = np.array(list(combinations(range(n), k)), dtype=np.int64)
        credits = np.zeros(problems)
        variances = np.zeros(problems)
        for p in range(problems):
            if not exact:
                subsets = np.argsort(rng.random((DRAWS, n)), axis=1)[:, :k]
            labels = view.labels[p]
            groups = int(labels.max()) + 1 if (labels >= 0).any() else 0
            if groups == 0:
                continue
            onehot = np.zeros((n, groups))
            onehot[np.flatnonzero(labels >= 0), labels[labels >= 0]] = 1.0
            right = np.zeros(groups, dtype=bool)
            right[labels[view.correct[p] & (labels >= 0)]] = True
            counts = onehot[subsets].sum(axis=1)  # (subsets, groups)
            sums = (weights[p][:, None] * onehot)[subsets].sum(axis=1)
            present = counts > 0
            top = np.where(present, sums, -np.inf).max(axis=1, keepdims=True)
            tied = present & (sums >= top - 1e-12)
            tied_counts = np.where(tied, counts, 0.0)
            credit = (tied_counts * right).sum(axis=1) / np.maximum(tied_counts.sum(axis=1), 1.0)
            credits[p] = credit.mean()
            variances[p] = 0.0 if exact else credit.var(ddof=1) / len(credit)
        values[:, j] = credits
        methods[str(k)] = "exact" if exact else "monte carlo"
        errors[str(k)] = float(np.sqrt(variances.sum()) / problems)
    return Estimate(values, {"methods": methods, "mc_error": errors})


def _pooling(spec: Spec) -> Pooling:
    scorer = spec.params.get("scorer", "verify")

    def estimate(view: PoolView, ks: Sequence[int]) -> Estimate:
        return weighted_majority(view, ks, scorer)

    return scored_by(scorer, estimate)


register(
    StrategyInfo(
        "wbon",
        "weighted best-of-N: answer groups weighted by their samples' scores as probabilities",
        weighted_best_of_n,
        {
            "scorer": Key(
                str,
                "verify",
                "the scorer whose probabilities weigh the votes",
                # pairwise strengths are relative to the pool, not probabilities of being right
                choices=tuple(s for s in SCORER_NAMES if s != "pairwise"),
            ),
            "temperature": TEMPERATURE,
        },
        budget=True,
        default_n=8,
        pooling=_pooling,
        runs_code=False,
    )
)
