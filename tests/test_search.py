"""Step-level search (`beam@N`, `dvts@N`): its logic on per-role scripted backends (a policy that
writes steps, a step judge that believes some of them), a process reward model over real HTTP, and
the real small model (structure, the prefix cache and the accounting; never whether it is right)."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ponder import PonderError
from ponder.backends.base import Backend, Capabilities
from ponder.backends.embedded import EmbeddedBackend
from ponder.backends.factory import open_backend
from ponder.limits import Limit
from ponder.models.resolve import ModelRef
from ponder.models.resolve import parse as parse_model
from ponder.session import Options, Session
from ponder.strategies import build, check_roles
from ponder.strategies.process import STEP_SYSTEM
from ponder.strategies.search import delimiter_of
from ponder.strategies.verify import BY_LOGPROBS
from ponder.types import Generation, Message, Problem, Result, Sample, SamplingParams, Usage
from scripted import session

PROBLEM = Problem("What is 2 + 3?", id="p")
Writer = Callable[[str, int], "str | tuple[str, str]"]  # (prefix, sample index) → text[, finish]


@dataclass
class StepPolicy:
    """A policy whose i-th sample of a call continuing `prefix` is `write(prefix, i)`; it reports the
    prefix as cached prompt (as an engine that just wrote it would)."""

    write: Writer
    tokens_each: int = 5
    model: str = "policy"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(max_n=64, logprobs=True, prefix_sharing=True, continuation=True)
    )
    requests: list[tuple[list[Message], SamplingParams, int]] = field(default_factory=list)

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        self.requests.append((list(messages), params, n))
        prefix = messages[-1].content if messages[-1].role == "assistant" else ""
        samples = []
        for i in range(n):
            out = self.write(prefix, i)
            text, finish = out if isinstance(out, tuple) else (out, "stop")
            samples.append(Sample(text, finish_reason=finish, completion_tokens=self.tokens_each))
        cached = 20 + len(prefix) // 2 if prefix else 0  # a stand-in: the question and the beam's text
        return Generation(samples, 20 + len(prefix), cached, self.tokens_each * n, 0.1)

    def prefixes(self) -> list[str]:
        return [m[-1].content if m[-1].role == "assistant" else "" for m, _, _ in self.requests]

    def close(self) -> None:
        pass


@dataclass
class StepJudge:
    """A step judge whose P(yes) for the steps so far is `belief(steps)`, as first-token logprobs."""

    belief: Callable[[str], float]
    model: str = "judge"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(max_n=64, logprobs=True, prefix_sharing=True)
    )
    seen: list[str] = field(default_factory=list)

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        assert messages[0].content == STEP_SYSTEM and params.max_tokens == 1 and params.top_logprobs
        steps = messages[-1].content.split("Steps so far:\n", 1)[1].rsplit("\n\nAre the steps", 1)[0]
        self.seen.append(steps)
        p = min(max(self.belief(steps), 1e-6), 1 - 1e-6)
        top = (("Yes", math.log(p)), ("No", math.log(1 - p)))
        return Generation([Sample("Yes", completion_tokens=1, first_top=top)], 40, 30, 1, 0.05)

    def close(self) -> None:
        pass


def run(spec: str, policy: Backend, judge: Backend, problem: Problem = PROBLEM, **options: Any) -> Result:
    import asyncio

    backends = {"policy": policy, "judge": judge}
    with session(backends, roles={"policy": "policy", "judge": "judge"}, **options) as s:
        return asyncio.run(build(spec)(problem, s.context()))


def assert_usage_is_the_sum_of_calls(result: Result) -> None:
    total = sum((c.usage for c in result.calls), Usage())
    assert result.usage == total and result.usage.calls == len(result.calls)


def labelled(prefix: str, i: int) -> str:
    """Step k of sample i: "s<k>.<i>"; the third step answers."""
    k = prefix.count("\n\n") + 1
    return f"s{k}.{i} so 5.\nAnswer: 5" if k == 3 else f"s{k}.{i}"


# The spec


def test_width_must_divide_n_and_defaults_to_the_smallest_factor() -> None:
    with pytest.raises(PonderError, match=r"width=4 must divide N=6") as e:
        build("beam@6:width=4")
    assert "\n" not in str(e.value)
    for spec in ("beam@8", "dvts@9", "beam@7", "dvts@1", "beam@8:width=4:steps=3:delimiter=line"):
        build(spec)
    with pytest.raises(PonderError, match="must be between"):
        build("beam@8:steps=0")


def test_delimiters_are_named_or_spelled_with_escapes() -> None:
    assert delimiter_of("blank") == "\n\n" and delimiter_of("line") == "\n"
    assert delimiter_of("\\nStep") == "\nStep"


def test_the_judge_role_is_called() -> None:
    check_roles(["beam@4", "dvts@4"], ["judge"])  # --judge is accepted


# Beam search on scripted roles


def test_beams_extend_their_own_prefix_one_call_each() -> None:
    policy = StepPolicy(labelled)
    judge = StepJudge(lambda steps: 0.9 if ".1" in steps.split("\n\n")[-1] else 0.3)
    result = run("beam@4:width=2:step_tokens=7", policy, judge)
    (first, *rest), prefixes = policy.requests, policy.prefixes()
    assert first[2] == 4 and first[0][-1].role == "user"  # the first step: one call of n=N, a new turn
    assert all(m[-1].role == "assistant" and n == 2 for m, _, n in rest)  # N/W beams, W ways each
    assert all("\n\n" in p.stop and p.max_tokens == 7 for _, p, _ in policy.requests)
    # Each continued prefix is a beam the last step wrote, with its delimiter: no text is re-invented.
    written = {""} | {p + f"s{p.count(chr(10) * 2) + 1}.{i}\n\n" for p in prefixes for i in range(4)}
    assert set(prefixes) <= written and len(prefixes) == 1 + 2 + 2
    assert result.answer == "5" and len(result.candidates) == 4
    assert {c.text.split("\n\n")[0] for c in result.candidates} <= {"s1.1", "s1.0", "s1.2", "s1.3"}
    assert_usage_is_the_sum_of_calls(result)


def test_the_judge_scores_pick_the_kept_beams() -> None:
    policy = StepPolicy(labelled)
    favourite = {"s1.3", "s1.2"}  # the judge likes the last two samples of the first step

    def belief(steps: str) -> float:
        return 0.95 if steps.split("\n\n")[0] in favourite else 0.1

    run("beam@4:width=2", policy, StepJudge(belief))
    second_step = policy.prefixes()[1:3]
    assert sorted(second_step) == ["s1.2\n\n", "s1.3\n\n"]


def test_dvts_keeps_the_best_of_each_subtree() -> None:
    """The two best first steps are in one subtree ({0, 1}); beam search keeps both, dvts one each."""
    policy = StepPolicy(labelled)
    scores = {"s1.0": 0.9, "s1.1": 0.8, "s1.2": 0.2, "s1.3": 0.3}

    def belief(steps: str) -> float:
        return scores.get(steps.split("\n\n")[0], 0.5)

    run("beam@4:width=2", policy, StepJudge(belief))
    assert sorted(policy.prefixes()[1:3]) == ["s1.0\n\n", "s1.1\n\n"]
    policy = StepPolicy(labelled)
    result = run("dvts@4:width=2", policy, StepJudge(belief))
    assert sorted(policy.prefixes()[1:3]) == ["s1.0\n\n", "s1.3\n\n"]
    assert all(n == 2 for _, _, n in policy.requests[1:])
    assert result.strategy == "dvts@4:width=2" and result.answer == "5"


def test_a_finished_beam_leaves_and_an_empty_step_ends_one() -> None:
    def write(prefix: str, i: int) -> str:
        if not prefix:
            return ["First.", "So 5.\nAnswer: 5", "Other.", "More."][i]
        return "" if prefix == "First.\n\n" else "Then 5.\nAnswer: 5"

    policy = StepPolicy(write)
    judge = StepJudge(lambda steps: 0.9 if steps.startswith(("First", "So")) else 0.5)
    result = run("beam@4:width=2:steps=4", policy, judge)
    # "So 5" answered at once: it is a candidate and never continued.
    assert not any(p.startswith("So 5") for p in policy.prefixes())
    texts = {c.text: c for c in result.candidates}
    assert "So 5.\nAnswer: 5" in texts
    # "First." came back empty: the model ended there, it is a candidate without an answer.
    assert texts["First."].answer is None and texts["First."].score == pytest.approx(0.9)
    assert result.answer == "5"


def test_the_last_step_writes_to_the_end_and_a_beams_tokens_are_capped() -> None:
    policy = StepPolicy(lambda prefix, i: ("step", "length") if not prefix else "more", tokens_each=30)
    result = run("beam@2:width=2:steps=3:step_tokens=30", policy, StepJudge(lambda s: 0.5), max_tokens=50)
    (_, first, _), (_, second, _) = policy.requests
    assert first.max_tokens == 30 and second.max_tokens == 20  # what is left of the beam's 50
    assert all(c.finish_reason == "length" for c in result.candidates)  # its tokens spent
    policy = StepPolicy(lambda prefix, i: "step")
    run("beam@2:width=2:steps=2", policy, StepJudge(lambda s: 0.5))
    assert "\n\n" in policy.requests[0][1].stop and "\n\n" not in policy.requests[-1][1].stop


def test_a_step_cut_by_its_cap_is_continued_without_a_delimiter() -> None:
    def write(prefix: str, i: int) -> str | tuple[str, str]:
        return ("Half a st", "length") if not prefix else "ep.\nAnswer: 5"

    policy = StepPolicy(write)
    result = run("beam@2:width=2", policy, StepJudge(lambda s: 0.5))
    assert policy.prefixes()[1] == "Half a st"
    assert result.candidates[0].text == "Half a step.\nAnswer: 5"


def test_identical_partial_solutions_are_one_beam_and_scored_once() -> None:
    policy = StepPolicy(lambda prefix, i: "same" if not prefix else f"end {i}\nAnswer: {i}")
    judge = StepJudge(lambda s: 0.5)
    run("beam@4:width=2:temperature=0", policy, judge)
    assert judge.seen[0] == "same" and judge.seen.count("same") == 1
    assert policy.requests[1][2] == 4  # the one distinct beam carries all N of the next step


def test_the_answer_is_the_best_scored_finished_candidate() -> None:
    def write(prefix: str, i: int) -> str:
        return f"Answer: {i}" if prefix else f"start {i}"

    scores = {"Answer: 0": 0.2, "Answer: 1": 0.7}
    judge = StepJudge(lambda s: scores.get(s.split("\n\n")[-1], 0.5))
    result = run("beam@2:width=2", StepPolicy(write), judge)
    assert result.answer == "1" and result.scorer == BY_LOGPROBS
    assert max(result.candidates, key=lambda c: c.score or 0).answer == "1"


def test_usage_is_the_sum_of_calls_judges_included_and_the_cache_is_noted() -> None:
    policy = StepPolicy(labelled)
    judge = StepJudge(lambda s: 0.5)
    result = run("dvts@4:width=2", policy, judge)
    assert_usage_is_the_sum_of_calls(result)
    roles = [c.role for c in result.calls]
    assert roles.count("policy") == len(policy.requests) and roles.count("judge") == len(judge.seen) > 0
    (child,) = result.children
    assert child.strategy == "judge calls" and child.usage.calls == len(judge.seen)
    cached = sum(c.usage.cached_prompt_tokens for c in result.calls if c.role == "policy")
    prompt = sum(c.usage.prompt_tokens for c in result.calls if c.role == "policy")
    assert any(f"prefix cache: {cached} of {prompt} policy prompt tokens cached" in n for n in result.notes)
    assert any("judge prompt tokens cached" in n for n in result.notes)


def test_a_limit_stops_the_search_with_its_best_so_far_and_every_call_counted() -> None:
    def write(prefix: str, i: int) -> str:
        return "Answer: 5" if i == 0 and not prefix else f"step {i}"

    result = run("beam@4:width=2", StepPolicy(write), StepJudge(lambda s: 0.5), limit=Limit(calls=4))
    assert result.stopped and result.answer == "5"
    assert_usage_is_the_sum_of_calls(result)
    assert result.usage.calls <= 4


# A process reward model over HTTP


@contextmanager
def prm_server(reply: Callable[[dict[str, Any]], Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A tiny PRM on a loopback port: records each request's JSON and answers `reply(request)`."""
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body)
            out = json.dumps(reply(body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/score", seen
    finally:
        server.shutdown()
        server.server_close()


def open_with_prm(policy: Backend, roles: Mapping[str, str], **options: Any) -> Session:
    """A session whose policy is scripted and whose `prm:` models are opened the real way."""

    def opener(model: str, o: Options, slots: int) -> tuple[Backend, ModelRef]:
        if model.startswith("prm:"):
            ref = parse_model(model)
            return open_backend(ref, o.backend), ref
        return policy, ModelRef(model, "embedded", model, None, 1000)

    return Session.open(roles, Options(**options), opener=opener)


def test_a_prm_scores_the_steps_and_its_calls_are_judge_calls() -> None:
    import asyncio

    def reply(body: dict[str, Any]) -> Any:
        last = body["steps"][-1]
        score = 0.9 if last.endswith(".1") or "Answer" in last else 0.2
        return {"scores": [0.5] * (len(body["steps"]) - 1) + [score], "usage": {"prompt_tokens": 11}}

    with prm_server(reply) as (url, seen):
        policy = StepPolicy(labelled)
        roles = {"policy": "policy", "judge": f"prm:{url}"}
        with open_with_prm(policy, roles) as s:
            result = asyncio.run(build("beam@4:width=4")(PROBLEM, s.context()))
    assert {"question": PROBLEM.question, "steps": ["s1.0"]} in seen
    assert all(set(body) == {"question", "steps"} for body in seen)
    assert policy.prefixes()[1] == "s1.1\n\n" and policy.requests[1][2] == 4  # the PRM's favourite
    judged = [c for c in result.calls if c.role == "judge"]
    assert len(judged) == len(seen) and all(c.model == f"prm:{url}" for c in judged)
    assert all(c.usage.prompt_tokens == 11 and c.usage.flops == 0 and c.usage.calls == 1 for c in judged)
    assert result.scorer == f"the process reward model's score (prm:{url})"
    assert any(f"FLOPs of prm:{url} not counted" in n for n in result.notes)
    assert any(f"dollars of prm:{url} not counted" in n for n in result.notes)
    assert not any("judge prompt tokens cached" in n for n in result.notes)  # a PRM reports no cache
    assert_usage_is_the_sum_of_calls(result)


def test_a_prm_that_is_down_or_answers_wrongly_is_one_line() -> None:
    import asyncio

    with prm_server(lambda body: {"value": 1}) as (url, _):
        pass  # the server is shut: its port now refuses
    roles = {"policy": "policy", "judge": f"prm:{url}"}
    down = "unreachable"
    with open_with_prm(StepPolicy(labelled), roles) as s, pytest.raises(PonderError, match=down) as e:
        asyncio.run(build("beam@2")(PROBLEM, s.context()))
    assert "\n" not in str(e.value)
    wrong = r"answered without a score.*\{\"score\": number\}"
    with prm_server(lambda body: {"value": 1}) as (url, _):
        roles = {"policy": "policy", "judge": f"prm:{url}"}
        with open_with_prm(StepPolicy(labelled), roles) as s, pytest.raises(PonderError, match=wrong):
            asyncio.run(build("beam@2")(PROBLEM, s.context()))


def test_a_prm_score_too_large_for_a_float_is_one_line() -> None:
    from ponder.backends.prm import read_score

    with pytest.raises(PonderError, match="answered without a score"):
        read_score("http://x", {"score": 10**400})  # JSON integers have no size limit


def test_a_prm_cannot_write() -> None:
    import asyncio

    url = "prm:http://127.0.0.1:9/score"
    assert parse_model(url).kind == "prm" and parse_model(url).compute_parameters is None
    with pytest.raises(PonderError, match="needs the scoring endpoint's URL"):
        parse_model("prm:localhost:8000")
    with pytest.raises(PonderError, match="only scores steps"):
        open_with_prm(StepPolicy(labelled), {"policy": url})
    writes = "process reward model: it scores the steps"
    answers = StepPolicy(lambda p, i: "Answer: 5")
    with (
        open_with_prm(answers, {"policy": "policy", "judge": url}) as s,
        pytest.raises(PonderError, match=writes) as e,
    ):
        asyncio.run(build("bon@2:scorer=verify")(PROBLEM, s.context()))
    assert "\n" not in str(e.value)


# The real small model


@pytest.mark.parametrize("spec", ["beam@2:width=2", "dvts@4:width=2"])
def test_step_search_on_the_real_model(smol_engine: EmbeddedBackend, spec: str) -> None:
    import asyncio

    problem = Problem("Tom has 3 boxes with 4 apples each. He eats 2 apples. How many apples are left?")
    n = int(spec.split("@")[1].split(":")[0])
    # not closed: the engine is the test session's, shared with other tests
    s = session({"smollm2-135m": smol_engine}, parameters=135_000_000, max_tokens=24, seed=3)
    result = asyncio.run(build(f"{spec}:steps=2:step_tokens=12")(problem, s.context()))
    policy = [c for c in result.calls if c.role == "policy"]
    judged = [c for c in result.calls if c.role == "judge"]
    assert policy[0].n == n and all(c.n <= n for c in policy[1:]) and judged
    assert all(c.usage.completion_tokens <= 4 for c in judged)  # P(yes), or a grade
    continued = policy[1:]
    assert continued and sum(c.usage.cached_prompt_tokens for c in continued) > 0
    assert result.candidates and all(c.completion_tokens <= 24 for c in result.candidates)
    assert all(c.score is not None for c in result.candidates)
    assert_usage_is_the_sum_of_calls(result)
    assert result.usage.completion_tokens == sum(c.usage.completion_tokens for c in result.calls)
    assert any("policy prompt tokens cached" in n for n in result.notes)
