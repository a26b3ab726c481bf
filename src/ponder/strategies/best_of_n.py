"""`bon@N`: best-of-N. N sampled chains of thought; a test-time scorer picks one.

The default scorer is the mean token logprob. Where the backend gave no logprobs, the scorer falls
back to the answer's vote share, and the result says so in its notes. `scorer=verify` asks the judge
role about each candidate (`verify.py`: P(yes)); its calls are the result's `judge calls` child.
Ties go to the earliest sample.

`bon@N(inner)` is best of N runs of any inner strategy (`bon@4(revise@2)`: the best of four revised
drafts), each a child context at the sampling temperature, as `vote@N(inner)` runs them; the scorer
reads each run's final candidate (its answer, and its text for a judge). A run has no mean logprob
of its own, so the default `logprob` scorer falls back to the vote and says so: name
`scorer=verify` to have the judge pick. A study runs it as written, never from a pool.

Where no oracle says right or wrong (a written text), `scorer=rubric` has the judge grade each
candidate on the problem's rubric (`rubric_judge.py`) and `scorer=pairwise` has it compare every two
in both orders (`pairwise.py`). A study derives `bon:scorer=rubric` from its pool like `verify`, but
runs `bon@N:scorer=pairwise` as written: its N(N−1) comparisons per criterion do not split into a
per-sample charge, and the ranking of a subset is not the ranking of the pool.
"""

from __future__ import annotations

import asyncio

from ponder.specs import Spec
from ponder.strategies.base import Context, Key, Strategy, StrategyInfo, register
from ponder.strategies.pooling import Pooling, best_scored, majority, scored_by
from ponder.strategies.sampling import DEFAULT_SAMPLING_TEMPERATURE, TEMPERATURE, draw, to_candidate, vote
from ponder.strategies.scorers import SCORER_NAMES, score
from ponder.strategies.vote import chosen
from ponder.types import Problem, Result, Sample


def best_of_n(
    *,
    spec: str,
    n: int,
    scorer: str = "logprob",
    temperature: float | None = None,
    inner: Strategy | None = None,
    inner_spec: str | None = None,
) -> Strategy:
    async def run(problem: Problem, ctx: Context) -> Result:
        if inner is None:
            samples, answers = await draw(problem, ctx, n, temperature, logprobs=scorer == "logprob")
        else:
            samples, answers = await _runs(problem, ctx, inner, n, temperature)
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


async def _runs(
    problem: Problem, ctx: Context, inner: Strategy, n: int, temperature: float | None
) -> tuple[list[Sample], list[str | None]]:
    """N runs of the inner strategy, together, each as one sample: its final candidate's text and
    its own answer and tokens (its whole usage stays in its child's ledger)."""
    t = temperature if temperature is not None else ctx.temperature
    t = DEFAULT_SAMPLING_TEMPERATURE if t is None else t
    runs = await asyncio.gather(*(inner(problem, ctx.child(temperature=t)) for _ in range(n)))
    samples = [
        Sample(
            text=c.text if c else "",
            completion_tokens=r.usage.completion_tokens,
            thinking_tokens=r.usage.thinking_tokens,
            finish_reason=c.finish_reason if c else "stop",
        )
        for r in runs
        for c in [chosen(r)]
    ]
    return samples, [r.answer for r in runs]


def _pooling(spec: Spec) -> Pooling | None:
    if spec.inner is not None:
        return None  # best of N runs of an inner strategy: run as written
    scorer = spec.params.get("scorer", "logprob")
    if scorer == "pairwise":
        return None  # its calls grow as N² and a subset's ranking is its own: run as written
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
        wraps=True,
        inner_optional=True,
        runs_code=False,
    )
)
