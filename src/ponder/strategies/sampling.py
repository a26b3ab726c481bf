"""Shared by the sampling strategies: draw N chains of thought in one call, extract, vote."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ponder.answers import extract_answer
from ponder.strategies import prompts
from ponder.strategies.base import Context, Key
from ponder.types import Candidate, Problem, Sample

DEFAULT_SAMPLING_TEMPERATURE = 0.7
TEMPERATURE = Key(float, None, "sampling temperature, e.g. 0.7", low=0.0, high=2.0)


def to_candidate(sample: Sample, answer: str | None, score: float | None) -> Candidate:
    return Candidate(
        text=sample.text,
        answer=answer,
        score=score,
        completion_tokens=sample.completion_tokens,
        thoughts=sample.thoughts,
        finish_reason=sample.finish_reason,
        thinking_tokens=sample.thinking_tokens,
    )


async def draw(
    problem: Problem,
    ctx: Context,
    n: int,
    temperature: float | None,
    *,
    logprobs: bool = False,
    seed_offset: int = 0,
) -> tuple[list[Sample], list[str | None]]:
    """N samples of the chain-of-thought prompt, in one backend call, and their answers. A strategy
    that draws more than once (in batches) gives each call its own `seed_offset`."""
    t = temperature if temperature is not None else ctx.temperature
    t = DEFAULT_SAMPLING_TEMPERATURE if t is None else t
    messages = prompts.messages(prompts.COT, problem)
    samples = await ctx.generate(
        messages, n, temperature=t, logprobs=logprobs, stop=problem.stop, seed_offset=seed_offset
    )
    return samples, [extract_answer(s.text, problem.answer_format) for s in samples]


def vote(answers: Sequence[str | None]) -> tuple[str | None, dict[str, int]]:
    """The most frequent answer and the tally, most votes first.

    Ties go to the answer that appeared first among the samples, so the outcome is deterministic for
    a given list of samples. Samples without an answer do not vote.
    """
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None, {}
    first = {a: i for i, a in reversed(list(enumerate(answers))) if a is not None}
    ranked = sorted(counts, key=lambda a: (-counts[a], first[a]))
    return ranked[0], {a: counts[a] for a in ranked}
