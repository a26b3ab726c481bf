"""The compute ledger: every call, a judge's and a tool's included, is recorded here and nowhere else.

For each model call it keeps prompt, cached-prompt, completion and thinking tokens and wall seconds,
and derives FLOPs = 2 × the calling model's compute parameters × (uncached prompt + completion tokens)
and dollars from the price table: per token for hosted models, per CPU-core-hour of wall time for
local ones. A tool call (a sandbox run) is wall seconds and dollars per core-hour, no tokens or FLOPs.

Ledgers form a tree: `child()` gives an inner strategy or a judge a sub-ledger. A record lives in
exactly one ledger, and a ledger's `total()` is its own records plus its children's totals, so
usage rolls up into every ancestor exactly once. A result's usage is `ledger.total()`, the sum of
these records, never a separate estimate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import reduce

from ponder.models.prices import PriceTable
from ponder.types import CallRecord, Generation, Usage

TOOL = "tool"  # the role of calls that are not a model


@dataclass
class Ledger:
    prices: PriceTable = field(default_factory=PriceTable)
    entries: list[CallRecord | Ledger] = field(default_factory=list)  # in the order they happened
    own_notes: list[str] = field(default_factory=list)

    @property
    def records(self) -> list[CallRecord]:
        """Every call in this ledger and its children, in the order they were made."""
        return list(self._walk())

    def _walk(self) -> Iterator[CallRecord]:
        for entry in self.entries:
            if isinstance(entry, Ledger):
                yield from entry._walk()
            else:
                yield entry

    @property
    def notes(self) -> list[str]:
        out: list[str] = []
        for note in self._notes():
            if note not in out:
                out.append(note)
        return out

    def _notes(self) -> Iterator[str]:
        yield from self.own_notes
        for entry in self.entries:
            if isinstance(entry, Ledger):
                yield from entry._notes()

    def note(self, text: str) -> None:
        if text not in self.own_notes:
            self.own_notes.append(text)

    def child(self) -> Ledger:
        """A sub-ledger whose records count in this one's total, once."""
        sub = Ledger(prices=self.prices)
        self.entries.append(sub)
        return sub

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
            self.note(f"FLOPs of {model} not counted: its parameter count is unknown")
        else:
            usage.flops = 2.0 * compute_parameters * usage.uncached_tokens
        cost = self.prices.cost(model, local_cores, g)
        if cost is None:
            self.note(f"dollars of {model} not counted: add it to PONDER_HOME/prices.toml")
        else:
            usage.cost_usd = cost
        self.entries.append(
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

    def record_tool(self, name: str, wall_seconds: float, cores: int = 1) -> Usage:
        """A call that is not a model (a sandbox run): its seconds, and dollars for the cores it held."""
        usage = Usage(
            calls=1, wall_seconds=wall_seconds, cost_usd=self.prices.local_cost(wall_seconds, cores)
        )
        self.entries.append(CallRecord(role=TOOL, model=name, n=1, usage=usage))
        return usage

    def total(self) -> Usage:
        return reduce(lambda a, b: a + b, (r.usage for r in self._walk()), Usage())
