"""No strategy reads the gold answer: a problem whose gold explodes on any touch runs through all."""

from __future__ import annotations

from typing import Any, NoReturn

import pytest

from ponder.ledger import Ledger
from ponder.strategies import REGISTRY, Context, build
from ponder.types import Problem, SamplingParams
from scripted import ScriptedBackend


class Gold:
    """Any use of this object (str, compare, hash, attribute, bool, iteration) fails the test."""

    touched = False

    def _boom(self, *args: Any, **kwargs: Any) -> NoReturn:
        Gold.touched = True
        raise AssertionError("a strategy read the gold answer")

    __str__ = __repr__ = __eq__ = __ne__ = __hash__ = __bool__ = __iter__ = __len__ = _boom
    __lt__ = __gt__ = __format__ = __float__ = __int__ = __contains__ = _boom

    def __getattr__(self, name: str) -> NoReturn:
        self._boom()


class SealedProblem(Problem):
    """A problem whose `gold` attribute may not even be looked up (an `is None` check included)."""

    def __getattribute__(self, name: str) -> Any:
        if name == "gold":
            Gold.touched = True
            raise AssertionError("a strategy looked up problem.gold")
        return super().__getattribute__(name)


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("sealed", [False, True])
async def test_strategy_never_reads_gold(name: str, sealed: bool) -> None:
    info = REGISTRY[name]
    spec = f"{name}@3" if info.budget else name
    backend = ScriptedBackend(["Answer: 1", "Answer: 2", "Answer: 2"], logprobs=[-1.0, -0.5, -0.7])
    ctx = Context(backend, "scripted", 100, SamplingParams(max_tokens=8), ledger=Ledger())
    Gold.touched = False
    problem = SealedProblem("q?", gold="2") if sealed else Problem("q?", gold=Gold())
    result = await build(spec)(problem, ctx)
    assert not Gold.touched
    assert result.answer in {"1", "2"}


def test_the_seal_works() -> None:
    with pytest.raises(AssertionError):
        _ = SealedProblem("q").gold is None
    assert SealedProblem("q").question == "q"


def test_the_poison_works() -> None:
    with pytest.raises(AssertionError):
        str(Gold())
    with pytest.raises(AssertionError):
        _ = Gold() == "2"
