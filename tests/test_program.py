"""`pot@N`: programs run in the sandbox, a vote over their outputs, each run a tool call; a program
that fails, prints nothing, times out or attacks the host casts no vote and does no harm; the study
draws its own `pool:pot` and reads its answers by running the programs."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import sqlite3
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ponder import PonderError
from ponder.backends.base import Capabilities
from ponder.backends.embedded import EmbeddedBackend
from ponder.lab.study import StudyConfig, study
from ponder.ledger import TOOL
from ponder.models.resolve import ModelRef
from ponder.sandbox import Limits, SandboxResult, isolation
from ponder.strategies import build, program, prompts
from ponder.strategies.pooling import POOL_PROMPTS, pool_kind
from ponder.types import Generation, Message, Problem, Result, Sample, SamplingParams
from scripted import ScriptedBackend, session

Q = Problem("How many?")


def fenced(code: str) -> str:
    return f"Let me compute it.\n```python\n{code}\n```\n"


@pytest.fixture
def short_limit(monkeypatch: pytest.MonkeyPatch) -> Limits:
    limits = Limits(timeout=1.5, memory_mb=512, processes=8, file_mb=4)
    monkeypatch.setattr(program, "LIMITS", limits)
    return limits


async def run_pot(texts: list[str], spec: str | None = None) -> tuple[Result, ScriptedBackend]:
    backend = ScriptedBackend(texts, tokens_each=11, prompt_tokens=20)
    result = await build(spec or f"pot@{len(texts)}")(Q, session(backend, max_tokens=50, seed=7).context())
    return result, backend


async def test_only_programs_that_print_vote_and_each_run_is_a_tool_call(short_limit: Limits) -> None:
    texts = [
        fenced("print(18.0)"),  # 18
        fenced("x = 6 * 3\nprint('Answer: $' + str(x))"),  # 18, labelled as the instruction says
        fenced("print(20)"),
        fenced("print(1 / 0)"),  # fails
        fenced("x = 18"),  # prints nothing
        fenced("while True:\n    pass"),  # times out
    ]
    result, backend = await run_pot(texts)
    assert result.answer == "18" and result.votes == {"18": 2, "20": 1}
    assert [c.answer for c in result.candidates] == ["18", "18", "20", None, None, None]
    assert [c.score for c in result.candidates] == pytest.approx([2 / 6, 2 / 6, 1 / 6, 0, 0, 0])
    # the candidates keep the program and what its run gave
    assert "print(18.0)" in result.candidates[0].text and "Output (passed" in result.candidates[0].text
    assert "ZeroDivisionError" in result.candidates[3].text
    assert "Output (timeout" in result.candidates[5].text
    # one model call for all N, then one tool call per program, whatever it did
    assert len(backend.requests) == 1 and backend.requests[0].n == len(texts)
    tools = [c for c in result.calls if c.role == TOOL]
    assert len(tools) == len(texts) and all(c.model == program.TOOL for c in tools)
    assert all(c.usage.wall_seconds > 0 and c.usage.flops == 0 for c in tools)
    assert all(c.usage.completion_tokens == 0 and c.usage.cost_usd > 0 for c in tools)
    assert max(c.usage.wall_seconds for c in tools) >= short_limit.timeout  # the endless loop's
    # the usage is the sum of the calls: tokens and FLOPs from the model, seconds and dollars from all
    assert result.usage.calls == len(result.calls) == 1 + len(texts)
    assert result.usage.wall_seconds == pytest.approx(sum(c.usage.wall_seconds for c in result.calls))
    assert result.usage.cost_usd == pytest.approx(sum(c.usage.cost_usd for c in result.calls))
    assert result.usage.completion_tokens == 11 * len(texts)
    assert result.usage.flops == 2 * 1000 * (20 + 11 * len(texts))


async def test_programs_run_concurrently(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two programs that each sleep 1 s, on at least two cores, finish in well under 2 s."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(program, "_RUNS", ThreadPoolExecutor(max_workers=2))
    started = time.perf_counter()
    result, _ = await run_pot([fenced("import time\ntime.sleep(1)\nprint(7)")] * 2)
    assert result.votes == {"7": 2}
    tools = [c.usage.wall_seconds for c in result.calls if c.role == TOOL]
    assert min(tools) >= 1 and time.perf_counter() - started < sum(tools)


async def test_no_program_no_answer() -> None:
    result, _ = await run_pot(["I cannot write code.", "```python\nprint(\n```"])
    assert result.answer is None and result.votes == {}
    assert sum(c.role == TOOL for c in result.calls) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("```python\nprint(1)\n```\nOutput:\n```\n1\n```", "print(1)\n"),  # the python block, not the output
        ("```py\nprint(1)\n```\n```python\nprint(2)\n```", "print(2)\n"),  # the last python block
        ("Here:\n```python\nprint(3)", "print(3)"),  # generation stopped inside the block
        ("```\nprint(4)\n```", "print(4)\n"),  # unlabelled
        ("print(5)", "print(5)"),  # no block: the whole text
    ],
)
def test_the_program_in_a_reply(text: str, expected: str) -> None:
    assert program.program_of(text) == expected


@pytest.mark.parametrize(
    ("stdout", "fmt", "expected"),
    [
        ("18.0\n", "auto", "18"),
        ("$18\n", "number", "18"),
        ("Answer: 18\n", "number", "18"),
        ("working...\nx = 3\n18\n\n", "auto", "18"),  # the last non-empty line
        ("[3, 1, 2]\n", "list", "[3, 1, 2]"),
        ("Answer: Bob, Ann\n", "names", "Ann, Bob"),
        ("(1+2)*3\n", "expression", "(1+2)*3"),
        ("\\frac{1}{2}\n", "boxed", "1/2"),
        ("42\n", "boxed", "42"),
        ("def f():\n", "code", None),  # a program's output is not a function
        ("\n  \n", "auto", None),
    ],
)
def test_the_output_is_read_in_the_problems_answer_format(
    stdout: str, fmt: str, expected: str | None
) -> None:
    assert program.output_answer(SandboxResult("passed", stdout, "", 0.1), fmt) == expected


def test_a_failed_or_flooding_run_has_no_answer() -> None:
    from ponder.sandbox.run import OUTPUT_CUT

    assert program.output_answer(SandboxResult("error", "18\n", "Traceback", 0.1), "auto") is None
    assert program.output_answer(SandboxResult("timeout", "18\n", "", 5.0), "auto") is None
    assert program.output_answer(SandboxResult("passed", "1\n" * 10 + OUTPUT_CUT, "", 0.1), "auto") is None


def test_the_program_comes_first_whatever_the_question_says() -> None:
    problem = Problem(
        "What is 6 * 7? Only reply with the final value.", instruction="End with 'Answer: <n>'."
    )
    system, user = prompts.messages(program.STYLE, problem)
    assert "Python program" in system.content and system.content.endswith(problem.instruction)
    assert user.content.startswith(problem.question)
    reminder = user.content.removeprefix(problem.question)
    assert "program first" in reminder and "```python" in reminder and reminder.endswith(problem.instruction)
    assert POOL_PROMPTS["pot"].style is program.STYLE and POOL_PROMPTS["pot"].answer is program.program_answer


def test_refuses_in_one_line_without_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil
    import sys

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(sys, "platform", "linux")
    isolation.ensure_isolation.cache_clear()
    try:
        with pytest.raises(PonderError, match=r"bubblewrap is not installed.*install bubblewrap") as e:
            build("pot@2")  # at build time: before a model loads
        assert "\n" not in str(e.value)
    finally:
        isolation.ensure_isolation.cache_clear()


async def test_attacks_get_no_vote_and_do_no_harm(tmp_path: Path, short_limit: Limits) -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"
    (tmp_path / "secret.txt").write_text(secret)
    canary = tmp_path / "canary.txt"
    canary.write_text("host data")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(4)
    port = server.getsockname()[1]
    connections: list[object] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            connections.append(server.accept())

    listener = threading.Thread(target=accept)
    listener.start()
    attacks = [
        fenced(f"print(open({str(tmp_path / 'secret.txt')!r}).read())"),
        fenced(
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\nprint('connected')"
        ),
        fenced("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"),
        fenced(f"open({str(canary)!r}, 'w').write('owned')\nprint('written')"),
        fenced("import os\nos.remove('/usr/lib/os-release')\nprint('removed')"),
        fenced("print(2)"),  # an honest program among them still counts
    ]
    try:
        result, _ = await run_pot(attacks)
    finally:
        listener.join()
        server.close()
    assert [c.answer for c in result.candidates] == [None] * 5 + ["2"]
    assert result.answer == "2" and result.votes == {"2": 1}
    assert "Output (timeout" in result.candidates[2].text  # the fork bomb, held and stopped
    assert secret not in repr(result.to_dict())
    assert connections == []
    assert canary.read_text() == "host data" and Path("/usr/lib/os-release").exists()
    assert sum(c.role == TOOL for c in result.calls) == len(attacks)


async def test_on_the_real_small_model(smol_engine: EmbeddedBackend) -> None:
    """Counts and structure on smollm2-135m (never whether it is right)."""
    problem = Problem("What is 17 + 25?", instruction="Give the final answer as 'Answer: <number>'.")
    ctx = session({"smollm2-135m": smol_engine}, 135_000_000, max_tokens=48, seed=1).context()
    result = await build("pot@3")(problem, ctx)
    assert len(result.candidates) == 3
    policy = [c for c in result.calls if c.role == "policy"]
    tools = [c for c in result.calls if c.role == TOOL]
    assert len(policy) == 1 and policy[0].n == 3 and len(tools) == 3
    assert all(c.usage.wall_seconds > 0 for c in tools)
    assert all("Output (" in c.text for c in result.candidates)
    answered = [c.answer for c in result.candidates if c.answer is not None]
    assert sum(result.votes.values()) == len(answered)
    assert result.answer == (max(result.votes, key=lambda a: result.votes[a]) if answered else None)
    assert result.usage.completion_tokens == sum(c.completion_tokens for c in result.candidates) > 0


@dataclass
class ProgramWriter:
    """A stand-in model that answers the program-of-thought prompt with programs (each request's
    second one fails) and any other prompt with an answer line; deterministic in (prompt, seed,
    index)."""

    model: str = "writer"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(max_n=64, logprobs=False, prefix_sharing=True, local_cores=2)
    )
    programs: list[str] = field(default_factory=list)

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        prompt = "".join(m.content for m in messages)
        samples = []
        for i in range(n):
            h = int.from_bytes(hashlib.sha256(f"{prompt}|{params.seed}|{i}".encode()).digest()[:4], "big")
            value = 1 + h % 3
            if program.STYLE.system in prompt:
                code = f"print({value}.0)" if i % 2 == 0 else "raise ValueError('no')"
                self.programs.append(code)
                text = fenced(code)
            else:
                text = f"Answer: {value}"
            samples.append(Sample(text=text, completion_tokens=7))
        return Generation(samples, 30, 0, 7 * n, 0.01 * n)

    def close(self) -> None:
        pass


def test_a_study_draws_a_pot_pool_and_records_its_runs(tmp_path: Path) -> None:
    from test_study import suite_file

    writer = ProgramWriter()

    def factory(model: str, config: StudyConfig) -> tuple[ProgramWriter, ModelRef]:
        return writer, ModelRef(model, "embedded", model, None, 100)

    summary = study(
        "small", suite_file(tmp_path, count=3), strategies="sc,pot", max_n=2, problems=3,
        out=str(tmp_path / "out"), seed=3, timing_problems=0, backend_factory=factory,
    )  # fmt: skip
    assert {(r["strategy"], r["budget"]) for r in summary["rows"]} == {
        (s, k) for s in ("sc", "pot") for k in (1, 2)
    }
    with sqlite3.connect(tmp_path / "out" / "study.sqlite") as db:
        kinds = {k for (k,) in db.execute("SELECT DISTINCT kind FROM requests")}
        assert pool_kind("pot") == "pool:pot" and {"pool", "pool:pot"} <= kinds
        rows = db.execute(
            "SELECT s.text, s.answer FROM samples s JOIN requests r ON s.request_id = r.id "
            "WHERE r.kind = 'pool:pot' ORDER BY r.id, s.idx"
        ).fetchall()
        assert len(rows) == 3 * 2 and {a is None for _, a in rows} == {True, False}
        for text, answer in rows:
            code = program.program_of(text).strip()
            # the stored answer is what the program printed, normalized ("2.0" votes as "2")
            assert answer == (None if code.startswith("raise") else code[len("print(") : -len(".0)")])
        tools = db.execute(
            "SELECT c.model, c.wall_seconds, c.cost_usd, c.flops FROM calls c "
            "JOIN requests r ON c.request_id = r.id WHERE c.role = ? AND r.kind = 'pool:pot'",
            (TOOL,),
        ).fetchall()
        assert len(tools) == 3 * 2  # one per program run
        assert all(m == program.TOOL and s > 0 and d > 0 and f == 0 for m, s, d, f in tools)
        # the cot pool's answers are read from the text: no tool calls there
        others = db.execute(
            "SELECT count(*) FROM calls c JOIN requests r ON c.request_id = r.id "
            "WHERE c.role = ? AND r.kind != 'pool:pot'",
            (TOOL,),
        ).fetchone()[0]
        assert others == 0
    assert len(writer.programs) == 3 * 2
