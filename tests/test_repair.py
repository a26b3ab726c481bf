"""`repair@R`: a draft run in the sandbox on the stated examples only (or as a program of thought), its
failure shown to the model, fixes up to R rounds; each run a tool call, the usage the sum of the calls;
and the real model: counts and structure."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from ponder.backends.embedded import EmbeddedBackend
from ponder.ledger import TOOL
from ponder.limits import Limit
from ponder.strategies import build, execution, program, prompts, repair
from ponder.tasks import correct
from ponder.tasks import generate as gen
from ponder.tasks.base import CODE_STOP, NUMBER_INSTRUCTION
from ponder.tasks.static import CODE_INSTRUCTION
from ponder.types import Problem, Result, Usage
from scripted import ScriptedBackend, session

SORT = Problem(
    "Write a Python function `solve(xs: list[int]) -> list[int]` that returns xs sorted.\n\n"
    "For example:\n>>> solve([3, 1, 2])\n[1, 2, 3]\n>>> solve([5, -1])\n[-1, 5]",
    id="sort",
    answer_format="code",
    instruction=CODE_INSTRUCTION,
    stop=CODE_STOP,
)
SUM = Problem("What is 6 times 7?", id="mul", answer_format="number", instruction=NUMBER_INSTRUCTION)


def fenced(code: str) -> str:
    """A reply as the engine leaves it: the closing fence is the stop string, dropped."""
    return f"Here it is.\n```python\n{code}\n"


def solve(body: str) -> str:
    return fenced(f"def solve(xs):\n    {body}")


RIGHT = solve("return sorted(xs)")
HALF = solve("return sorted(xs) if len(xs) < 3 else list(xs)")  # passes [5, -1] only
WRONG = solve("return list(xs)")
CRASH = solve("return xs[100]")


@pytest.fixture(autouse=True)
def quick_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execution, "CALL_SECONDS", 0.5)  # the timer of the harness repair runs


async def run(
    texts: list[str], spec: str, problem: Problem = SORT, limit: Limit | None = None
) -> tuple[Result, ScriptedBackend]:
    backend = ScriptedBackend(texts, tokens_each=10, prompt_tokens=20)
    ctx = session(backend, max_tokens=50, seed=3).context(limit=limit)
    return await build(spec)(problem, ctx), backend


def sent(backend: ScriptedBackend, index: int) -> str:
    return "\n".join(m.content for m in backend.requests[index].messages)


def roles(result: Result) -> list[str]:
    return [c.role for c in result.calls]


def assert_sum(usage: Usage, parts: list[Usage]) -> None:
    total = sum(parts, Usage())
    for f in fields(Usage):
        assert getattr(usage, f.name) == pytest.approx(getattr(total, f.name), rel=1e-12)


def program_of(reply: str) -> str:
    code = reply.split("```python\n", 1)[1]
    return code.rstrip("\n") + "\n"


# 1. Code: the stated examples are the environment.


async def test_a_failing_draft_is_shown_its_failure_and_never_a_hidden_test() -> None:
    item = gen.items("code", 1, 1, seed=4)[0]
    fix = fenced(item.answer.rstrip("\n"))
    result, backend = await run([CRASH, fix], "repair@2", item.problem())
    assert roles(result) == ["policy", TOOL, "policy", TOOL]  # the fix passed: no second fix
    follow = backend.requests[1].messages
    assert [m.role for m in follow] == ["system", "user", "assistant", "user"]
    assert follow[:2] == backend.requests[0].messages  # the original conversation, then the draft
    assert follow[2].content == CRASH + "```"  # its block closed again
    assert "raised IndexError: list index out of range" in follow[3].content
    assert ">>> solve(" in follow[3].content and "expected: " in follow[3].content
    hidden = re.findall(r"^assert (solve\(.*?\)) ==", str(item.data["tests"]), flags=re.MULTILINE)
    assert hidden and not any(call in sent(backend, i) for call in hidden for i in (0, 1))
    assert result.answer == program_of(fix) and correct(item, result.answer)  # the oracle, at the end
    assert [c.score for c in result.candidates] == [0.0, 1.0]
    assert "repair: 1 of 2 repair rounds" in result.notes[-1]


async def test_a_passing_draft_is_not_repaired() -> None:
    result, backend = await run([RIGHT, WRONG], "repair@2")
    assert roles(result) == ["policy", TOOL] and len(backend.requests) == 1
    assert result.answer == program_of(RIGHT) and result.votes == {result.answer: 1}
    assert "Stated examples: 2 of 2 passed" in result.candidates[0].text
    assert result.notes[-1] == "repair: 0 of 2 repair rounds; the answer passed 2 of 2 stated examples"


async def test_the_failure_is_expected_against_actual_and_bounded() -> None:
    flood = solve("return list(range(100000)) if len(xs) < 3 else list(xs)")
    result, backend = await run([HALF, flood, RIGHT], "repair@2")
    feedback = backend.requests[1].messages[-1].content
    assert "1 of 2 passed" in feedback
    assert ">>> solve([3, 1, 2])\nexpected: [1, 2, 3]\ngot: [3, 1, 2]" in feedback
    assert "solve([5, -1])" not in feedback  # it passed
    assert feedback.endswith(CODE_INSTRUCTION)
    longest = backend.requests[2].messages[-1].content
    assert "got: [0, 1, 2" in longest and len(longest) < 2 * repair.SHOWN + 400
    assert result.answer == program_of(RIGHT)


async def test_no_more_than_r_rounds_and_the_best_draft_answers() -> None:
    result, backend = await run([HALF, WRONG, CRASH], "repair@2")
    assert roles(result) == ["policy", TOOL] * 3 and len(result.candidates) == 3
    assert result.answer == program_of(HALF)  # 1 of 2 beats the fixes' 0 of 2
    assert [c.score for c in result.candidates] == [0.5, 0.0, 0.0]
    assert result.notes[-1] == "repair: 2 of 2 repair rounds; the answer passed 1 of 2 stated examples"
    result, backend = await run([WRONG, CRASH, RIGHT], "repair@1")
    assert len(backend.requests) == 2 and result.answer == program_of(CRASH)  # equal: the latest


async def test_a_reply_without_code_is_told_so_and_costs_no_run() -> None:
    result, backend = await run(["I cannot.", RIGHT], "repair@1")
    assert roles(result) == ["policy", "policy", TOOL]
    assert "held no Python code" in backend.requests[1].messages[-1].content
    assert result.answer == program_of(RIGHT)


async def test_no_stated_example_no_feedback_no_round() -> None:
    problem = Problem(
        "Write a Python function `solve(xs)` that sorts xs.",
        answer_format="code",
        instruction=CODE_INSTRUCTION,
    )
    result, backend = await run([WRONG, RIGHT], "repair@2", problem)
    assert roles(result) == ["policy"] and len(backend.requests) == 1
    assert result.answer == program_of(WRONG)
    assert "states no example to run" in result.notes[-1] and "0 rounds" in result.notes[-1]


# 2. Accounting and limits.


async def test_usage_is_the_sum_of_its_calls_tools_included() -> None:
    result, _ = await run([CRASH, WRONG, RIGHT], "repair@2")
    assert roles(result) == ["policy", TOOL] * 3
    assert_sum(result.usage, [c.usage for c in result.calls])
    tools = [c for c in result.calls if c.role == TOOL]
    assert all(c.model == program.TOOL and c.usage.wall_seconds > 0 and c.usage.flops == 0 for c in tools)
    assert result.usage.calls == 6 and result.usage.completion_tokens == 30


async def test_a_refused_fix_ends_with_the_draft() -> None:
    result, backend = await run([HALF, RIGHT], "repair@2", limit=Limit(tokens=10))
    assert len(backend.requests) == 1 and roles(result) == ["policy", TOOL]
    assert result.stopped and result.answer == program_of(HALF)
    assert len(result.candidates) == 1 and result.votes == {result.answer: 1}
    assert "the answer passed 1 of 2" in result.notes[-1]


async def test_the_draft_is_greedy_unless_told_and_a_vote_sets_its_temperature() -> None:
    _, backend = await run([WRONG, RIGHT], "repair@1")
    assert [r.params.temperature for r in backend.requests] == [0.0, 0.0]
    _, backend = await run([WRONG, RIGHT], "repair@1:temperature=0.4")
    assert [r.params.temperature for r in backend.requests] == [0.4, 0.4]
    result, backend = await run([RIGHT], "vote@4(repair@1)")
    assert [r.params.temperature for r in backend.requests] == [0.7] * 4
    assert result.answer == program_of(RIGHT) and result.votes == {result.answer: 4}
    assert [roles(child) for child in result.children] == [["policy", TOOL]] * 4
    assert_sum(result.usage, [child.usage for child in result.children])


# 3. Program of thought: any other answer format.


async def test_a_program_of_thought_is_shown_its_exception_then_prints_the_answer() -> None:
    result, backend = await run([fenced("print(6 * 7 / 0)"), fenced("print(6 * 7)")], "repair@2", SUM)
    assert backend.requests[0].messages == prompts.messages(program.STYLE, SUM)
    assert roles(result) == ["policy", TOOL, "policy", TOOL]
    feedback = backend.requests[1].messages[-1].content
    assert "It failed: ZeroDivisionError: division by zero" in feedback
    assert NUMBER_INSTRUCTION in feedback
    assert result.answer == "42" and [c.answer for c in result.candidates] == [None, "42"]
    assert "Output (passed" in result.candidates[1].text
    assert result.notes[-1] == "repair: 1 of 2 repair rounds; the program printed an answer"


async def test_a_program_that_prints_nothing_is_told_so() -> None:
    texts = [fenced("x = 42"), fenced("print('forty-two')"), fenced("print(42)")]
    result, backend = await run(texts, "repair@1", SUM)
    assert "It printed nothing." in backend.requests[1].messages[-1].content
    assert result.answer is None and len(backend.requests) == 2  # R = 1: no second fix
    assert result.notes[-1] == "repair: 1 of 1 repair rounds; no program printed an answer"
    result, backend = await run(texts[1:], "repair@1", SUM)
    assert "printed 'forty-two', which is not an answer" in backend.requests[1].messages[-1].content
    assert result.answer == "42"


# 4. The real model: counts and structure, never whether its code is right.


@pytest.mark.parametrize("kind", ["code", "program"])
async def test_on_the_real_small_model(smol_engine: EmbeddedBackend, kind: str) -> None:
    problem = gen.items("code", 1, 1, seed=4)[0].problem() if kind == "code" else SUM
    ctx = session({"smollm2-135m": smol_engine}, 135_000_000, max_tokens=48, seed=1).context()
    result = await build("repair@1")(problem, ctx)
    drafts, runs = roles(result).count("policy"), roles(result).count(TOOL)
    assert 1 <= drafts == len(result.candidates) <= 2
    assert runs <= drafts and (kind == "code" or runs == drafts)  # a reply without code is not run
    assert drafts == 1 or result.candidates[0].score != 1.0  # a fix only after a failure
    assert_sum(result.usage, [c.usage for c in result.calls])
    assert result.usage.completion_tokens == sum(c.completion_tokens for c in result.candidates) > 0
    assert result.notes[-1].startswith(f"repair: {drafts - 1} of 1 repair rounds")
    assert result.answer is None or result.answer in {c.answer for c in result.candidates}
