"""`repair@R`: draft, run it, show the model what went wrong, let it fix it; up to R rounds.

Acting in an environment (Self-Debugging, Chen et al. 2023): the feedback is what running the draft
does, never a model's opinion. The problem's answer format decides what runs, so the spec needs no
mode key (a key would only ever have one useful value per problem):
- **code** (answer format `code`: the `code` family, HumanEval): the draft is a chain of thought
  ending in a function (`cot`'s prompt, as `sc` and `exec` draw); it runs in the sandbox on the
  examples the problem states (`>>> f(...)` and the output, `calls.stated_examples`), each call
  under its own timer. Hidden tests never reach a `Problem`, so they cannot reach this; only the
  oracle runs them, at the end. A code problem that states no example gives no feedback: the result
  says so and answers with the draft, after no round, rather than pretending.
- **any other format**: the draft is a program of thought (`pot`'s prompt); its answer is what it
  prints, read as `pot` reads it (`program.execute`). The feedback is its exception, its running
  out of time or memory, or its printing nothing (or nothing readable as an answer). A program that
  prints an answer passes: without the gold nothing better is known.

Steps:
1. The draft: one call at the spec's or the context's temperature, else 0 (greedy); inside
   `vote@4(repair@1)` the vote's temperature makes four different drafts.
2. Run it; each sandbox run is a `tool` call with its seconds. All stated examples pass (or the
   program prints an answer) → stop: no more rounds.
3. Else a fix: the original messages, the latest draft as the assistant's turn, and a user turn with
   the failure (the failing call, expected against actual output, or the exception's last line;
   three failures at most, each cut to `SHOWN` characters) asking for the whole solution again.
   Back to 2, R fixes at most.
Only the latest draft and its failure are shown, not the whole history: the prompt stays the size of
one exchange whatever R is (a small model's context is 1024 tokens in the tests), and an earlier
failure is either fixed in the latest draft or shown again.

The answer is the draft that passed the most stated examples, the latest among equals (a fix that
passes nothing still replaces a draft that passed nothing: it saw more feedback); every draft is a
candidate, in order, scored by the share of examples it passed (pot: 1 where it printed an answer).
Each draft is kept (`ctx.keep`), so a limit that refuses a fix ends with the best draft so far.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

from ponder.answers import extract_answer
from ponder.sandbox import SandboxResult
from ponder.sandbox.isolation import ensure_isolation
from ponder.strategies import program, prompts
from ponder.strategies.base import Context, Strategy, StrategyInfo, register
from ponder.strategies.calls import Call, stated_examples
from ponder.strategies.execution import SHOWN, run_calls
from ponder.strategies.sampling import TEMPERATURE, to_candidate
from ponder.types import Message, Problem, Result, Sample

FAILURES_SHOWN = 3


class Check(NamedTuple):
    """What running one draft found."""

    answer: str | None
    passed: bool  # every stated example passed (pot: it printed an answer)
    score: float | None  # the share of stated examples passed (pot: 1 or 0)
    feedback: str  # the user turn asking for a fix ("" where it passed)
    shown: str  # what the candidate's text adds: the run's outcome


def _cut(text: str, limit: int = SHOWN) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return _cut(lines[-1]) if lines else "(no message)"


class ExampleRun(NamedTuple):
    outcomes: list[tuple[bool, str | None]]  # per example: passed, what it returned or raised (None: not run)
    result: SandboxResult
    seconds: float  # as recorded in the ledger: the sandbox, its files and cleanup


def run_examples(code: str, examples: Sequence[Call]) -> ExampleRun:
    """The program on every stated example, in one sandbox run, each call under its own timer
    (`execution.run_calls`, the harness `exec` runs)."""
    started = time.perf_counter()
    ran = run_calls(code, examples)
    seconds = time.perf_counter() - started
    outcomes = [(ok is True, got) for ok, got in zip(ran.passed, ran.shown, strict=True)]
    return ExampleRun(outcomes, ran.result, seconds)


async def check_code(problem: Problem, sample: Sample, examples: list[Call], ctx: Context) -> Check:
    """Run a code draft on the stated examples (a `tool` call) and say what failed."""
    fix = f"Fix the solution and write it again in full. {problem.instruction}"
    answer = extract_answer(sample.text, problem.answer_format)
    if answer is None:
        return Check(None, False, 0.0, f"Your reply held no Python code to run.\n\n{fix}", "")
    outcomes, result, seconds = await asyncio.to_thread(run_examples, answer, examples)
    ctx.tool(program.TOOL, seconds)
    passed = sum(ok for ok, _ in outcomes)
    shown = f"\n\nStated examples: {passed} of {len(examples)} passed ({seconds:.2f} s)"
    if passed == len(examples):
        return Check(answer, True, 1.0, "", shown)
    if all(got is None for _, got in outcomes):
        why = {"timeout": "it ran out of time", "memory": "it ran out of memory"}.get(result.status)
        what = why or _last_line(result.stderr or result.stdout)
        feedback = f"Running your solution failed before any example ran: {what}\n\n{fix}"
        return Check(answer, False, 0.0, feedback, shown)
    failures: list[str] = []
    for example, (ok, got) in zip(examples, outcomes, strict=True):
        if not ok and len(failures) < FAILURES_SHOWN:
            actual = got if got is not None else "the run ended before this example"
            expected = _cut(example.expected or "")
            failures.append(f">>> {_cut(example.source)}\nexpected: {expected}\ngot: {actual}")
    feedback = (
        f"Your solution was run on the examples the problem states: {passed} of {len(examples)} "
        "passed.\n\n" + "\n\n".join(failures) + f"\n\n{fix}"
    )
    return Check(answer, False, passed / len(examples), feedback, shown)


async def check_program(problem: Problem, sample: Sample, ctx: Context) -> Check:
    """Run a program of thought (`pot`'s runner: a `tool` call) and say why it gave no answer."""
    ran = await program.execute(problem, sample, ctx)
    if ran.answer is not None:
        return Check(ran.answer, True, 1.0, "", program.shown(ran))
    status, printed = ran.result.status, ran.result.stdout.strip()
    if status == "timeout":
        what = f"did not finish within {program.LIMITS.timeout:g} seconds"
    elif status == "memory":
        what = "ran out of memory"
    elif status != "passed":
        what = f"failed: {_last_line(ran.result.stderr or ran.result.stdout)}"
    elif not printed:
        what = "printed nothing"
    else:
        what = f"printed {_last_line(printed)!r}, which is not an answer in the form asked for"
    fix = program.STYLE.reminder.format(instruction=problem.instruction)
    feedback = f"Your program was run. It {what}.\n\nFix the program and write it again in full. {fix}"
    return Check(None, False, 0.0, feedback, program.shown(ran))


def _closed(text: str) -> str:
    """The draft as the assistant's turn: a code block left open by the stop string, closed."""
    return text.rstrip("\n") + "\n```" if text.count("```") % 2 else text


def _best(checks: Sequence[Check]) -> Check:
    """The draft passing the most stated examples; one with an answer, then the latest, among equals."""
    return max(reversed(checks), key=lambda c: (c.score or 0.0, c.answer is not None))


def _note(rounds: int, n: int, best: Check, examples: int | None) -> str:
    if examples is None:
        outcome = "the program printed an answer" if best.passed else "no program printed an answer"
    else:
        passed = round((best.score or 0.0) * examples)
        outcome = f"the answer passed {passed} of {examples} stated examples"
    return f"repair: {rounds} of {n} repair rounds; {outcome}"


def repair(*, spec: str, n: int, temperature: float | None = None) -> Strategy:
    ensure_isolation()  # where no sandbox can run, refuse in one line now, before a model loads

    async def run(problem: Problem, ctx: Context) -> Result:
        t = temperature if temperature is not None else ctx.temperature
        t = 0.0 if t is None else t
        code = problem.answer_format == "code"
        examples = stated_examples(problem.question) if code else []
        messages = prompts.messages(prompts.COT if code else program.STYLE, problem)
        # 1. The draft.
        (sample,) = await ctx.generate(messages, 1, temperature=t, stop=problem.stop)
        if code and not examples:
            answer = extract_answer(sample.text, problem.answer_format)
            note = (
                "repair: the problem states no example to run: no feedback, the draft unrepaired (0 rounds)"
            )
            return ctx.result(
                answer=answer,
                strategy=spec,
                candidates=[to_candidate(sample, answer, None)],
                votes={answer: 1} if answer is not None else {},
                notes=[note],
            )
        checks: list[Check] = []
        candidates = []
        while True:
            # 2. Run the latest draft; keep the best so far for a limit's refusal.
            check = await (
                check_code(problem, sample, examples, ctx) if code else check_program(problem, sample, ctx)
            )
            checks.append(check)
            candidates.append(
                to_candidate(replace(sample, text=sample.text + check.shown), check.answer, check.score)
            )
            rounds, best = len(checks) - 1, _best(checks)
            note = _note(rounds, n, best, len(examples) if code else None)
            votes = {best.answer: 1} if best.answer is not None else {}
            ctx.keep(best.answer, candidates, votes=votes, notes=[note])
            if check.passed or rounds == n:
                break
            # 3. A fix: the latest draft and its failure, as a follow-up turn.
            follow = [*messages, Message("assistant", _closed(sample.text)), Message("user", check.feedback)]
            (sample,) = await ctx.generate(
                follow, 1, temperature=t, stop=problem.stop, seed_offset=rounds + 1
            )
        return ctx.result(answer=best.answer, strategy=spec, candidates=candidates, votes=votes, notes=[note])

    return run


register(
    StrategyInfo(
        "repair",
        "draft, run it in the sandbox on the stated examples (or as a program of thought), show the "
        "model the failure, let it fix it; up to R rounds",
        repair,
        {"temperature": TEMPERATURE},
        budget=True,
        default_n=2,
        counts="rounds",
        runs_code=True,
    )
)
