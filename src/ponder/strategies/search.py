"""`beam@N` and `dvts@N`: step-level search, a process scorer choosing which partial solutions go on.

    beam@N[:width=W][:steps=S][:step_tokens=T][:delimiter=D][:temperature=X]
    dvts@N[:width=W][:steps=S][:step_tokens=T][:delimiter=D][:temperature=X]

W must divide N; it defaults to N's smallest factor above 1 (2 for an even N). A solution is written
a step at a time; a step ends at the delimiter (`blank`, the default: a blank line; `line`: a
newline; or any text, with `\\n` for a newline). Each step:

1. Every beam kept from the last step is extended by ONE call: its text so far as a final assistant
   message (a continuation: the engine finds the beam's prefix in its cache and reads only what is
   new), n = the ways it is extended, `stop=[delimiter]`, at most T new tokens (default 128). The
   first step is one call of n=N from the question. A beam's steps together stay within the call cap
   (`--max-tokens`).
2. Every new partial solution (each distinct text once) is rated by the process scorer, the judge
   role (`process.py`: an LLM step judge's P(yes), or a process reward model at `prm:URL`), all of a
   step's scoring calls in flight together.
3. A finished beam leaves the search as a candidate; of the others, the kept ones are chosen:
   - `beam` (search-and-learn's convention, Snell et al. 2024): the N/W best over all, each extended
     so that N are written in the next step (W ways each while N/W go on). It ends once N
     candidates have finished;
   - `dvts`, diverse verifier tree search (Beeching et al. 2024): N/W subtrees, the first step's
     samples in groups of W, each keeping only its own best child (greedy by the scorer), extended W
     ways. A subtree whose best child is finished is done. The subtrees never compete, which keeps
     them apart where one beam search would let a few prefixes take every slot.
4. Step S (default 8) has no delimiter: every beam still going writes to its end.

A beam is finished when its last step holds the answer (the problem's answer line or a boxed answer;
for a structured answer format, what that format reads), when its tokens are spent, or when a step
comes back empty: OpenAI-shaped replies say `stop` at the delimiter and at the model's end of turn
alike, so a model that ended its turn is seen by the empty step that follows (one short, cached call).
Identical partial solutions are one beam (temperature 0 would otherwise keep N copies of one).

The answer is the best-scored finished candidate that has one (ties: the earliest); every finished
candidate is in the result with its score. The result's notes say how many prompt tokens each role
found in the engine's prefix cache. On the embedded engine that is about two thirds of what a search
would read, not all but the question: llama.cpp keeps the context of only a call's first sample and
moves cached contexts rather than copying them, so beams that branch read their steps again
(benchmarks/step_prefix.py; serializing a lineage's calls was tried and does not help).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

from ponder.answers import extract_answer
from ponder.errors import PonderError
from ponder.models.resolve import PRM_PREFIX
from ponder.strategies import prompts
from ponder.strategies.base import Context, Key, Strategy, StrategyInfo, register
from ponder.strategies.process import score_steps
from ponder.strategies.sampling import DEFAULT_SAMPLING_TEMPERATURE, TEMPERATURE, vote
from ponder.strategies.verify import JUDGE
from ponder.types import CallRecord, Candidate, Message, Problem, Result, Sample

STEPS = prompts.Style(
    "Solve the problem step by step. Write each step as one short paragraph, with a blank line "
    "between steps.",
    reason_first=True,
)
DELIMITERS = {"blank": "\n\n", "line": "\n"}
T = TypeVar("T")
_STRICT = ("auto", "answer", "number", "boxed")  # formats whose fallbacks (a last number) prove nothing


@dataclass(frozen=True)
class Beam:
    """A partial solution: its steps (each without the delimiter that ended it), the tokens spent on
    it, its score, and why it finished (None while it goes on)."""

    steps: tuple[str, ...] = ()
    tokens: int = 0
    subtree: int = 0
    score: float = -math.inf
    open: bool = False  # its last step was cut by the step's token cap: the next call goes on with it
    finished: str | None = None  # "answer", "end" (the model stopped), "length" (its tokens spent)

    def text(self, delimiter: str) -> str:
        return delimiter.join(self.steps)

    def prefix(self, delimiter: str) -> str:
        """What the next call continues: the text so far, and the delimiter that ended its last step."""
        return self.text(delimiter) + ("" if self.open or not self.steps else delimiter)


def delimiter_of(raw: str) -> str:
    text = DELIMITERS.get(raw, raw.replace("\\n", "\n").replace("\\t", "\t"))
    if not text:
        raise PonderError("delimiter must not be empty: blank, line, or any text (\\n for a newline)")
    return text


def answered(step: str, fmt: str) -> bool:
    if fmt in _STRICT:
        return extract_answer(step, "answer") is not None or extract_answer(step, "boxed") is not None
    return extract_answer(step, fmt) is not None


def grow(parent: Beam, sample: Sample, *, fmt: str, budget: int, last: bool, subtree: int) -> Beam:
    """The parent extended by one sample's new text, and whether that finished it."""
    new, cut = sample.text, sample.finish_reason == "length"
    tokens = parent.tokens + sample.completion_tokens
    if not new.strip() and not cut:  # the model ended its turn (or wrote nothing): the parent is done
        return replace(parent, tokens=tokens, subtree=subtree, finished="end")
    steps = (*parent.steps[:-1], parent.steps[-1] + new) if parent.open else (*parent.steps, new)
    finished = None
    if answered(steps[-1], fmt):
        finished = "answer"
    elif tokens >= budget:
        finished = "length"
    elif last:
        finished = "length" if cut else "end"
    return Beam(steps, tokens, subtree, open=cut, finished=finished)


def best_first(beams: Sequence[Beam]) -> list[Beam]:
    """Highest score first; ties keep their order (the earlier beam first)."""
    return sorted(beams, key=lambda b: -b.score)


def keep_beam(children: Sequence[Beam], n: int, width: int) -> list[tuple[Beam, int]]:
    """beam: the N/W best going on, extended so that N are written (W ways each while N/W go on)."""
    kept = best_first([b for b in children if b.finished is None])[: n // width]
    return [(b, n // len(kept) + (i < n % len(kept))) for i, b in enumerate(kept)]


def keep_dvts(children: Sequence[Beam], n: int, width: int) -> list[tuple[Beam, int]]:
    """dvts: each subtree's best child, extended W ways, unless that child finished the subtree."""
    out = []
    for tree in dict.fromkeys(b.subtree for b in children):
        best = best_first([b for b in children if b.subtree == tree])[0]
        if best.finished is None:
            out.append((best, width))
    return out


@dataclass(frozen=True)
class Search:
    name: str
    keep: Callable[[Sequence[Beam], int, int], list[tuple[Beam, int]]]
    subtrees: bool  # the first step's samples form subtrees of W (dvts); else one pool (beam)


def distinct(children: Sequence[Beam]) -> list[Beam]:
    """Every finished beam, and each partial solution going on once per subtree (the first)."""
    seen: set[tuple[tuple[str, ...], int]] = set()
    out = []
    for c in children:
        if c.finished is None:
            if (c.steps, c.subtree) in seen:
                continue
            seen.add((c.steps, c.subtree))
        out.append(c)
    return out


async def settle(calls: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Await every call (each is recorded, even where another was refused by the limit), then raise
    the first error, if any."""
    found = await asyncio.gather(*calls, return_exceptions=True)
    for outcome in found:
        if isinstance(outcome, BaseException):
            raise outcome
    return cast(list[T], found)


def cache_notes(name: str, records: Sequence[CallRecord]) -> list[str]:
    """What the prefix cache saved, per role: cached prompt tokens of all prompt tokens (a process
    reward model reports no cache, so its calls are left out)."""
    records = [r for r in records if not r.model.startswith(PRM_PREFIX)]
    notes = []
    for role in dict.fromkeys(r.role for r in records):
        prompt = sum(r.usage.prompt_tokens for r in records if r.role == role)
        cached = sum(r.usage.cached_prompt_tokens for r in records if r.role == role)
        if prompt:
            share = f"{cached / prompt:.0%}"
            notes.append(f"{name}: prefix cache: {cached} of {prompt} {role} prompt tokens cached ({share})")
    return notes


def _search(search: Search) -> Callable[..., Strategy]:
    def factory(
        *,
        spec: str,
        n: int,
        width: int | None = None,
        steps: int = 8,
        step_tokens: int = 128,
        delimiter: str = "blank",
        temperature: float | None = None,
    ) -> Strategy:
        if width is None:
            width = min((w for w in range(2, n + 1) if n % w == 0), default=1)
        if n % width:
            raise PonderError(f"'{spec}': width={width} must divide N={n} (N/W beams are kept)")
        stop = delimiter_of(delimiter)
        group = width if search.subtrees else n

        async def run(problem: Problem, ctx: Context) -> Result:
            t = temperature if temperature is not None else ctx.temperature
            t = DEFAULT_SAMPLING_TEMPERATURE if t is None else t
            budget = ctx.params.max_tokens  # a beam's steps together
            question = prompts.messages(STEPS, problem)
            judge = ctx.child(role=JUDGE)
            done: list[Beam] = []
            methods: set[str] = set()
            scored = 0

            async def extend(parent: Beam, ways: int, step: int, offset: int) -> list[Beam]:
                last = step == steps - 1
                room = budget - parent.tokens
                prefix = parent.prefix(stop)
                samples = await ctx.generate(
                    [*question, Message("assistant", prefix)] if prefix else question,
                    ways,
                    temperature=t,
                    stop=problem.stop if last else (stop, *problem.stop),
                    max_tokens=room if last else min(step_tokens, room),
                    seed_offset=offset,
                )
                trees = [i // group for i in range(ways)] if step == 0 else [parent.subtree] * ways
                return [
                    grow(parent, s, fmt=problem.answer_format, budget=budget, last=last, subtree=k)
                    for s, k in zip(samples, trees, strict=True)
                ]

            frontier: list[tuple[Beam, int]] = [(Beam(), n)]
            for step in range(steps):
                # 1. Extend every kept beam: one call each (n = its ways), all in flight together.
                calls = [extend(b, ways, step, step * n + j) for j, (b, ways) in enumerate(frontier)]
                grown = await settle(calls)
                pairs = [(p, c) for (p, _), group_ in zip(frontier, grown, strict=True) for c in group_]
                ctx.keep(*_best([*done, *(c for _, c in pairs if c.finished)], problem, stop))
                # 2. Score each new distinct partial solution, all in flight together; a beam that
                #    only ended keeps its parent's score.
                fresh = list(dict.fromkeys(c.steps for p, c in pairs if c.steps != p.steps))
                found = await settle(
                    [score_steps(problem, s, judge, scored + i) for i, s in enumerate(fresh)]
                )
                scored += len(fresh)
                methods |= {method for _, method in found}
                score = {s: x for s, (x, _) in zip(fresh, found, strict=True)}
                children = [replace(c, score=score.get(c.steps, p.score)) for p, c in pairs]
                # 3. Finished beams leave as candidates; the kept ones go on.
                done += [c for c in children if c.finished is not None]
                ctx.keep(*_best(done, problem, stop))
                enough = search.name == "beam" and len(done) >= n
                frontier = [] if enough else search.keep(distinct(children), n, width)
                if not frontier:
                    break
            answer, candidates = _best(done, problem, stop)
            _, votes = vote([c.answer for c in candidates])
            notes = cache_notes(search.name, ctx.ledger.records)
            notes.append(f"{search.name}: {len(done)} finished, {scored} partial solutions scored")
            return ctx.result(
                answer=answer,
                strategy=spec,
                candidates=candidates,
                votes=votes,
                scorer=" and ".join(sorted(methods)) or None,
                notes=notes,
            )

        return run

    return factory


def _best(done: Sequence[Beam], problem: Problem, delimiter: str) -> tuple[str | None, list[Candidate]]:
    """The best-scored finished candidate's answer (one with an answer first; ties: the earliest), and
    every finished candidate."""
    candidates = [
        Candidate(
            text=b.text(delimiter),
            answer=extract_answer(b.text(delimiter), problem.answer_format),
            score=b.score,
            completion_tokens=b.tokens,
            finish_reason="length" if b.finished == "length" else "stop",
        )
        for b in done
    ]
    if not candidates:
        return None, []
    best = max(range(len(candidates)), key=lambda i: (candidates[i].answer is not None, done[i].score, -i))
    return candidates[best].answer, candidates


KEYS = {
    "width": Key(int, None, "ways each kept beam goes on (N/W are kept); divides N", low=1, high=256),
    "steps": Key(int, 8, "most steps; the last writes to the end", low=1, high=64),
    "step_tokens": Key(int, 128, "most new tokens per step", low=1, high=4096),
    "delimiter": Key(str, "blank", "where a step ends: blank (a blank line), line, or text with \\n"),
    "temperature": TEMPERATURE,
}

register(
    StrategyInfo(
        "beam",
        "step-level beam search: N beams, the N/W best by a process scorer go on, W ways each",
        _search(Search("beam", keep_beam, subtrees=False)),
        KEYS,
        budget=True,
        default_n=8,
        roles=("policy", JUDGE),
        runs_code=False,
    )
)
register(
    StrategyInfo(
        "dvts",
        "diverse verifier tree search: N/W subtrees, each greedy by a process scorer over W ways",
        _search(Search("dvts", keep_dvts, subtrees=True)),
        KEYS,
        budget=True,
        default_n=8,
        roles=("policy", JUDGE),
        runs_code=False,
    )
)
