"""One unit of a study's work, executed: the pure half of the runner (no store, no oracle).

`execute(work, session, config) -> Record` runs a request's model calls and extracts the answers;
it returns the samples, the strategy's answer (a run) and every call the ledger recorded. The driver
(`runner.py`) judges the record with the oracle, which is eval-time and may run the sandbox, and
saves it (`StudyStore.save`, one transaction per record). Nothing here reads or writes the store,
so another executor (a Ray worker) can run `execute` and send its Record back.

A unit is one request: a pool of n samples (`pool[:NAME]`), one run of a strategy at one budget
(`run:SPEC`), a timing request of the batching calibration (`timing:[NAME:]k`), or a scoring pass
over a stored pool (`score:SCORER[:NAME]`: the verifier's calls on each of the pool's samples; the
driver hands it the pool's samples as candidates, as a strategy would hand its own). Its seed is
derived from (study seed, model, problem, kind), never from the order in which work is done, so
work may run concurrently and a resumed study draws what an uninterrupted one would.

Several requests in flight on one local engine share its cores: every session wraps a local engine
in `ponder.backends.shared.Shared`, so each call's dollars are its share of the cores' time, never
the cores' time once per call in flight. Seconds stay as recorded (not "run alone" figures under
concurrency: docs/study.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, replace
from typing import Any

from ponder.answers import extract_answer
from ponder.lab.study.config import StudyConfig
from ponder.session import Session
from ponder.specs import Spec
from ponder.strategies import build, prompts
from ponder.strategies.base import SEED_MODULUS
from ponder.strategies.pooling import POOL_PROMPTS, SCORE_PASSES, pool_kind, timing_prefix
from ponder.tasks.base import Item
from ponder.types import CallRecord, Candidate, Usage

__all__ = ["Drawn", "Record", "Work", "execute", "pool_kind", "request_seed", "timing_kind"]


def timing_kind(pool: str, k: int) -> str:
    """The stored request kind of a pool's timing request at k samples."""
    return f"{timing_prefix(pool)}{k}"


def request_seed(seed: int, model: str, problem: str, kind: str) -> int:
    digest = hashlib.sha256(f"{seed}\x1f{model}\x1f{problem}\x1f{kind}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % SEED_MODULUS


@dataclass
class Work:
    model: str
    item: Item
    kind: str  # "pool[:<pool>]", "run:<spec>", "timing:[<pool>:]<k>" or "score:<scorer>[:<pool>]"
    spec: Spec | None
    n: int = 0  # samples of a pool or timing request
    pool: str = "cot"  # the pool a pool, timing or score request draws for or reads
    scorer: str | None = None  # a score request's scoring pass
    candidates: tuple[Candidate, ...] = ()  # a score request's pool, filled by the driver

    @property
    def scoring(self) -> bool:
        return self.scorer is not None


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
    (`drive.judged`); a timing request is measured, not judged, and its samples are not stored."""

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
    children: tuple[dict[str, Any], ...] = ()  # a run's inner results (`Result.to_dict()`), as a tree

    @property
    def judged(self) -> bool:
        """Whether the oracle judges this request (pools and runs; not timing or score requests)."""
        return not self.kind.startswith(("timing", "score:"))


async def execute(work: Work, session: Session, config: StudyConfig) -> Record:
    """Run one unit of work on the session's models; touches no store."""
    seed = request_seed(config.seed, work.model, work.item.id, work.kind)
    problem = work.item.problem()
    children: tuple[dict[str, Any], ...] = ()
    if work.scorer is not None:
        # A scoring pass, as a strategy runs it on its own candidates: the pool's samples, scored
        # one by one by the pass's roles. Not a run: no limit.
        ctx = session.context(seed=seed, temperature=None, limit=None)
        start = time.perf_counter()
        scored = await SCORE_PASSES[work.scorer].run(problem, work.candidates, ctx)
        elapsed = time.perf_counter() - start
        groups = scored.groups or [None] * len(work.candidates)
        details = scored.details or [None] * len(work.candidates)
        # One entry per candidate: its score, its group (as `answer`), the method (as `thoughts`)
        # and what else the pass found, as JSON (as `text`), stored as the request's scores
        # (`StudyStore.save`), never as samples.
        drawn = tuple(
            Drawn(json.dumps(detail) if detail is not None else "", scored.method, group, score, 0, "stop")
            for score, group, detail in zip(scored.scores, groups, details, strict=True)
        )
        # The pass's calls overlap (a judge's prompts in flight together, programs on every core):
        # its seconds are the time it took, not the sum of its calls' latencies under that load.
        usage, answer, run = replace(ctx.ledger.total(), wall_seconds=elapsed), None, False
    elif work.spec is None:
        # A pool is not a run: a limit caps each run of a strategy, never the pool its budgets
        # share; --temperature is the pool's.
        ctx = session.context(seed=seed, temperature=None, limit=None)
        prompt = POOL_PROMPTS[work.pool]
        samples = await ctx.generate(
            prompts.messages(prompt.style, problem),
            work.n,
            temperature=config.temperature,
            logprobs=config.pool_logprobs(work.model, work.pool),
            stop=problem.stop,
        )
        if prompt.answer is not None:
            answers = list(await asyncio.gather(*(prompt.answer(problem, s, ctx) for s in samples)))
        else:
            answers = [extract_answer(s.text, problem.answer_format) for s in samples]
        drawn = tuple(
            Drawn(s.text, s.thoughts, a, s.mean_logprob, s.completion_tokens, s.finish_reason)
            for s, a in zip(samples, answers, strict=True)
        )
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
        children = tuple(c.to_dict() for c in result.children)
    calls = tuple(ctx.ledger.records)
    return Record(
        work.model, work.item.id, work.kind, seed, usage, drawn, calls, answer, run, children=children
    )
