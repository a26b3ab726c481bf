"""`exec@N` and the `exec` scoring pass: behaviour clusters on scripted backends and in the sandbox,
tests parsed defensively, the exact pool estimator against brute force, a study, and the real model."""

from __future__ import annotations

import hashlib
import html
import itertools
import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ponder.backends.base import Capabilities
from ponder.lab import estimators as est
from ponder.lab.study import StudyConfig, study
from ponder.models.resolve import ModelRef
from ponder.sandbox import run as sandbox_run
from ponder.strategies import build, execution
from ponder.strategies.calls import entry_names, proposed_tests, stated_examples
from ponder.strategies.execution import EXAMPLE_WEIGHT, choose, cluster_estimate, execution_pass
from ponder.strategies.pooling import PoolView
from ponder.tasks import correct
from ponder.tasks import generate as gen
from ponder.tasks.base import Item
from ponder.types import Candidate, Generation, Message, Problem, Result, Sample, SamplingParams
from scripted import ScriptedBackend, session

# No stated example: the proposer's inputs alone, without expected outputs, so cluster size decides.
SORT = Problem(
    "Write a Python function `solve(xs: list[int]) -> list[int]` that sorts xs.",
    id="sort",
    answer_format="code",
)
SORTED = "```python\ndef solve(xs):\n    return sorted(xs)\n```"
SORTED_TOO = "```python\ndef solve(values):\n    out = list(values)\n    out.sort()\n    return out\n```"
UNSORTED = "```python\ndef solve(xs):\n    return list(xs)\n```"
PROPOSALS = "assert solve([3, 1, 2])\nsolve([])\n- solve([5, -1, 5])\nsolve(open('/etc/passwd'))\nprint(1)"


def two(policy: list[str], proposer: str) -> tuple[ScriptedBackend, ScriptedBackend, Any]:
    pol, prop = ScriptedBackend(policy), ScriptedBackend([proposer], tokens_each=7)
    s = session(
        {"pol": pol, "prop": prop}, {"pol": 1000, "prop": 1000}, {"policy": "pol", "proposer": "prop"}
    )
    return pol, prop, s


def code_item(level: int = 2, index: int = 0) -> Item:
    return gen.items("code", level, index + 1, seed=4)[index]


def variant(reference: str) -> str:
    """The reference, written otherwise: another parameter name and a copy first."""
    body = reference.splitlines()[1:]
    return "def solve(values):\n    xs = list(values)\n" + "\n".join(body) + "\n"


@pytest.fixture(autouse=True)
def quick_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execution, "CALL_SECONDS", 0.5)


# 1. Tests from the statement and from the proposer, parsed as data.


def test_the_code_family_states_examples_that_its_reference_passes_and_hidden_tests_lack() -> None:
    for level in (1, 2, 3, 4):
        for item in gen.items("code", level, 6, seed=9):
            examples = stated_examples(item.problem().question)
            assert 1 <= len(examples) <= 2 and entry_names(item.question, examples) == {"solve"}
            hidden = str(item.data["tests"])
            for ex in examples:
                assert f"assert {ex.source} ==" not in hidden  # an input no hidden test uses
                program = item.answer + f"\nassert {ex.source} == {ex.expected}\n"
                assert sandbox_run.run_code(program).status == "passed"


def test_proposed_tests_keep_literal_calls_of_the_function_only() -> None:
    names = entry_names(SORT.question)
    assert names == {"solve"}
    text = (
        "```python\nassert solve([1, 2]) == [1, 2]\n1. solve([]) == []\n* solve([3])\n"
        "assert solve(__import__('os').system('ls')) == 0\nsolve(xs)\nos.system('x')\n"
        "solve([1, 2]) == [1, 2]\nsolve([4]) == sorted([4])\nother([1])\n```"
    )
    tests = proposed_tests(text, names, 10, [])
    assert [(t.source, t.expected) for t in tests] == [
        ("solve([1, 2])", "[1, 2]"),
        ("solve([])", "[]"),
        ("solve([3])", None),
        ("solve([4])", None),  # the expected output is no literal: the input is kept, the output not
    ]
    assert len(proposed_tests(text, names, 2, [])) == 2
    assert proposed_tests(text, names, 10, tests[:1])[0].source == "solve([])"  # stated: not repeated


def test_humaneval_docstring_examples_parse() -> None:
    from ponder.tasks.static import humaneval

    items = humaneval()
    first = stated_examples(items[0].problem().question)
    assert [e.expected for e in first] == ["False", "True"]
    assert entry_names(items[0].question, first) == {items[0].data["entry_point"]}
    assert 0 < sum(bool(stated_examples(i.question)) for i in items) < len(items)


# 2. The pick.


def test_choose_ranks_examples_then_size_then_proposed_tests() -> None:
    w = EXAMPLE_WEIGHT
    # a bigger cluster loses to one that passes more stated examples
    assert choose(["a", "a", "a", "b"], [0.0, 0.0, 0.0, w]) == 3
    # equal on examples: the bigger cluster, whatever the proposed tests say
    assert choose(["a", "b", "b"], [w + 5, w, w]) == 1
    # equal size too: more proposed tests passed; then the cluster seen first
    assert choose(["a", "b"], [w, w + 1]) == 1
    assert choose(["b", "a", None, "a", "b"], [1.0, 1.0, -math.inf, 1.0, 1.0]) == 0
    assert choose([None, None], [-math.inf, -math.inf]) is None


# 3. The pass and the strategy, in the sandbox.


async def test_equal_behaviour_clusters_and_beats_a_repeated_wrong_program() -> None:
    policy = [UNSORTED, SORTED, UNSORTED, SORTED_TOO, UNSORTED, SORTED, SORTED_TOO]
    _, prop, s = two(policy, PROPOSALS)
    result = await build("exec@7")(SORT, s.context(seed=1))
    assert result.answer is not None and "sorted(xs)" in result.answer
    assert sorted(result.votes.values()) == [3, 4]  # the two correct texts are one cluster
    sc = await build("sc@7")(SORT, session(ScriptedBackend(policy)).context(seed=1))
    assert sc.answer is not None and "list(xs)" in sc.answer  # the text vote picks the wrong one
    # one proposer call, greedy; one sandbox run per distinct program, under the tool role
    roles = [c.role for c in result.calls]
    assert roles.count("policy") == 1 and roles.count("proposer") == 1
    assert [c.model for c in result.calls if c.role == "tool"] == ["sandbox"] * 3
    assert prop.requests[0].params.temperature == 0.0 and "solve" in prop.requests[0].messages[0].content
    tools = sum(c.usage.wall_seconds for c in result.calls if c.role == "tool")
    assert tools > 0 and result.usage.wall_seconds >= tools
    assert result.scorer == "exec" and all(c.score == 0.0 for c in result.candidates)


async def test_a_program_that_fails_everywhere_casts_no_group_and_escapes_do_no_harm(tmp_path: Path) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("host data")
    escapes = [
        f"```python\nimport os\nopen({str(canary)!r}, 'w').write('owned')\ndef solve(xs):\n"
        f"    os.remove({str(canary)!r})\n    return sorted(xs)\n```",  # fails at import: no group
        f"```python\ndef solve(xs):\n    open({str(canary)!r}, 'w').write('owned')\n    return xs\n```",
        "```python\nimport os\nos._exit(0)\n```",  # ends the run before any call
        "```python\ndef solve(xs):\n    while True:\n        pass\n```",  # every call out of time
        "```python\ndef solve(xs):\n    raise ValueError('no')\n```",
        "I cannot write this.",
        "```python\ndef solve(xs):\n    return [xs[0]]\n```",  # fails on [] only: a group of its own
    ]
    candidates = [Candidate(t, _code(t), None, 5) for t in escapes]
    _, _, s = two(["unused"], PROPOSALS)
    scored = await execution_pass(SORT, candidates, s.context(seed=2))
    groups = scored.groups
    assert groups is not None and groups[:6] == [None] * 6 and groups[6] is not None
    assert all(x == -math.inf for x in scored.scores[:6]) and math.isfinite(scored.scores[6])
    assert canary.read_text() == "host data"


def _code(text: str) -> str | None:
    from ponder.answers import extract_answer

    return extract_answer(text, "code")


async def test_the_pass_never_sees_hidden_tests_and_stated_examples_decide(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    item = code_item()
    problem = item.problem()
    assert set(vars(problem)) == set(Problem.__dataclass_fields__)  # no field for gold or hidden tests
    proposals = "solve([1, 2, 3]) == [0]\nsolve([-7])"
    hidden = {line.removeprefix("assert ").split(" == ")[0] for line in str(item.data["tests"]).splitlines()}
    hidden -= {"", "solve([1, 2, 3])", "solve([-7])"}  # an input the proposer wrote is its own
    assert hidden and not any(call in problem.question for call in hidden)
    sent: list[str] = []
    real = sandbox_run.run_code

    def recording(program: str, tests: str = "", limits: Any = None, **kw: Any) -> Any:
        sent.append(program + tests)
        return real(program, tests, limits, **kw)

    monkeypatch.setattr("ponder.sandbox.run_code", recording)
    wrong = "```python\ndef solve(xs):\n    return [12345]\n```"
    policy = [wrong, wrong, wrong, f"```python\n{item.answer}```", f"```python\n{variant(item.answer)}```"]
    _, _, s = two(policy, proposals)
    result = await build("exec@5")(problem, s.context(seed=3))
    assert len(sent) == 3 and not any(call in text for call in hidden for text in sent)
    assert correct(item, result.answer)  # passes the stated examples: beats a larger wrong cluster
    scores = [c.score if c.score is not None else math.nan for c in result.candidates]
    assert scores[0] == scores[1] == scores[2] < scores[3] == scores[4]


# 4. The pool estimator: exact, against brute force over every k-subset.


def brute(labels: np.ndarray, scores: np.ndarray, correct: np.ndarray, k: int) -> float:
    """Average over k-subsets of the pick's correctness: each top cluster (ties shared) credits the
    fraction of its drawn members that are correct (the first of them, in a random order)."""
    n = labels.size
    total = 0.0
    subsets = list(itertools.combinations(range(n), k))
    for sub in subsets:
        members: dict[int, list[int]] = {}
        for j in sub:
            if labels[j] >= 0 and math.isfinite(scores[j]):
                members.setdefault(int(labels[j]), []).append(j)
        if not members:
            continue

        keys = {}
        for g, js in members.items():
            e, f = divmod(max(scores[j] for j in js), EXAMPLE_WEIGHT)
            keys[g] = (e, len(js), f)
        top = [g for g in members if keys[g] == max(keys.values())]
        total += sum(correct[members[g]].mean() for g in top) / len(top)
    return total / len(subsets)


def random_pool(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    clusters = int(rng.integers(1, n + 1))
    labels = rng.integers(-1, clusters, size=n)
    by_cluster = rng.choice([0.0, 1.0, 2.0, EXAMPLE_WEIGHT, EXAMPLE_WEIGHT + 1.0], size=clusters)
    scores = np.where(labels >= 0, by_cluster[np.maximum(labels, 0)], -np.inf)
    return labels, scores, rng.random(n) < 0.5  # correctness may differ within a cluster


def test_the_cluster_estimate_is_exact() -> None:
    rng = np.random.default_rng(7)
    for _ in range(40):
        n = int(rng.integers(1, 9))
        labels, scores, ok = random_pool(rng, n)
        ks = list(range(1, n + 1))
        view = PoolView(ok[None], labels[None], scores[None], (labels >= 0)[None], seed=0)
        got = cluster_estimate(view, ks).values[0]
        want = [brute(labels, scores, ok, k) for k in ks]
        assert np.allclose(got, want), (labels, scores, ok)


def test_with_equal_scores_and_one_verdict_per_cluster_it_is_the_majority_vote() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(-1, 4, size=(30, 12))
    right = rng.random((30, 4)) < 0.4
    ok = np.take_along_axis(right, np.maximum(labels, 0), axis=1)
    scores = np.where(labels >= 0, 0.0, -np.inf)
    ks = [1, 2, 5, 12]
    view = PoolView(ok, labels, scores, labels >= 0, seed=0)
    got = cluster_estimate(view, ks).values
    assert np.allclose(got, est.majority_curve(labels, ok, ks, exact_limit=10**6).values)
    assert np.allclose(got[:, 0], np.where(labels >= 0, ok, False).mean(axis=1))


# 5. A study: the `score:exec` request, exec@k from the same pool as sc, the pass's compute added.

WRONG = "```python\ndef solve(xs):\n    return [12345]\n```"


@dataclass
class Coder:
    """A deterministic coder: per (prompt, seed, index), one of two correct programs (written
    differently), a wrong one (three times as likely as each correct text), or no code; as the
    proposer, a few tests."""

    references: dict[str, str]
    model: str = "coder"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(max_n=64, logprobs=True, prefix_sharing=True, local_cores=2)
    )

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        prompt = "".join(m.content for m in messages)
        if "test cases" in prompt:
            texts = ["assert solve([1, 2, 3]) == [1, 2, 3]\nsolve([])\nsolve([9, -9, 4])"]
        else:
            reference = next(r for q, r in self.references.items() if q in prompt)
            options = (
                [WRONG] * 3 + [f"```python\n{reference}```"] * 2 + [f"```python\n{variant(reference)}```"] * 2
            )
            texts = []
            for i in range(n):
                h = int.from_bytes(hashlib.sha256(f"{prompt}|{params.seed}|{i}".encode()).digest()[:8], "big")
                texts.append(options[h % 8] if h % 8 < 7 else "no idea")
        samples = [Sample(text=t, completion_tokens=12) for t in texts]
        return Generation(samples, 40, 0, 12 * len(samples), 0.01 * len(samples))

    def close(self) -> None:
        pass


def test_a_study_derives_exec_from_the_pool_and_charges_the_pass(tmp_path: Path) -> None:
    items = gen.items("code", 2, 4, seed=5)
    references = {i.question: i.answer for i in items}

    def factory(model: str, config: StudyConfig) -> tuple[Coder, ModelRef]:
        return Coder(references), ModelRef(model, "embedded", model, None, 1000)

    out = tmp_path / "s"
    summary = study(
        "coder", "code@2", strategies="sc,exec,coverage", max_n=8, problems=4, seed=5,
        out=str(out), backend_factory=factory,
    )  # fmt: skip
    with sqlite3.connect(out / "study.sqlite") as db:
        kinds = sorted({k for (k,) in db.execute("SELECT kind FROM requests")})
        passes = db.execute("SELECT COUNT(*) FROM requests WHERE kind = 'score:exec'").fetchone()[0]
        roles = {r for (r,) in db.execute("SELECT role FROM calls")}
    assert {"pool", "score:exec"} <= set(kinds) and not any(k.startswith("run:") for k in kinds)
    assert {"policy", "proposer", "tool"} <= roles and passes == len(items)  # one pass per problem
    rows = {(r["strategy"], r["budget"]): r for r in summary["rows"]}
    ks = sorted(k for s, k in rows if s == "exec")
    assert ks == sorted(k for s, k in rows if s == "sc") and ks[-1] == 8
    for k in ks:
        ex, sc, cov = rows[("exec", k)], rows[("sc", k)], rows[("coverage", k)]
        # the wrong program fails the stated examples, so exec picks right whenever it can
        assert ex["accuracy"] == pytest.approx(cov["accuracy"]) and ex["accuracy"] >= sc["accuracy"] - 1e-9
        assert ex["mean_flops"] > sc["mean_flops"] and ex["mean_seconds"] > sc["mean_seconds"]
        assert ex["mean_completion_tokens"] > sc["mean_completion_tokens"]
    assert rows[("exec", 8)]["accuracy"] > rows[("sc", 8)]["accuracy"]
    # the proposer is charged whole at every budget, the sandbox runs per sample scored
    extra = {k: rows[("exec", k)]["mean_seconds"] - rows[("sc", k)]["mean_seconds"] for k in ks}
    assert 0 < extra[1] < extra[2] < extra[8]
    flops = {k: rows[("exec", k)]["mean_flops"] - rows[("sc", k)]["mean_flops"] for k in ks}
    assert flops[1] == pytest.approx(flops[8])
    assert rows[("exec", 1)]["accuracy"] == pytest.approx(rows[("sc", 1)]["accuracy"])
    notes = [n for n in summary["notes"] if "compares program text" in n]  # sc on code votes on text
    assert len(notes) == 1 and notes[0].startswith("sc on code")
    assert html.escape(notes[0]) in (out / "report.html").read_text()  # and the page says so


# 6. The real model: counts and structure only.


def test_exec_on_the_real_model(smol_engine: object) -> None:
    import asyncio

    item = code_item(level=1)
    s = session({"smol": smol_engine}, {"smol": 135_000_000}, max_tokens=40, seed=5)  # type: ignore[dict-item]
    result: Result = asyncio.run(build("exec@2")(item.problem(), s.context(seed=5)))
    assert len(result.candidates) == 2
    programs = {c.answer for c in result.candidates if c.answer}
    roles = [c.role for c in result.calls]
    assert roles.count("proposer") == bool(programs) and roles.count("tool") == len(programs)
    assert result.usage.calls == len(result.calls) == 1 + bool(programs) + len(programs)
    assert sum(result.votes.values()) <= 2 and (result.answer is None or result.answer in programs)
