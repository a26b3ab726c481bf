"""Which candidate's full text a client receives.

1. The result has an answer: the best-scored candidate that gave it (ties: the earliest).
2. No answer but scores that tell the candidates apart (best-of-N's logprobs, a judge's): the
   best-scored candidate. (Vote shares where no candidate has an answer are all equal: no help.)
3. Neither, with several candidates (a free-form chat that a vote cannot read): the rubric judge
   (`SCORE_PASSES["rubric"]`, the judge role's model, ponder's default rubric) scores every text,
   in a child context, so its calls are in the run's usage; the response says so in `scorer`.
4. One candidate: that one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ponder.errors import PonderError
from ponder.strategies.base import Context
from ponder.strategies.pooling import SCORE_PASSES
from ponder.types import Problem, Result

FALLBACK = "rubric"


@dataclass(frozen=True)
class Choice:
    result: Result  # with the fallback's calls, where it ran
    index: int | None  # the chosen candidate; None where the strategy returned none
    scorer: str | None  # what chose it


def _score(x: float | None) -> float:
    return x if x is not None and not math.isnan(x) else -math.inf


def _best(result: Result, among: list[int]) -> int:
    return max(among, key=lambda i: (_score(result.candidates[i].score), -i))


async def choose(result: Result, problem: Problem, ctx: Context) -> Choice:
    cands = result.candidates
    if not cands:
        return Choice(result, None, result.scorer)
    if result.answer is not None:
        same = [i for i, c in enumerate(cands) if c.answer == result.answer]
        if same:
            return Choice(result, _best(result, same), result.scorer)
    if len({_score(c.score) for c in cands}) > 1:  # scores that tell the texts apart
        return Choice(result, _best(result, list(range(len(cands)))), result.scorer)
    if len(cands) == 1:
        return Choice(result, 0, result.scorer)
    return await _fallback(result, problem, ctx)


async def _fallback(result: Result, problem: Problem, ctx: Context) -> Choice:
    """Score free-form texts with the rubric judge; on a failure or a spent limit, the first."""
    texts = [replace(c, answer=c.text) for c in result.candidates]
    note = f"no answer to vote on: the {FALLBACK} judge chose among the {len(texts)} texts"
    try:
        scored = await SCORE_PASSES[FALLBACK].run(replace(problem, answer_format="text"), texts, ctx)
        scores = scored.scores
    except PonderError as e:  # the limit spent, or the judge failed: the texts are still there
        note = f"no answer to vote on, and the {FALLBACK} judge could not choose ({e}): the first text"
        scores = [0.0] * len(texts)
    index = max(range(len(texts)), key=lambda i: (scores[i], -i))
    scorer = f"{FALLBACK} (fallback)"
    updated = ctx.result(
        answer=result.answer,
        strategy=result.strategy,
        candidates=result.candidates,
        votes=result.votes,
        scorer=scorer,
        notes=[note],
    )
    return Choice(updated, index, scorer)
