"""No strategy can read the gold answer: the object a strategy receives has no gold field at all, and
every registered strategy (those registered later included) runs on a real item without the item's
answer reaching the model or the result."""

from __future__ import annotations

import dataclasses

import pytest

from ponder.strategies import REGISTRY, build
from ponder.tasks.base import Item
from ponder.types import Problem
from scripted import ScriptedBackend, session

GOLD = "GOLD-7f3a91"  # no strategy could produce this by chance


def test_a_problem_has_no_gold_field() -> None:
    names = {f.name for f in dataclasses.fields(Problem)}
    assert not {"gold", "answer", "solution", "data"} & names
    with pytest.raises(TypeError):
        Problem("q?", gold="2")  # type: ignore[call-arg]


def item() -> Item:
    return Item(
        id="x",
        family="arithmetic",
        level=1,
        split="public",
        question="What is 1 + 1?",
        answer=GOLD,
        instruction="Give the final answer on its own last line, in the form 'Answer: <answer>'.",
        answer_format="auto",
        data={"solution": GOLD},
    )


def test_an_items_problem_carries_no_gold() -> None:
    problem = item().problem()
    assert GOLD not in repr(problem)
    assert all(GOLD not in str(getattr(problem, f.name)) for f in dataclasses.fields(problem))


@pytest.mark.parametrize("name", sorted(REGISTRY))
async def test_strategy_never_sees_gold(name: str) -> None:
    info = REGISTRY[name]
    spec = f"{name}@3" if info.budget and info.counts == "samples" else name
    # each reply is also a program that prints its answer, for strategies that run programs (pot)
    texts = [f"```python\nprint({a})\n```\nAnswer: {a}" for a in (1, 2, 2)]
    backend = ScriptedBackend(texts, logprobs=[-1.0, -0.5, -0.7])
    result = await build(spec)(item().problem(), session(backend, max_tokens=8).context())
    sent = " ".join(m.content for r in backend.requests for m in r.messages)
    assert GOLD not in sent
    assert GOLD not in repr(result.to_dict())
    assert result.answer in {"1", "2"}
