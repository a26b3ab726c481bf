"""One unit of a study's work, executed: the pure half of the runner (no store, no oracle).

`execute(work, session, config) -> Record` runs a request's model calls and extracts the answers;
it returns the samples, the strategy's answer (a run) and every call the ledger recorded. The driver
(`runner.py`) judges the record with the oracle, which is eval-time and may run the sandbox, and
saves it (`StudyStore.save`, one transaction per record). Nothing here reads or writes the store,
so another executor (a Ray worker) can run `execute` and send its Record back.

A unit is one request: a pool of n samples (`pool[:NAME]`), one run of a strategy at one budget
(`run:SPEC`), or a timing request of the batching calibration (`timing:[NAME:]k`). Its seed is
derived from (study seed, model, problem, kind), never from the order in which work is done, so
work may run concurrently and a resumed study draws what an uninterrupted one would.

Several requests in flight on one local engine share its cores: each one's wall seconds are then
longer than run alone, and summing each call's dollars (wall seconds × cores × price) would count
the cores' time once per call in flight. Where the driver runs work concurrently it wraps each local
backend in `Shared`, which keeps the engine's calls in flight on a `Timeline`; a call's dollars are
then its wall seconds, each instant divided by the number of calls in flight at that instant. Within
a request the apportioned sum is spread over its calls on that engine in proportion to their wall
seconds. Seconds stay as recorded (not "run alone" figures: docs/study.md).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace

from ponder.answers import extract_answer
from ponder.backends.base import Backend, Capabilities
from ponder.lab.study.config import StudyConfig
from ponder.models.prices import hosted_name
from ponder.session import Session
from ponder.specs import Spec
from ponder.strategies import build, prompts
from ponder.strategies.pooling import POOL_PROMPTS, pool_kind, timing_prefix
from ponder.tasks.base import Item
from ponder.types import CallRecord, Generation, Message, SamplingParams, Usage

__all__ = ["Drawn", "Record", "Work", "execute", "pool_kind", "request_seed", "timing_kind"]


def timing_kind(pool: str, k: int) -> str:
    """The stored request kind of a pool's timing request at k samples."""
    return f"{timing_prefix(pool)}{k}"


def request_seed(seed: int, model: str, problem: str, kind: str) -> int:
    digest = hashlib.sha256(f"{seed}\x1f{model}\x1f{problem}\x1f{kind}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2**31


@dataclass
class Work:
    model: str
    item: Item
    kind: str  # "pool[:<pool>]", "run:<spec>" or "timing:[<pool>:]<k>"
    spec: Spec | None
    n: int = 0  # samples of a pool or timing request
    pool: str = "cot"  # the pool a pool or timing request draws for


@dataclass(frozen=True)
class Drawn:
    """A sample as drawn, with its extracted answer; the oracle's verdict comes later."""

    text: str
    thoughts: str
    answer: str | None
    score: float | None
    completion_tokens: int
    finish_reason: str


@dataclass(frozen=True)
class Record:
    """What one unit of work made. `verdicts` and `correct` are filled by the driver's oracle
    (`runner.judged`); a timing request is measured, not judged, and its samples are not stored."""

    model: str
    problem_id: str
    kind: str
    seed: int
    usage: Usage
    samples: tuple[Drawn, ...]
    calls: tuple[CallRecord, ...]
    answer: str | None = None  # a run's chosen answer
    run: bool = False
    verdicts: tuple[bool, ...] | None = None  # one per sample
    correct: bool | None = None  # a run's answer

    @property
    def judged(self) -> bool:
        """Whether the oracle judges this request (pools and runs; not timing requests)."""
        return not self.kind.startswith("timing")


async def execute(work: Work, session: Session, config: StudyConfig) -> Record:
    """Run one unit of work on the session's models; touches no store."""
    seed = request_seed(config.seed, work.model, work.item.id, work.kind)
    problem = work.item.problem()
    overlap = Overlap()
    token = _OVERLAP.set(overlap)  # `Shared` backends report each call's share of the engine here
    try:
        if work.spec is None:
            # A pool is not a run: a limit caps each run of a strategy, never the pool its budgets
            # share; --temperature is the pool's.
            ctx = session.context(seed=seed, temperature=None, limit=None)
            samples = await ctx.generate(
                prompts.messages(POOL_PROMPTS[work.pool], problem),
                work.n,
                temperature=config.temperature,
                logprobs=config.pool_logprobs(work.model, work.pool),
                stop=problem.stop,
            )
            drawn = tuple(
                Drawn(s.text, s.thoughts, extract_answer(s.text, problem.answer_format), s.mean_logprob,
                      s.completion_tokens, s.finish_reason)
                for s in samples
            )  # fmt: skip
            usage, answer, run = ctx.ledger.total(), None, False
        else:
            # A run keeps its strategy's own temperature (cot and direct: greedy).
            ctx = session.context(seed=seed, temperature=None)
            result = await build(work.spec)(problem, ctx)
            drawn = tuple(
                Drawn(c.text, c.thoughts, c.answer, c.score, c.completion_tokens, c.finish_reason)
                for c in result.candidates
            )
            usage, answer, run = result.usage, result.answer, True
    finally:
        _OVERLAP.reset(token)
    calls, usage = overlap.apportion(ctx.ledger.records, usage)
    return Record(work.model, work.item.id, work.kind, seed, usage, drawn, tuple(calls), answer, run)


# -- sharing one local engine between requests in flight --------------------------------------------


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
        """The call's share of the engine over its interval: ∫ 1/(calls in flight) dt ÷ its length
        (1 for a call that ran alone)."""
        now = time.perf_counter()
        share = 0.0
        for (t, k), (t_next, _) in zip(self.events, [*self.events[1:], (now, 0)], strict=True):
            if t >= started and k > 0:
                share += (t_next - t) / k
        self.starts.remove(started)
        self.events.append((now, len(self.starts)))
        oldest = min(self.starts, default=now)
        self.events = [e for e in self.events if e[0] >= oldest]
        return share / (now - started) if now > started else 1.0


@dataclass
class Overlap:
    """One request's calls on shared engines: per model, wall seconds and apportioned seconds."""

    wall: dict[str, float] = field(default_factory=dict)
    share: dict[str, float] = field(default_factory=dict)

    def add(self, model: str, wall_seconds: float, fraction: float) -> None:
        self.wall[model] = self.wall.get(model, 0.0) + wall_seconds
        self.share[model] = self.share.get(model, 0.0) + wall_seconds * fraction

    def apportion(self, calls: Sequence[CallRecord], usage: Usage) -> tuple[list[CallRecord], Usage]:
        """The calls with each local model's dollars scaled by its apportioned share, and the
        request's usage with the same dollars (unchanged where nothing overlapped)."""
        factor = {m: self.share[m] / w for m, w in self.wall.items() if w > 0 and self.share[m] != w}
        if not factor:
            return list(calls), usage
        out = []
        for c in calls:
            f = factor.get(c.model) if hosted_name(c.model) is None and c.role != "tool" else None
            out.append(c if f is None else replace(c, usage=replace(c.usage, cost_usd=c.usage.cost_usd * f)))
        saved = sum(a.usage.cost_usd - b.usage.cost_usd for a, b in zip(calls, out, strict=True))
        return out, replace(usage, cost_usd=usage.cost_usd - saved)


_OVERLAP: ContextVar[Overlap | None] = ContextVar("ponder_study_overlap", default=None)


class Shared:
    """A local backend shared by requests in flight: records each call on the engine's timeline
    and reports its share to the request it belongs to (`Overlap`)."""

    def __init__(self, inner: Backend, model: str, timeline: Timeline) -> None:
        self.inner = inner
        self.model = model
        self.timeline = timeline
        self.capabilities: Capabilities = inner.capabilities

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        started = self.timeline.start()
        try:
            generation = await self.inner.generate(messages, params, n)
        finally:
            fraction = self.timeline.end(started)
        overlap = _OVERLAP.get()
        if overlap is not None:
            overlap.add(self.model, generation.wall_seconds, fraction)
        return generation

    def close(self) -> None:
        self.inner.close()
