"""Strategy logic on a scripted backend: votes, ties, scorers, temperatures and accounting."""

from __future__ import annotations

import pytest

from ponder.strategies import Context, build
from ponder.types import Problem
from scripted import ScriptedBackend, session

Q = Problem("How many?")


def ctx(backend: ScriptedBackend, temperature: float | None = None) -> Context:
    return session(backend, max_tokens=50, seed=7, temperature=temperature).context()


async def test_sc_votes_over_extracted_answers() -> None:
    texts = ["Answer: 18", "so $18.00\nAnswer: $18.00", "Answer: 20", "Answer: 18 dollars", "nothing"]
    backend = ScriptedBackend(texts)
    result = await build("sc@5")(Q, ctx(backend))
    assert result.answer == "18"
    assert result.votes == {"18": 3, "20": 1}
    assert len(result.candidates) == 5
    assert [c.score for c in result.candidates] == [0.6, 0.6, 0.2, 0.6, 0.0]
    assert len(backend.requests) == 1 and backend.requests[0].n == 5  # one call, n samples


async def test_sc_breaks_ties_by_first_appearance() -> None:
    result = await build("sc@4")(
        Q, ctx(ScriptedBackend(["Answer: 7", "Answer: 3", "Answer: 3", "Answer: 7"]))
    )
    assert result.answer == "7"
    result = await build("sc@4")(
        Q, ctx(ScriptedBackend(["Answer: 3", "Answer: 7", "Answer: 7", "Answer: 3"]))
    )
    assert result.answer == "3"


async def test_sc_with_no_answers() -> None:
    result = await build("sc@3")(Q, ctx(ScriptedBackend(["hmm", "no idea", "?"])))
    assert result.answer is None and result.votes == {}


async def test_bon_picks_the_highest_logprob() -> None:
    backend = ScriptedBackend(
        ["Answer: 1", "Answer: 2", "Answer: 2", "Answer: 3"], logprobs=[-1.0, -0.9, -2.0, -0.1]
    )
    result = await build("bon@4")(Q, ctx(backend))
    assert result.answer == "3" and result.scorer == "logprob"
    assert [c.score for c in result.candidates] == [-1.0, -0.9, -2.0, -0.1]


async def test_bon_falls_back_to_votes_without_logprobs_and_says_so() -> None:
    backend = ScriptedBackend(["Answer: 1", "Answer: 2", "Answer: 2", "Answer: 3"], logprobs=None)
    result = await build("bon@4")(Q, ctx(backend))
    assert result.answer == "2" and result.scorer == "vote"
    assert any("fell back to 'vote'" in n for n in result.notes)


async def test_bon_prefers_a_candidate_with_an_answer() -> None:
    backend = ScriptedBackend(["I am sure", "Answer: 2"], logprobs=[-0.01, -3.0])
    result = await build("bon@2")(Q, ctx(backend))
    assert result.answer == "2"


async def test_bon_vote_scorer() -> None:
    backend = ScriptedBackend(["Answer: 1", "Answer: 2", "Answer: 2"], logprobs=[-0.1, -3.0, -3.0])
    result = await build("bon@3:scorer=vote")(Q, ctx(backend))
    assert result.answer == "2" and result.scorer == "vote"


async def test_temperatures_follow_spec_then_user_then_default() -> None:
    backend = ScriptedBackend(["Answer: 1"])
    await build("cot")(Q, ctx(backend))
    await build("sc@2")(Q, ctx(backend))
    await build("sc@2")(Q, ctx(backend, temperature=1.1))
    await build("sc@2:temperature=0.3")(Q, ctx(backend, temperature=1.1))
    assert [r.params.temperature for r in backend.requests] == [0.0, 0.7, 1.1, 0.3]


@pytest.mark.parametrize("spec", ["direct", "cot", "sc@6", "bon@6"])
async def test_usage_is_the_sum_of_recorded_calls(spec: str) -> None:
    backend = ScriptedBackend(["Answer: 4"], tokens_each=11, prompt_tokens=20)
    result = await build(spec)(Q, ctx(backend))
    n = len(result.candidates)
    assert result.usage.calls == len(backend.requests) == len(result.calls) == 1
    assert result.usage.completion_tokens == 11 * n == sum(c.completion_tokens for c in result.candidates)
    assert result.usage.prompt_tokens == 20
    assert result.usage.flops == 2 * 1000 * (20 + 11 * n)
    assert result.strategy == spec


async def test_only_the_logprob_scorer_pays_for_logprobs() -> None:
    backend = ScriptedBackend(["Answer: 1"], logprobs=[-0.5])
    await build("sc@2")(Q, ctx(backend))
    await build("bon@2:scorer=vote")(Q, ctx(backend))
    await build("bon@2")(Q, ctx(backend))
    assert [r.params.logprobs for r in backend.requests] == [False, False, True]


async def test_a_problems_stop_reaches_the_backend() -> None:
    from ponder.tasks import load

    item = load("code@1", problems=1)[0]
    backend = ScriptedBackend(["```python\ndef solve(xs):\n    return xs"])
    await build("sc@2")(item.problem(), ctx(backend))
    await build("cot")(item.problem(), ctx(backend))
    assert all(r.params.stop == ("\n```\n",) for r in backend.requests)
    await build("cot")(Q, ctx(backend))
    assert backend.requests[-1].params.stop == ()
