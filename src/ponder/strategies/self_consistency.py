"""`sc@N`: self-consistency. N sampled chains of thought, a majority vote over their final answers.

The vote is over extracted, normalized answers, not whole texts, so "18", "$18.00" and "18 dollars"
count as one answer. Each candidate's score is its answer's vote share.
"""

from __future__ import annotations

from ponder.strategies.base import Context, Strategy, StrategyInfo, register
from ponder.strategies.pooling import Pooling, majority
from ponder.strategies.sampling import TEMPERATURE, draw, to_candidate, vote
from ponder.strategies.scorers import vote_scores
from ponder.types import Problem, Result


def self_consistency(*, spec: str, n: int, temperature: float | None = None) -> Strategy:
    async def run(problem: Problem, ctx: Context) -> Result:
        samples, answers = await draw(problem, ctx, n, temperature)
        winner, votes = vote(answers)
        shares = vote_scores(samples, answers)
        candidates = [to_candidate(s, a, x) for s, a, x in zip(samples, answers, shares, strict=True)]
        return ctx.result(answer=winner, strategy=spec, candidates=candidates, votes=votes, scorer="vote")

    return run


register(
    StrategyInfo(
        "sc",
        "self-consistency: N sampled chains of thought, majority vote over answers",
        self_consistency,
        {"temperature": TEMPERATURE},
        budget=True,
        default_n=8,
        pooling=lambda spec: Pooling(majority),
        runs_code=False,
    )
)
