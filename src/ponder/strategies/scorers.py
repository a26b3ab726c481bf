"""Test-time scorers for best-of-n: they see the candidates, never the gold answer.

- `logprob`: the mean token logprob of each sample (the model's own confidence);
- `vote`: the share of samples whose extracted answer equals this one's;
- a scoring pass that calls a model, registered in `pooling.py`'s `SCORE_PASSES`, which a study
  also runs over its pools: `verify` (the judge's P(yes) that the answer is right), `rubric` (the
  judge's weighted score on a rubric's criteria) and `pairwise` (every two candidates compared per
  criterion in both orders, ranked by a Bradley–Terry fit; as its calls grow as N², a study runs a
  `bon` that names it as written rather than from a pool).
A sample scorer returns one score per sample, or None where it cannot score (no logprobs).
`score` runs any of them and says which one it used: where a scorer scores no answered sample (no
logprobs; a judge that answers neither yes, no nor a grade), the vote, and a note says so. A study's
pool estimators fall back the same way, per problem.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ponder.strategies import pairwise as _pairwise  # noqa: F401  (registers `pairwise`)
from ponder.strategies import rubric_judge as _rubric  # noqa: F401  (registers `rubric`)
from ponder.strategies import verify as _verify  # noqa: F401  (registers the `verify` pass)
from ponder.strategies.pooling import SCORE_PASSES
from ponder.strategies.sampling import to_candidate
from ponder.types import Problem, Sample

if TYPE_CHECKING:
    from ponder.strategies.base import Context

Scorer = Callable[[Sequence[Sample], Sequence[str | None]], list[float] | None]


def logprob_scores(samples: Sequence[Sample], answers: Sequence[str | None]) -> list[float] | None:
    """Mean token logprobs; None when the backend gave none (an empty sample alone scores −inf)."""
    scores = [s.mean_logprob for s in samples]
    if all(x is None for x in scores):
        return None
    return [float(x) if x is not None else float("-inf") for x in scores]


def vote_scores(samples: Sequence[Sample], answers: Sequence[str | None]) -> list[float]:
    counts = Counter(a for a in answers if a is not None)
    total = len(answers)
    return [counts[a] / total if a is not None else 0.0 for a in answers]


SCORERS: dict[str, Scorer] = {"logprob": logprob_scores, "vote": vote_scores}


SCORER_NAMES = ("logprob", "vote", "verify", "rubric", "pairwise")  # the choices of a strategy's `scorer` key


async def score(
    name: str, problem: Problem, samples: Sequence[Sample], answers: Sequence[str | None], ctx: Context
) -> tuple[str, list[float], list[str]]:
    """(the scorer used, one score per sample, notes): a scoring pass calls its models through
    `ctx`; `logprob` without logprobs falls back to `vote`, and a note says so."""
    if name in SCORE_PASSES:
        candidates = [to_candidate(s, a, None) for s, a in zip(samples, answers, strict=True)]
        scored = await SCORE_PASSES[name].run(problem, candidates, ctx)
        if any(a is not None for a in answers) and not any(math.isfinite(x) for x in scored.scores):
            note = f"scorer '{name}' scored no candidate ({scored.method}): fell back to 'vote'"
            return "vote", vote_scores(samples, answers), [*scored.notes, note]
        return f"{name} ({scored.method})", scored.scores, scored.notes
    scores = SCORERS[name](samples, answers)
    if scores is None:
        note = f"scorer '{name}' unavailable (no logprobs): fell back to 'vote'"
        return "vote", vote_scores(samples, answers), [note]
    return name, scores, []
