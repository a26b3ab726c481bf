"""`pot@N`: program of thought. N sampled programs, each run in the sandbox; a vote over their outputs.

The model writes a short Python program whose printed output is the answer (Chen et al. 2022,
"Program of Thoughts Prompting"). Each program runs in the sandbox (`ponder.sandbox`: no network,
no host files, standard library only) under `LIMITS`; what it prints last is its answer, read in the
problem's answer format, so "18.0", "18" and "Answer: $18" vote together. A program that fails,
times out or prints nothing casts no vote.

Accounting: each run is a `tool` call in the ledger (wall seconds of the sandbox, dollars for the
core it held, no tokens or FLOPs), recorded whether the program passed or not. Programs run
concurrently, at most one per core at a time (`_RUNS`, shared by every caller in the process: a
study's pool requests too).

The study derives `pot@k` from a pool of its own (`pool:pot`, this prompt), whose answers are read
by `program_answer`, the same function the strategy calls: what the study measures is what the
strategy does, tool calls included.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import NamedTuple

from ponder.answers import extract_answer, normalize
from ponder.sandbox import Limits, SandboxResult, run_code
from ponder.sandbox.isolation import ensure_isolation
from ponder.sandbox.run import OUTPUT_CUT
from ponder.strategies import prompts
from ponder.strategies.base import Context, Strategy, StrategyInfo, register
from ponder.strategies.pooling import Pooling, majority, register_pool
from ponder.strategies.sampling import DEFAULT_SAMPLING_TEMPERATURE, TEMPERATURE, to_candidate, vote
from ponder.strategies.scorers import vote_scores
from ponder.types import Problem, Result, Sample

STYLE = prompts.Style(
    "Write a short Python program that computes the answer and prints only the answer; "
    "reason in comments where you need to. Reply with the program in one ```python code block: "
    "what it prints is your reply.",
    reason_first=True,
    reminder=(
        "Whatever the question says about the form of the reply, write the Python program first, "
        "in one ```python code block that prints the answer. Its output: {instruction}"
    ),
)
LIMITS = Limits(timeout=5.0, memory_mb=512, processes=8, file_mb=4)
TOOL = "sandbox"  # the name its runs are recorded under

_RUNS = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="ponder-pot")
_BLOCK = re.compile(r"```[ \t]*([\w+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_LABEL = re.compile(r"^\W*(?:final\s+)?answer\s*[:：=]\s*", re.IGNORECASE)
_OUTPUT_SHOWN = 2000  # characters of a run's output or error kept in its candidate's text


class Ran(NamedTuple):
    result: SandboxResult
    seconds: float  # as recorded in the ledger
    answer: str | None


def program_of(text: str) -> str:
    """The program in a reply: its last ```python block (an open one where generation stopped),
    else its last unlabelled block, else the whole text."""
    blocks = _BLOCK.findall(text)
    python = [body for lang, body in blocks if lang.lower() in ("python", "py", "python3")]
    plain = [body for lang, body in blocks if not lang]
    return str((python or plain or [text])[-1])


def output_answer(result: SandboxResult, answer_format: str) -> str | None:
    """A run's answer: its last non-empty line of output, read in the problem's answer format; None
    where it did not pass, printed nothing or too much, or the format is code (a program's output is
    not a function)."""
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    flooded = result.stdout.endswith(OUTPUT_CUT)
    if result.status != "passed" or not lines or flooded or answer_format == "code":
        return None
    value = _LABEL.sub("", lines[-1])  # "Answer: 18", as the problem's instruction may have it say
    if answer_format == "boxed":
        return extract_answer(value, "boxed") or normalize(value) or None
    return extract_answer(f"Answer: {value}", answer_format)


def _timed(program: str) -> tuple[SandboxResult, float]:
    started = time.perf_counter()
    result = run_code(program, "", LIMITS)
    return result, time.perf_counter() - started  # its files and cleanup too, not the wait for a core


async def execute(problem: Problem, sample: Sample, ctx: Context) -> Ran:
    """Run a sample's program in the sandbox (on a worker thread, one per core at most) and record
    the run as a tool call."""
    program = program_of(sample.text)
    result, seconds = await asyncio.get_running_loop().run_in_executor(_RUNS, _timed, program)
    ctx.tool(TOOL, seconds, cores=1)
    return Ran(result, seconds, output_answer(result, problem.answer_format))


async def program_answer(problem: Problem, sample: Sample, ctx: Context) -> str | None:
    """The pool's answer reader: what the sample's program prints, or None (no vote)."""
    return (await execute(problem, sample, ctx)).answer


def shown(ran: Ran) -> str:
    """What a candidate's text adds to the reply: the run's status and output (its error if none)."""
    out = ran.result.stdout.strip() or ran.result.stderr.strip()
    out = out if len(out) <= _OUTPUT_SHOWN else "…" + out[-_OUTPUT_SHOWN:]
    return f"\n\nOutput ({ran.result.status}, {ran.seconds:.2f} s):\n{out}"


def program_of_thought(*, spec: str, n: int, temperature: float | None = None) -> Strategy:
    ensure_isolation()  # where no sandbox can run, refuse in one line now, before a model loads

    async def run(problem: Problem, ctx: Context) -> Result:
        # 1. N programs in one call, at the spec's, the user's or the sampling default temperature.
        t = temperature if temperature is not None else ctx.temperature
        t = DEFAULT_SAMPLING_TEMPERATURE if t is None else t
        messages = prompts.messages(STYLE, problem)
        samples = await ctx.generate(messages, n, temperature=t, stop=problem.stop)
        # 2. Each program in the sandbox, concurrently; each run a tool call.
        runs = await asyncio.gather(*(execute(problem, s, ctx) for s in samples))
        # 3. A vote over the outputs; a program without one casts none.
        answers = [r.answer for r in runs]
        winner, votes = vote(answers)
        shares = vote_scores(samples, answers)
        candidates = [
            to_candidate(replace(s, text=s.text + shown(r)), r.answer, x)
            for s, r, x in zip(samples, runs, shares, strict=True)
        ]
        return ctx.result(answer=winner, strategy=spec, candidates=candidates, votes=votes, scorer="vote")

    return run


register_pool("pot", STYLE, program_answer)
register(
    StrategyInfo(
        "pot",
        "program of thought: N sampled programs run in the sandbox, majority vote over their outputs",
        program_of_thought,
        {"temperature": TEMPERATURE},
        budget=True,
        default_n=8,
        pooling=lambda spec: Pooling(majority, pool="pot"),
        runs_code=True,
    )
)
