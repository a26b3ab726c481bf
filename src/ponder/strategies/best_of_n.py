"""`bon@N`: best-of-N. N sampled chains of thought; a test-time scorer picks one.

The default scorer is the mean token logprob. Where the backend gave no logprobs, the scorer falls
back to the answer's vote share, and the result says so in its notes. `scorer=verify` asks the judge
role about each candidate (`verify.py`: P(yes)); its calls are the result's `judge calls` child.
Ties go to the earliest sample.
"""

from __future__ import annotations

from ponder.specs import Spec
from ponder.strategies.base import Context, Key, Strategy, StrategyInfo, register
from ponder.strategies.pooling import Pooling, best_scored, majority, scored_by
from ponder.strategies.sampling import TEMPERATURE, draw, to_candidate, vote
from ponder.strategies.scorers import SCORER_NAMES, score
from ponder.types import Problem, Result


def best_of_n(*, spec: str, n: int, scorer: str = "logprob", temperature: float | None = None) -> Strategy:
    async def run(problem: Problem, ctx: Context) -> Result:
        samples, answers = await draw(problem, ctx, n, temperature, logprobs=scorer == "logprob")
        # where a limit refuses the scorer's calls, the vote of the samples drawn is the answer
        ctx.keep(vote(answers)[0], [to_candidate(s, a, None) for s, a in zip(samples, answers, strict=True)])
        used, scores, notes = await score(scorer, problem, samples, answers, ctx)
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
    scorer = spec.params.get("scorer", "logprob")
    return scored_by(scorer, majority if scorer == "vote" else best_scored)


register(
    StrategyInfo(
        "bon",
        "best-of-N: N sampled chains of thought, the best by a test-time scorer",
        best_of_n,
        {
            "scorer": Key(str, "logprob", "the scorer", choices=SCORER_NAMES),
            "temperature": TEMPERATURE,
        },
        budget=True,
        default_n=8,
        pooling=_pooling,
    )
)
