"""`direct` and `cot`: one greedy answer, without and with a chain of thought."""

from __future__ import annotations

from collections.abc import Callable

from ponder.answers import extract_answer
from ponder.strategies import prompts
from ponder.strategies.base import Context, Strategy, StrategyInfo, register
from ponder.strategies.sampling import TEMPERATURE, to_candidate
from ponder.types import Problem, Result


def _single(system: prompts.Style, default_temperature: float = 0.0) -> Callable[..., Strategy]:
    def factory(*, spec: str, temperature: float | None = None) -> Strategy:
        async def run(problem: Problem, ctx: Context) -> Result:
            t = temperature if temperature is not None else ctx.temperature
            t = default_temperature if t is None else t
            messages = prompts.messages(system, problem)
            (sample,) = await ctx.generate(messages, 1, temperature=t, stop=problem.stop)
            answer = extract_answer(sample.text, problem.answer_format)
            candidate = to_candidate(sample, answer, sample.mean_logprob)
            votes = {answer: 1} if answer is not None else {}
            return ctx.result(answer=answer, strategy=spec, candidates=[candidate], votes=votes)

        return run

    return factory


_TEMPERATURE = TEMPERATURE

register(
    StrategyInfo(
        "direct",
        "one greedy answer, no reasoning asked for",
        _single(prompts.DIRECT),
        {"temperature": _TEMPERATURE},
        budget=False,
        runs_code=False,
    )
)
register(
    StrategyInfo(
        "cot",
        "one greedy chain of thought, then the answer",
        _single(prompts.COT),
        {"temperature": _TEMPERATURE},
        budget=False,
        runs_code=False,
    )
)
