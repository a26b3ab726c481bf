"""Run a strategy over items on one model and judge each answer with the oracle.

The model loads once; each item gets a fresh ledger, so every verdict carries its own usage. The
strategy sees `item.problem()` only; the oracle (`ponder.tasks.correct`) alone sees the gold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ponder.backends.base import Backend
from ponder.backends.factory import DEFAULT_CTX, DEFAULT_THREADS, open_backend
from ponder.ledger import Ledger
from ponder.models import prices
from ponder.models.resolve import ModelRef
from ponder.models.resolve import parse as parse_model
from ponder.specs import parse_spec
from ponder.strategies import Context, build, samples_needed
from ponder.tasks.base import Item
from ponder.tasks.oracle import correct
from ponder.types import Result, SamplingParams


@dataclass(frozen=True)
class Verdict:
    item: Item
    result: Result
    correct: bool


@dataclass
class Evaluator:
    """A loaded model and a strategy, ready to judge items."""

    model: ModelRef
    backend: Backend
    strategy: str
    max_tokens: int = 512
    temperature: float | None = None
    seed: int | None = 0

    @classmethod
    def open(
        cls,
        model: str,
        strategy: str = "cot",
        *,
        max_tokens: int = 512,
        temperature: float | None = None,
        seed: int | None = 0,
        base_url: str | None = None,
        threads: int = DEFAULT_THREADS,
        ctx: int = DEFAULT_CTX,
    ) -> Evaluator:
        spec = parse_spec(strategy)
        build(spec)  # a bad spec fails before the model loads
        ref = parse_model(model, quiet=True)
        backend = open_backend(ref, n=samples_needed(spec), threads=threads, n_ctx=ctx, base_url=base_url)
        return cls(ref, backend, str(spec), max_tokens, temperature, seed)

    async def judge(self, items: Sequence[Item], progress: Callable[[], None] | None = None) -> list[Verdict]:
        run = build(self.strategy)
        table = prices.load()
        verdicts = []
        for item in items:
            ctx = Context(
                backend=self.backend,
                model=self.model.ref,
                compute_parameters=self.model.compute_parameters,
                params=SamplingParams(max_tokens=self.max_tokens, seed=self.seed),
                temperature=self.temperature,
                ledger=Ledger(prices=table),
            )
            result = await run(item.problem(), ctx)
            verdicts.append(Verdict(item, result, correct(item, result.answer)))
            if progress is not None:
                progress()
        return verdicts

    def close(self) -> None:
        self.backend.close()
