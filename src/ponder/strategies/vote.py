"""`vote@N(inner)`: a majority vote over N independent runs of any inner strategy.

Each run is a child context with its own seed and the vote's sampling temperature (a greedy `cot`
inside would otherwise give N identical runs), so `vote@8(cot)` is self-consistency by composition,
and its usage is the sum of its runs' to the token. The runs go to the engine together (its slots
are sized for N × the inner strategy's samples). A run stopped by a limit casts the vote it has.

A study runs it as written, never from a pool: even `vote@8(cot)`, whose answers are distributed
as `sc@8`'s, makes 8 independent requests, each reading the prompt, and is charged so.
"""

from __future__ import annotations

import asyncio

from ponder.strategies.base import Context, Strategy, StrategyInfo, register
from ponder.strategies.sampling import DEFAULT_SAMPLING_TEMPERATURE, TEMPERATURE, vote
from ponder.types import Candidate, Problem, Result


def chosen(run: Result) -> Candidate | None:
    """A run's chosen candidate: the last one giving its answer (a revision's final draft, not its
    first), else its last."""
    mine = [c for c in run.candidates if c.answer == run.answer]
    return mine[-1] if mine else (run.candidates[-1] if run.candidates else None)


def vote_runs(
    *, spec: str, n: int, inner: Strategy, inner_spec: str, temperature: float | None = None
) -> Strategy:
    async def run(problem: Problem, ctx: Context) -> Result:
        t = temperature if temperature is not None else ctx.temperature
        t = DEFAULT_SAMPLING_TEMPERATURE if t is None else t
        runs = await asyncio.gather(*(inner(problem, ctx.child(temperature=t)) for _ in range(n)))
        winner, votes = vote([r.answer for r in runs])
        total = len(runs)
        candidates = [
            Candidate(
                text=c.text if c else "",
                answer=r.answer,
                score=votes.get(r.answer, 0) / total if r.answer is not None else 0.0,
                completion_tokens=r.usage.completion_tokens,
                thoughts=c.thoughts if c else "",
                finish_reason=c.finish_reason if c else "stop",
                thinking_tokens=r.usage.thinking_tokens,
            )
            for r in runs
            for c in [chosen(r)]
        ]
        return ctx.result(answer=winner, strategy=spec, candidates=candidates, votes=votes, scorer="vote")

    return run


register(
    StrategyInfo(
        "vote",
        "majority vote over N independent runs of an inner strategy, e.g. vote@8(cot)",
        vote_runs,
        {"temperature": TEMPERATURE},
        budget=True,
        default_n=8,
        wraps=True,
        default_inner="cot",
        runs_code=False,
    )
)
