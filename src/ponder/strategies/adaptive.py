"""`adaptive@N`: adaptive consistency. Chains of thought drawn in small batches and voted on, no more
drawn once the vote has settled (Aggarwal et al. 2023, "Let's Sample Step by Step").

The stopping rule, exactly. After each batch let a be the votes of the leading answer and b those of
the runner-up (0 if there is none; samples without an answer do not vote). Under a uniform prior the
leader's share among the two has the posterior Beta(a+1, b+1), and the vote has settled when a > b and

    P(p_leader > p_runner | votes) = 1 − I_{1/2}(a+1, b+1) ≥ threshold,

I being the regularized incomplete beta function. For integers I_{1/2}(a+1, b+1) is the chance that a
Binomial(a+b+1, 1/2) is at most b, Σ_{j≤b} C(a+b+1, j) / 2^(a+b+1), which `settled_table` compares
with 1 − threshold in exact rational arithmetic, so no rounding moves a boundary. The run stops at the
first settled batch, or when N samples are drawn. Its answer is the vote over every sample drawn, ties
to the answer that appeared first, as `sc` breaks them; threshold = 1 never settles (`sc@N` in batches).

Batches (`schedule`): the first holds max(batch, m) samples, m being the fewest votes that could
settle (4 at 0.95: a unanimous 4–0 gives 1 − 2⁻⁵ ≈ 0.97, 3–0 only 0.94), so no call is made that
could not end the run; then `batch` at a time, the last cut at N. Each batch is its own
`ctx.generate` call whose seed is offset by the batch's index, so batches do not repeat each other
on an engine that samples by seed; the usage is the sum of the calls. The result's note states the
samples drawn, why the run stopped, and the posterior it stopped at.

In a study it is derived from the pool without new samples (`estimate`): the pool's samples are
replayed in many random orders and the rule applied to each (`ponder.lab.estimators.adaptive_curve`,
unbiased), which reports the accuracy and the expected samples drawn at each budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

from ponder.specs import Spec
from ponder.strategies.base import Context, Key, Strategy, StrategyInfo, register
from ponder.strategies.pooling import Estimate, Pooling, PoolView
from ponder.strategies.sampling import TEMPERATURE, draw, to_candidate, vote
from ponder.strategies.scorers import vote_scores
from ponder.types import Problem, Result, Sample

BATCH, THRESHOLD = 2, 0.95
KEYS = {
    "batch": Key(int, BATCH, "samples drawn per batch after the first, e.g. 2", low=1, high=256),
    "threshold": Key(
        float, THRESHOLD, "posterior that the leader beats the runner-up, e.g. 0.95", low=0.5, high=1.0
    ),
    "temperature": TEMPERATURE,
}


def _tail(a: int, b: int) -> Fraction:
    """I_{1/2}(a+1, b+1) = P(p_leader ≤ 1/2 | a, b), exactly."""
    m = a + b + 1
    return Fraction(sum(math.comb(m, j) for j in range(b + 1)), 2**m)


def posterior(a: int, b: int) -> float:
    """P(p_leader > p_runner | a votes against b) under the Beta(a+1, b+1) posterior."""
    return float(1 - _tail(a, b))


def settles(a: int, b: int, threshold: float) -> bool:
    return a > b and _tail(a, b) <= 1 - Fraction(threshold)


@lru_cache(maxsize=16)
def settled_table(n: int, threshold: float) -> tuple[tuple[bool, ...], ...]:
    """[a][b] for 0 ≤ a, b ≤ n: whether a lead of a votes to b has settled (the rule above)."""
    limit = 1 - Fraction(threshold)
    table = [[False] * (n + 1) for _ in range(n + 1)]
    for m in range(2, 2 * n + 2):  # m = a + b + 1; a row's prefix sums give every b at once
        row = [math.comb(m, j) for j in range(m + 1)]
        below = 0
        for b in range(min(n, (m - 1) // 2) + 1):
            below += row[b]
            a = m - 1 - b
            if a > b and a <= n:
                table[a][b] = Fraction(below, 2**m) <= limit
    return tuple(map(tuple, table))


@lru_cache(maxsize=16)
def _fewest(threshold: float) -> int | None:
    """The fewest votes that can settle (a unanimous lead), None where none can (threshold 1):
    1 − 2^-(a+1) ≥ threshold needs a ≤ 53 for any float threshold below 1."""
    return next((a for a in range(1, 64) if settles(a, 0, threshold)), None)


def schedule(n: int, batch: int = BATCH, threshold: float = THRESHOLD) -> list[int]:
    """The sample counts after each batch of a run at budget n: where the rule is checked."""
    fewest = _fewest(threshold) or batch
    size = min(n, max(batch, fewest))
    points = [size]
    while points[-1] < n:
        points.append(min(n, points[-1] + batch))
    return points


def adaptive(
    *, spec: str, n: int, batch: int = BATCH, threshold: float = THRESHOLD, temperature: float | None = None
) -> Strategy:
    async def run(problem: Problem, ctx: Context) -> Result:
        samples: list[Sample] = []
        answers: list[str | None] = []
        why = f"reached N = {n} without settling"
        for index, total in enumerate(schedule(n, batch, threshold)):
            drawn, read = await draw(problem, ctx, total - len(samples), temperature, seed_offset=index)
            samples += drawn
            answers += read
            winner, votes = vote(answers)
            counts = [*votes.values(), 0, 0]
            chance = posterior(counts[0], counts[1])
            shares = vote_scores(samples, answers)
            candidates = [to_candidate(s, a, x) for s, a, x in zip(samples, answers, shares, strict=True)]
            ctx.keep(winner, candidates, votes=votes, scorer="vote")
            if settles(counts[0], counts[1], threshold):
                why = f"settled after {index + 1} batch{'es' if index else ''}"
                break
        note = (
            f"adaptive: drew {len(samples)} of {n} samples, {why}: "
            f"P(leader > runner-up) = {chance:.3f} (threshold {threshold:g})"
        )
        return ctx.result(
            answer=winner, strategy=spec, candidates=candidates, votes=votes, scorer="vote", notes=[note]
        )

    return run


def estimate(view: PoolView, ks: Sequence[int], *, batch: int, threshold: float) -> Estimate:
    """The rule replayed on the pool: accuracy and expected samples drawn at each budget."""
    from ponder.lab import estimators as est

    n = view.correct.shape[1]
    curve = est.adaptive_curve(
        view.labels,
        view.correct,
        ks,
        checkpoints=schedule(n, batch, threshold),
        settled=settled_table(n, threshold),
        seed=view.seed,
    )
    info = {
        "methods": dict(zip(map(str, ks), curve.method, strict=True)),
        "mc_error": dict(zip(map(str, ks), map(float, curve.mc_error), strict=True)),
        "samples_mc_error": dict(zip(map(str, ks), map(float, curve.samples_mc_error), strict=True)),
    }
    return Estimate(curve.values, info, samples=curve.samples)


def pooling(spec: Spec) -> Pooling:
    batch = int(spec.params.get("batch", BATCH))
    threshold = float(spec.params.get("threshold", THRESHOLD))

    def replay(view: PoolView, ks: Sequence[int]) -> Estimate:
        return estimate(view, ks, batch=batch, threshold=threshold)

    return Pooling(replay)


register(
    StrategyInfo(
        "adaptive",
        "adaptive consistency: sample in batches until the vote settles (Beta posterior), up to N",
        adaptive,
        KEYS,
        budget=True,
        default_n=16,
        pooling=pooling,
        runs_code=False,
    )
)
