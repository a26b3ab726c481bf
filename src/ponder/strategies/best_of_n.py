"""`bon@N`: best-of-N. N sampled chains of thought; a test-time scorer picks one.

The default scorer is the mean token logprob. Where the backend gave no logprobs, the scorer falls
back to the answer's vote share, and the result says so in its notes. Ties go to the earliest sample.
"""

from __future__ import annotations

from ponder.specs import Spec
from ponder.strategies.base import Context, Key, Strategy, StrategyInfo, register
from ponder.strategies.pooling import Pooling, best_scored, majority
from ponder.strategies.sampling import TEMPERATURE, draw, to_candidate, vote
from ponder.strategies.scorers import SCORERS, vote_scores
from ponder.types import Problem, Result


def best_of_n(*, spec: str, n: int, scorer: str = "logprob", temperature: float | None = None) -> Strategy:
    async def run(problem: Problem, ctx: Context) -> Result:
        samples, answers = await draw(problem, ctx, n, temperature, logprobs=scorer == "logprob")
        used, notes = scorer, []
        scores = SCORERS[scorer](samples, answers)
        if scores is None:
            used = "vote"
            scores = vote_scores(samples, answers)
            notes.append(f"scorer '{scorer}' unavailable (no logprobs): fell back to 'vote'")
        # A sample without an answer is chosen only when no sample has one.
        best = max(range(len(samples)), key=lambda i: (answers[i] is not None, scores[i], -i))
        candidates = [to_candidate(s, a, x) for s, a, x in zip(samples, answers, scores, strict=True)]
        _, votes = vote(answers)
        return ctx.result(
            answer=answers[best],
            strategy=spec,
            candidates=candidates,
            votes=votes,
            scorer=used,
            notes=notes,
        )

    return run


def _pooling(spec: Spec) -> Pooling:
    if spec.params.get("scorer", "logprob") == "logprob":
        return Pooling(best_scored, logprobs=True)
    return Pooling(majority)


register(
    StrategyInfo(
        "bon",
        "best-of-N: N sampled chains of thought, the best by a test-time scorer",
        best_of_n,
        {
            "scorer": Key(str, "logprob", "the scorer", choices=tuple(SCORERS)),
            "temperature": TEMPERATURE,
        },
        budget=True,
        default_n=8,
        pooling=_pooling,
    )
)
