"""Run a strategy over items on one session and judge each answer with the oracle.

The models load once; each item gets a fresh context (ledger, seed, limit), so every verdict carries
its own usage. The strategy sees `item.problem()` only, which holds no gold; the oracle
(`ponder.tasks.correct`) alone sees the item's answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ponder.session import Options, Session
from ponder.specs import parse_spec
from ponder.strategies import build, samples_needed
from ponder.tasks.base import Item
from ponder.tasks.oracle import correct
from ponder.types import Result


@dataclass(frozen=True)
class Verdict:
    item: Item
    result: Result
    correct: bool


@dataclass
class Evaluator:
    """Open models and a strategy, ready to judge items."""

    session: Session
    strategy: str

    @classmethod
    def open(
        cls, roles: Mapping[str, str] | str, strategy: str = "cot", options: Options | None = None
    ) -> Evaluator:
        spec = parse_spec(strategy)
        build(spec)  # a bad spec fails before the model loads
        options = options or Options(seed=0)
        return cls(Session.open(roles, options, slots=samples_needed(spec)), str(spec))

    @property
    def model(self) -> str:
        return self.session.model

    async def judge(self, items: Sequence[Item], progress: Callable[[], None] | None = None) -> list[Verdict]:
        run = build(self.strategy)
        verdicts = []
        for item in items:
            result = await run(item.problem(), self.session.context())
            verdicts.append(Verdict(item, result, correct(item, result.answer)))
            if progress is not None:
                progress()
        return verdicts

    def close(self) -> None:
        self.session.close()
