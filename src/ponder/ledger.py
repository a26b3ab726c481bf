"""The compute ledger: every model call, a judge's included, is recorded here and nowhere else.

For each call it keeps prompt, cached-prompt, completion and thinking tokens and wall seconds, and
derives FLOPs = 2 × compute parameters × (uncached prompt + completion tokens) and dollars from the
price table: per token for hosted models, per CPU-core-hour of wall time for local ones. A result's
usage is `ledger.total()`, the sum of these records, never a separate estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce

from ponder.models.prices import PriceTable
from ponder.types import CallRecord, Generation, Usage


@dataclass
class Ledger:
    prices: PriceTable = field(default_factory=PriceTable)
    records: list[CallRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def record(
        self,
        generation: Generation,
        *,
        role: str,
        model: str,
        n: int,
        compute_parameters: int | None,
        local_cores: int,
    ) -> Usage:
        g = generation
        usage = Usage(
            calls=g.requests,
            prompt_tokens=g.prompt_tokens,
            cached_prompt_tokens=g.cached_prompt_tokens,
            completion_tokens=g.completion_tokens,
            thinking_tokens=sum(s.thinking_tokens for s in g.samples),
            wall_seconds=g.wall_seconds,
        )
        if compute_parameters is None:
            self._note(f"FLOPs of {model} not counted: its parameter count is unknown")
        else:
            usage.flops = 2.0 * compute_parameters * usage.uncached_tokens
        if local_cores > 0:
            usage.cost_usd = self.prices.local_cost(g.wall_seconds, local_cores)
        else:
            # Prices are keyed by the server's model name ("gpt-4o-mini", not "openai:gpt-4o-mini").
            name = model.removeprefix("openai:")
            cost = self.prices.token_cost(name, g.prompt_tokens, g.cached_prompt_tokens, g.completion_tokens)
            if cost is None:
                self._note(f"dollars of {model} not counted: add it to PONDER_HOME/prices.toml")
            else:
                usage.cost_usd = cost
        self.records.append(
            CallRecord(
                role=role,
                model=model,
                n=n,
                usage=usage,
                prompt_seconds=g.prompt_seconds,
                requests=g.requests,
                first_prompt_tokens=(
                    g.prompt_tokens if g.first_prompt_tokens is None else g.first_prompt_tokens
                ),
                first_cached_prompt_tokens=(
                    g.cached_prompt_tokens
                    if g.first_cached_prompt_tokens is None
                    else g.first_cached_prompt_tokens
                ),
            )
        )
        return usage

    def total(self) -> Usage:
        return reduce(lambda a, b: a + b, (r.usage for r in self.records), Usage())
