"""A local engine shared by calls in flight: each call is charged its share of the cores.

Several calls in flight on one local engine (a vote's runs, a study's concurrent requests) share
its cores: each one's wall seconds are longer than run alone, and charging each call's wall seconds
× cores × price would count the cores' time once per call in flight. `Shared` wraps a local backend
and keeps its calls in flight on a `Timeline`; each call's `Generation.core_share` is then the
fraction of its wall time it held the engine: ∫ 1/(calls in flight) dt ÷ its wall seconds (1 for a
call that ran alone). The ledger prices local calls by wall seconds × core_share, so the dollars of
calls that overlapped sum to the time the cores were held, once. Wall seconds stay as measured
(each call's latency), which is why a study charges seconds from timing requests, not from
concurrent runs (docs/study.md). `Session.open` wraps every local backend.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from ponder.backends.base import Backend, Capabilities
from ponder.types import Generation, Message, SamplingParams


class Timeline:
    """The calls in flight on one engine over time (driven from one event loop's thread)."""

    def __init__(self) -> None:
        self.events: list[tuple[float, int]] = []  # (time, calls in flight from then on)
        self.starts: list[float] = []  # start times of the calls in flight

    def start(self) -> float:
        now = time.perf_counter()
        self.starts.append(now)
        self.events.append((now, len(self.starts)))
        return now

    def end(self, started: float) -> float:
        """The call's share of the engine over its interval (1 for a call that ran alone)."""
        now = time.perf_counter()
        share = 0.0
        for (t, k), (t_next, _) in zip(self.events, [*self.events[1:], (now, 0)], strict=True):
            if t >= started and k > 0:
                share += (t_next - t) / k
        self.starts.remove(started)
        self.events.append((now, len(self.starts)))
        oldest = min(self.starts, default=now)
        self.events = [e for e in self.events if e[0] >= oldest]
        return min(1.0, share / (now - started)) if now > started else 1.0


class Shared:
    """A local backend whose calls report their share of the engine (`Generation.core_share`)."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.model = inner.model
        self.timeline = Timeline()
        self.capabilities: Capabilities = inner.capabilities

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        started = self.timeline.start()
        try:
            generation = await self.inner.generate(messages, params, n)
        finally:
            share = self.timeline.end(started)
        return replace(generation, core_share=share * generation.core_share)

    def close(self) -> None:
        self.inner.close()
