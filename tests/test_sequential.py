"""`revise@R`, `think@T` and `bon@N(inner)`: their logic on scripted backends whose replies depend on
who asks (a critic and a drafter are told apart), their accounting, and the real model."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from ponder import PonderError
from ponder.backends.base import Backend, Capabilities
from ponder.backends.thinking import CLOSE, OPEN
from ponder.limits import Limit
from ponder.strategies import build, check_roles
from ponder.strategies.revise import CRITIC_SYSTEM, verdict
from ponder.strategies.think import THINK_SYSTEM, WAIT
from ponder.strategies.verify import GRADE_SYSTEM
from ponder.strategies.verify import SYSTEM as VERIFY_SYSTEM
from ponder.types import Generation, Message, Problem, Result, Sample, SamplingParams
from scripted import session

PROBLEM = Problem("What is 2 + 3?", id="p")


@dataclass
class Replier:
    """A backend whose reply is a function of the request: `reply(messages, params) -> (text,
    completion tokens, finish reason)`. It keeps every request, and the tokens of `<think>` blocks a
    prefix opened count as thinking, as the real backends count them."""

    reply: Callable[[Sequence[Message], SamplingParams], tuple[str, int, str]]
    model: str = "replier"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(max_n=64, logprobs=True, prefix_sharing=True)
    )
    requests: list[tuple[list[Message], SamplingParams]] = field(default_factory=list)

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        self.requests.append((list(messages), params))
        samples = []
        for _ in range(n):
            text, tokens, finish = self.reply(messages, params)
            tokens = min(tokens, params.max_tokens)
            finish = "length" if tokens == params.max_tokens and finish == "length" else finish
            last = messages[-1]
            inside = last.role == "assistant" and OPEN in last.content and CLOSE not in last.content
            samples.append(
                Sample(
                    text,
                    completion_tokens=tokens,
                    thinking_tokens=tokens if inside else 0,
                    finish_reason=finish,
                )
            )
        return Generation(samples, 40, 0, sum(s.completion_tokens for s in samples), 0.1)

    def close(self) -> None:
        pass


def run(spec: str, backends: dict[str, Replier], limit: Limit | None = None, **options: object) -> Result:
    roles = {"policy": "policy", **({"judge": "judge"} if "judge" in backends else {})}
    with session(backends, roles=roles, **options) as s:  # type: ignore[arg-type]
        return asyncio.run(build(spec)(PROBLEM, s.context(seed=1, limit=limit)))


def drafter(answers: Sequence[str]) -> Replier:
    """The policy: its k-th draft answers answers[k] (the last one thereafter)."""
    state = {"k": 0}

    def reply(messages: Sequence[Message], params: SamplingParams) -> tuple[str, int, str]:
        assert messages[0].content != CRITIC_SYSTEM, "the critique went to the policy"
        k = min(state["k"], len(answers) - 1)
        state["k"] += 1
        return f"Working.\nAnswer: {answers[k]}", 20, "stop"

    return Replier(reply, model="policy")


def critic(says: Callable[[str], str]) -> Replier:
    """The judge: critiques by `says`; as a verifier, it grades 9 a solution answering 5, else 1."""

    def reply(messages: Sequence[Message], params: SamplingParams) -> tuple[str, int, str]:
        if messages[0].content == GRADE_SYSTEM:
            return ("9" if "Answer: 5" in messages[-1].content else "1"), 1, "stop"
        if messages[0].content == VERIFY_SYSTEM:
            return "Yes", 1, "stop"  # no logprobs here: the verifier asks for a grade next
        assert messages[0].content == CRITIC_SYSTEM, "a draft was asked of the judge"
        return says(messages[-1].content), 15, "stop"

    return Replier(reply, model="judge")


def five_is_right(request: str) -> str:
    return (
        "Looks fine.\nVerdict: correct" if "Answer: 5" in request else "2 + 3 is not 6.\nVerdict: incorrect"
    )


def test_verdicts_are_read_from_the_last_verdict_line() -> None:
    assert verdict("Step 1 is wrong.\nVerdict: incorrect") is False
    assert verdict("**Verdict:** Correct") is True
    assert verdict("Verdict: correct... no wait. Verdict: wrong") is False
    assert verdict("I am not sure.") is None


def test_revise_drafts_critiques_and_revises_each_round() -> None:
    policy, judge = drafter(["6", "5", "5"]), critic(five_is_right)
    result = run("revise@2", {"policy": policy, "judge": judge})
    assert [c.answer for c in result.candidates] == ["6", "5", "5"]
    assert result.answer == "5" and len(judge.requests) == 2 and len(policy.requests) == 3
    # the revision continues the policy's own conversation: its draft, then the critique
    second, _ = policy.requests[1]
    assert [m.role for m in second] == ["system", "user", "assistant", "user"]
    assert "Answer: 6" in second[2].content and "2 + 3 is not 6" in second[3].content
    third, _ = policy.requests[2]
    assert len(third) == 6  # the conversation grows: each revision reads every earlier round
    # the critic reads only the current draft, never the earlier rounds
    assert (
        "Answer: 5" in judge.requests[1][0][-1].content
        and "Answer: 6" not in judge.requests[1][0][-1].content
    )
    assert all(p.temperature == 0.0 for _, p in judge.requests)
    assert result.usage.calls == 5 and result.usage.completion_tokens == 3 * 20 + 2 * 15
    assert [c.role for c in result.calls].count("judge") == 2
    assert [child.strategy for child in result.children] == ["judge calls", "judge calls"]


def test_revise_stops_early_only_when_asked() -> None:
    stopping = run("revise@3:stop=true", {"policy": drafter(["5"]), "judge": critic(five_is_right)})
    assert stopping.usage.calls == 2 and len(stopping.candidates) == 1 and stopping.answer == "5"
    going = run("revise@3", {"policy": drafter(["5"]), "judge": critic(five_is_right)})
    assert going.usage.calls == 7 and len(going.candidates) == 4


def test_revise_without_a_judge_model_critiques_with_the_policy_model() -> None:
    def both(messages: Sequence[Message], params: SamplingParams) -> tuple[str, int, str]:
        if messages[0].content == CRITIC_SYSTEM:
            return "Verdict: incorrect", 5, "stop"
        return "Answer: 5", 10, "stop"

    result = run("revise@1", {"policy": Replier(both, model="policy")})
    assert [c.role for c in result.calls] == ["policy", "judge", "policy"]
    assert {c.model for c in result.calls} == {"policy"}


def test_revise_keeps_the_latest_draft_when_the_limit_refuses_a_revision() -> None:
    policy, judge = drafter(["6", "5"]), critic(five_is_right)
    result = run("revise@2", {"policy": policy, "judge": judge}, limit=Limit(calls=2))
    assert result.stopped and result.answer == "6" and result.usage.calls == 2


def test_revise_composes_under_vote_and_bon() -> None:
    voted = run("vote@3(revise@1)", {"policy": drafter(["6", "5"]), "judge": critic(five_is_right)})
    assert len(voted.children) == 3 and voted.usage.calls == 3 * 3
    assert voted.usage.completion_tokens == sum(c.usage.completion_tokens for c in voted.children)
    drafts = iter(["6", "7"])

    def fixes_six(messages: Sequence[Message], params: SamplingParams) -> tuple[str, int, str]:
        if messages[-1].role == "user" and len(messages) > 2:  # a revision: 6 becomes 5, 7 stays
            return ("Answer: 5" if "Answer: 6" in messages[-2].content else messages[-2].content), 20, "stop"
        return f"Answer: {next(drafts)}", 20, "stop"

    judge = critic(five_is_right)
    best = run(
        "bon@2(revise@1):scorer=verify", {"policy": Replier(fixes_six, model="policy"), "judge": judge}
    )
    runs = [c for c in best.children if c.strategy == "revise@1"]
    assert len(best.candidates) == 2 and len(runs) == 2
    finals = sorted(r.answer or "" for r in runs)
    assert "5" in finals and best.answer == "5"  # the verifier grades 5 highest
    assert best.scorer is not None and "verify" in best.scorer
    assert best.usage.calls == sum(c.usage.calls for c in best.children)
    # the verifier's calls (a yes/no and a grade per run's final draft) are judge calls too
    verifier = [c for c in best.children if c.strategy == "judge calls"]
    assert len(verifier) == 1 and verifier[0].usage.calls == 4


def test_bon_of_runs_is_run_as_written_in_a_study_and_checks_its_roles() -> None:
    from ponder.lab.study.config import pooling
    from ponder.specs import parse_spec

    assert pooling(parse_spec("bon@4(revise@1)")) is None
    assert pooling(parse_spec("bon@4")) is not None
    check_roles(["revise@1"], ["judge"])
    check_roles(["bon@4(revise@1)"], ["judge"])
    with pytest.raises(PonderError, match="no strategy"):
        check_roles(["think@64"], ["judge"])


def thinker(chunks: Sequence[tuple[int, str]], answer: str = " 5", thought: str = "") -> Replier:
    """A policy that thinks in the given chunks (tokens, finish reason) and answers `answer`."""
    state = {"k": 0}

    def reply(messages: Sequence[Message], params: SamplingParams) -> tuple[str, int, str]:
        assert messages[0].content.startswith(THINK_SYSTEM.split("{")[0])
        prefix = messages[-1].content
        assert messages[-1].role == "assistant" and prefix.startswith(OPEN)
        if CLOSE in prefix:
            return answer, 3, "stop"
        tokens, finish = chunks[min(state["k"], len(chunks) - 1)]
        state["k"] += 1
        return f" step{state['k']}{thought}", tokens, finish

    return Replier(reply, model="policy")


def test_think_caps_thinking_and_forces_the_answer() -> None:
    policy = thinker([(100, "length")])
    result = run("think@64", {"policy": policy})
    (candidate,) = result.candidates
    assert result.answer == "5" and candidate.thinking_tokens == 64
    assert result.usage.thinking_tokens == 64 and result.usage.completion_tokens == 64 + 3
    last, params = policy.requests[-1]
    assert last[-1].content.endswith(f"{CLOSE}\n\nAnswer:") and params.max_tokens == 128
    assert any("cut at the budget" in n for n in result.notes)


def test_think_spans_calls_where_the_session_caps_a_call() -> None:
    policy = thinker([(1000, "length")])
    result = run("think@100", {"policy": policy}, max_tokens=40)
    thinking = [p.max_tokens for m, p in policy.requests if CLOSE not in m[-1].content]
    assert thinking == [40, 40, 20] and result.usage.thinking_tokens == 100
    # each call continues the last: the second prefix holds the first call's thoughts
    assert "step1" in policy.requests[1][0][-1].content


def test_think_min_appends_wait_until_the_floor() -> None:
    policy = thinker([(10, "stop")])
    result = run("think@200:min=25", {"policy": policy})
    prefixes = [m[-1].content for m, _ in policy.requests]
    assert prefixes[1].endswith(f"\n{WAIT}") and result.usage.thinking_tokens == 30
    assert len(policy.requests) == 4  # three thinking calls (10 + 10 + 10 ≥ 25), then the answer
    assert any("Wait(s) appended" in n for n in result.notes)
    capped = run("think@200:min=100:waits=1", {"policy": thinker([(10, "stop")])})
    assert capped.usage.thinking_tokens == 20  # one Wait, then it may stop


def test_think_checks_its_keys_before_any_model_runs() -> None:
    with pytest.raises(PonderError, match="min=300 is more than the budget"):
        build("think@100:min=300")
    with pytest.raises(PonderError, match="between"):
        build("think@0")


def test_think_reads_the_thoughts_only_where_the_answer_has_none() -> None:
    result = run("think@50", {"policy": thinker([(5, "stop")], answer="", thought="\nAnswer: 4")})
    assert result.answer == "4" and any("read from the thoughts" in n for n in result.notes)
    answered = run("think@50", {"policy": thinker([(5, "stop")], answer=" 5", thought="\nAnswer: 4")})
    assert answered.answer == "5" and not any("read from the thoughts" in n for n in answered.notes)


def test_think_ends_where_a_server_counts_no_tokens_of_a_cut_call() -> None:
    # a server that reports no usage: each call is cut ("length") and counts 0 tokens, so the budget
    # never fills; thinking must end rather than continue for ever
    calls = {"k": 0}

    def reply(messages: Sequence[Message], params: SamplingParams) -> tuple[str, int, str]:
        calls["k"] += 1
        assert calls["k"] < 20, "think looped on calls that count no tokens"
        return (" 5", 0, "stop") if CLOSE in messages[-1].content else (" more", 0, "length")

    result = run("think@64", {"policy": Replier(reply, model="policy")})
    assert result.answer == "5" and calls["k"] <= 3


@dataclass
class Reasoner:
    """A server with a reasoning parser: a thinking call's new text comes back as `reasoning_content`
    (the sample's `thoughts`, stripped), its `text` empty; the answer after the closed block as text."""

    model: str = "reasoner"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(max_n=1, logprobs=False, prefix_sharing=True)
    )
    requests: list[list[Message]] = field(default_factory=list)

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        self.requests.append(list(messages))
        if CLOSE in messages[-1].content:
            sample = Sample(" 5", completion_tokens=2, finish_reason="stop")
        else:
            sample = Sample("", thoughts="2 + 3 = 5.", completion_tokens=8, thinking_tokens=8)
        return Generation([sample], 40, 0, sample.completion_tokens, 0.1)

    def close(self) -> None:
        pass


def test_think_keeps_thoughts_a_server_returns_as_reasoning_content() -> None:
    policy = Reasoner()
    result = run("think@64", {"policy": policy})  # type: ignore[dict-item]
    closed = policy.requests[-1][-1].content
    assert "2 + 3 = 5." in closed and closed.endswith(f"{CLOSE}\n\nAnswer:")
    assert result.answer == "5" and result.candidates[0].thoughts == "2 + 3 = 5."
    assert result.usage.thinking_tokens == 8


@pytest.mark.parametrize("spec", ["revise@1", "think@24", "bon@2(revise@1):scorer=verify"])
def test_sequential_strategies_on_the_real_model(spec: str, smol_engine: Backend) -> None:
    # not closed here: the engine is the session's fixture, shared by other tests
    s = session({"smol": smol_engine}, parameters=135_000_000, max_tokens=24, seed=3)
    result = asyncio.run(build(spec)(Problem("What is 4 + 4?"), s.context(seed=3)))
    assert result.usage.calls == len(result.calls) and result.usage.calls >= 2
    assert result.usage.completion_tokens == sum(c.usage.completion_tokens for c in result.calls)
    assert result.usage.flops == pytest.approx(sum(c.usage.flops for c in result.calls))
    if spec.startswith("think"):
        assert 0 < result.usage.thinking_tokens <= 24
        assert result.candidates[0].thinking_tokens == result.usage.thinking_tokens
        assert result.usage.cached_prompt_tokens > 0  # the answer continues the cached thoughts
    else:
        assert any(c.role == "judge" for c in result.calls)
