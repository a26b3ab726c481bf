"""The `verify` scorer (a judge's P(yes)) and `wbon@N` (weighted voting): their logic on scripted
backends, a judge that is wrong on purpose, batching, the study's scoring pass, and the real model."""

from __future__ import annotations

import asyncio
import math
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from ponder import PonderError
from ponder.backends.base import Capabilities
from ponder.lab.study import study
from ponder.strategies import build, check_roles
from ponder.strategies.pooling import PoolView
from ponder.strategies.verify import BY_GRADE, BY_LOGPROBS, SYSTEM, grade, p_yes
from ponder.strategies.weighted import weight, weighted_majority, weighted_vote
from ponder.types import Generation, Message, Problem, Result, Sample, SamplingParams
from scripted import ScriptedBackend, session
from test_study import factory, suite_file

PROBLEM = Problem("What is 2 + 3?", id="p")
# The vote says 7 (three samples); one sample says 5.
POLICY = ["2 + 3 = 7\nAnswer: 7", "It is 5.\nAnswer: 5", "Answer: 7", "So 7.\nAnswer: 7"]


@dataclass
class Judge:
    """A judge whose P(yes) for a solution is `belief(solution)`, reported as first-token logprobs
    (or, without logprobs, as a 0-10 grade); it counts the calls in flight at once."""

    belief: Callable[[str], float]
    logprobs: bool = True
    delay: float = 0.0
    model: str = "judge"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(max_n=64, logprobs=True, prefix_sharing=True)
    )
    calls: list[SamplingParams] = field(default_factory=list)
    in_flight: int = 0
    most: int = 0

    def __post_init__(self) -> None:
        self.capabilities = Capabilities(max_n=64, logprobs=self.logprobs, prefix_sharing=True)

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        self.calls.append(params)
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(self.delay)
        self.in_flight -= 1
        solution = messages[-1].content.split("Proposed solution:\n", 1)[1]
        p = self.belief(solution)
        if params.top_logprobs and messages[0].content == SYSTEM:
            top = (("Yes", math.log(p)), ("No", math.log(1 - p))) if 0 < p < 1 else (("Yes", 0.0),)
            sample = Sample("Yes" if p >= 0.5 else "No", completion_tokens=1, first_top=top)
        else:
            sample = Sample(str(round(10 * p)), completion_tokens=1)
        return Generation([sample], 50, 0, 1, 0.1)

    def close(self) -> None:
        pass


def believes_five(solution: str) -> float:
    return 0.9 if "Answer: 5" in solution else 0.2


def believes_seven(solution: str) -> float:  # wrong on purpose
    return 0.9 if "Answer: 7" in solution else 0.1


def run(spec: str, judge: Judge, texts: Sequence[str] = POLICY) -> Result:
    backends = {"policy": ScriptedBackend(list(texts), model="policy"), "judge": judge}
    with session(backends, roles={"policy": "policy", "judge": "judge"}) as s:
        return asyncio.run(build(spec)(PROBLEM, s.context(seed=1)))


def test_p_yes_and_grade_read_what_the_judge_said() -> None:
    both = Sample("Yes", first_top=(("Yes", math.log(0.6)), ("The", math.log(0.3)), (" no", math.log(0.1))))
    assert p_yes(both) == pytest.approx(0.6 / 0.7)
    assert p_yes(Sample("The", first_top=(("The", -0.1), ("A", -3.0)))) is None
    assert p_yes(Sample("")) is None
    assert grade("8") == 0.8 and grade("Grade: 10/10") == 1.0 and grade("none") is None


def test_the_verifier_score_picks_the_answer_the_vote_would_not() -> None:
    assert run("sc@4", Judge(believes_five)).answer == "7"
    right = run("bon@4:scorer=verify", Judge(believes_five))
    assert right.answer == "5" and right.scorer.startswith("verify")
    # a judge that is wrong on purpose moves the choice with it: the score is used
    assert run("bon@4:scorer=verify", Judge(believes_seven)).answer == "7"
    scores = [c.score for c in right.candidates]
    assert scores == pytest.approx([0.2, 0.9, 0.2, 0.2])


def test_the_judge_calls_are_recorded_under_the_judge_role_and_go_together() -> None:
    judge = Judge(believes_five, delay=0.05)
    result = run("bon@4:scorer=verify", judge, [*POLICY[:3], "no idea"])
    judged = [c for c in result.calls if c.role == "judge"]
    assert len(judged) == len(judge.calls) == 3  # the sample without an answer is not judged
    assert judge.most == 3  # all in flight at once, not one after another
    assert all(p.max_tokens == 1 and p.top_logprobs > 0 and p.temperature == 0.0 for p in judge.calls)
    assert result.usage.calls == 4 and result.usage.completion_tokens == 40 + 3
    assert [c.strategy for c in result.children] == ["judge calls"]
    assert result.candidates[3].score == float("-inf")


def test_without_logprobs_the_judge_grades_and_the_result_says_so() -> None:
    judge = Judge(believes_five, logprobs=False)
    result = run("bon@4:scorer=verify", judge)
    assert result.answer == "5" and BY_GRADE in result.scorer and BY_LOGPROBS not in result.scorer
    assert all(p.top_logprobs == 0 for p in judge.calls) and len(judge.calls) == 4


def test_weighted_voting_sums_probabilities_per_answer() -> None:
    assert weighted_vote(["7", "5", "7", None], [0.2, 0.9, 0.2, 5.0]) == ("5", {"5": 0.9, "7": 0.4})
    assert weighted_vote(["7", "5"], [0.5, 0.5])[0] == "7"  # a tie goes to the first to appear
    # logprobs become probabilities, so a larger group never loses for having more negative numbers
    assert weight("logprob", -0.5) == pytest.approx(math.exp(-0.5)) and weight("logprob", -math.inf) == 0
    assert weight("vote", 0.1) == 1.0 and weight("verify (x)", 1.7) == 1.0
    assert run("wbon@4", Judge(believes_five)).answer == "5"  # 0.9 against 3 × 0.2
    assert run("wbon@4", Judge(lambda s: 0.9 if "Answer: 5" in s else 0.35)).answer == "7"  # 1.05
    assert run("wbon@4:scorer=vote", Judge(believes_five)).answer == "7"


def test_wbon_from_the_pool_is_the_weighted_vote_over_subsets() -> None:
    labels = np.array([[0, 1, 0, 0], [0, 0, 1, -1]])
    correct = np.array([[False, True, False, False], [True, True, False, False]])
    scores = np.array([[0.2, 0.9, 0.2, 0.2], [0.1, 0.1, 0.9, -np.inf]])
    view = PoolView(correct, labels, scores, labels >= 0, seed=0)
    values = weighted_majority(view, [1, 4], "verify").values
    # k=1: pass@1 over answered samples; k=n: the whole pool's weighted vote
    assert values[:, 0] == pytest.approx([0.25, 0.5])
    assert values[:, 1] == pytest.approx([1.0, 0.0])  # 0.9 > 0.6; 0.9 > 0.2
    # with vote weights it is majority@k
    from ponder.lab.estimators import majority_curve

    voted = weighted_majority(view, [1, 2, 3, 4], "vote").values
    assert voted == pytest.approx(majority_curve(labels, correct, [1, 2, 3, 4]).values)


def test_roles_follow_the_scorer() -> None:
    check_roles(["bon@4:scorer=verify", "cot"], ["judge"])
    check_roles(["wbon@4"], ["judge"])  # its default scorer is the verifier
    with pytest.raises(PonderError, match="judge"):
        check_roles(["bon@4", "wbon@4:scorer=logprob"], ["judge"])


def test_a_study_scores_each_pool_once_and_charges_the_verifier(tmp_path: Path) -> None:
    out = tmp_path / "s"
    strategies = "sc,bon:scorer=verify,wbon,wbon:scorer=logprob"
    summary = study("small", suite_file(tmp_path), backend_factory=factory, out=str(out), max_n=4,
                    problems=4, seed=3, strategies=strategies, timing_problems=0)  # fmt: skip
    with sqlite3.connect(out / "study.sqlite") as db:
        kinds = [k for (k,) in db.execute("SELECT kind FROM requests")]
        roles = {r for (r,) in db.execute("SELECT DISTINCT role FROM calls")}
        scored = db.execute(
            "SELECT count(*) FROM scores s JOIN requests r ON r.id = s.request_id"
            " WHERE r.kind = 'score:verify'"
        ).fetchone()[0]
        pool_samples = db.execute("SELECT count(*) FROM samples").fetchone()[0]
    assert kinds.count("pool") == 4 and kinds.count("score:verify") == 4  # one pass read by two
    assert roles == {"policy", "judge"} and scored == 16 and pool_samples == 16  # scores are no samples
    rows = {(r["strategy"], r["budget"]): r for r in summary["rows"]}
    for k in (1, 2, 4):
        sc, verified = rows[("sc", k)], rows[("bon:scorer=verify", k)]
        # the pool's compute plus the verifier's, per sample scored
        assert verified["mean_flops"] > sc["mean_flops"]
        assert rows[("wbon:scorer=logprob", k)]["mean_flops"] == pytest.approx(sc["mean_flops"])
    judge_flops = rows[("wbon", 4)]["mean_flops"] - rows[("sc", 4)]["mean_flops"]
    assert rows[("wbon", 2)]["mean_flops"] - rows[("sc", 2)]["mean_flops"] == pytest.approx(judge_flops / 2)
    assert summary["estimators"]["small wbon"]["scoring"]["pass"] == "verify"


def test_extending_a_study_with_the_verifier_draws_no_sample(tmp_path: Path) -> None:
    common = dict(
        backend_factory=factory, out=str(tmp_path / "s"), max_n=4, problems=3, seed=3, timing_problems=0
    )
    study("small", suite_file(tmp_path), strategies="sc", **common)  # type: ignore[arg-type]
    with sqlite3.connect(tmp_path / "s" / "study.sqlite") as db:
        before = db.execute("SELECT * FROM samples ORDER BY request_id, idx").fetchall()
    study("small", suite_file(tmp_path), strategies="sc,wbon", extend=True, **common)  # type: ignore[arg-type]
    with sqlite3.connect(tmp_path / "s" / "study.sqlite") as db:
        after = db.execute("SELECT * FROM samples ORDER BY request_id, idx").fetchall()
        kinds = sorted({k for (k,) in db.execute("SELECT kind FROM requests")})
    assert after[: len(before)] == before and kinds == ["pool", "score:verify"]


def test_the_verifier_on_the_real_model(smol_engine: object) -> None:
    from ponder.models.resolve import ModelRef

    def opener(model: str, o: object, slots: int) -> tuple[object, ModelRef]:
        return smol_engine, ModelRef(model, "embedded", model, None, 135_000_000)

    from ponder.session import Options, Session

    # not closed: closing the session would close the shared engine for every later test
    s = Session.open({"policy": "smol"}, Options(max_tokens=24, seed=5), opener=opener)  # type: ignore[arg-type]
    result = asyncio.run(build("bon@3:scorer=verify")(Problem("What is 4 + 4?"), s.context(seed=5)))
    answered = [c for c in result.candidates if c.answer is not None]
    judged = [c for c in result.calls if c.role == "judge"]
    assert len(result.candidates) == 3 and len(judged) >= len(answered)
    assert all(0.0 <= c.score <= 1.0 for c in answered if c.score is not None and math.isfinite(c.score))
    assert result.usage.calls == 1 + len(judged)


def test_wbon_from_the_pool_breaks_ties_as_the_strategy_does() -> None:
    # A, A (right, 0.5 each) against B (wrong, 1.0): a three-way tie of weight; the strategy takes the
    # group that appears first, which is A in two orders of three.
    labels, correct = np.array([[0, 0, 1]]), np.array([[True, True, False]])
    view = PoolView(correct, labels, np.array([[0.5, 0.5, 1.0]]), labels >= 0, seed=0)
    assert weighted_majority(view, [3], "verify").values[0, 0] == pytest.approx(2 / 3)
    orders = [("A", "A", "B"), ("A", "B", "A"), ("B", "A", "A")]
    picks = [weighted_vote(o, [0.5 if a == "A" else 1.0 for a in o])[0] for o in orders]
    assert picks.count("A") / 3 == pytest.approx(2 / 3)
    # every weight 0 (a judge that says no to all): the first to appear, in proportion to counts
    zero = PoolView(correct, labels, np.zeros((1, 3)), labels >= 0, seed=0)
    assert weighted_majority(zero, [3], "verify").values[0, 0] == pytest.approx(2 / 3)
    # no logprobs on a problem: the vote, as the strategy falls back
    blind = PoolView(correct, labels, np.full((1, 3), -np.inf), labels >= 0, seed=0)
    assert weighted_majority(blind, [3], "logprob").values[0, 0] == pytest.approx(1.0)


def test_a_judge_that_scores_nothing_falls_back_to_the_vote() -> None:
    silent = Judge(lambda s: 0.5, logprobs=False)

    async def mute(messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        silent.calls.append(params)
        return Generation([Sample("<think>", completion_tokens=1)], 50, 0, 1, 0.1)

    silent.generate = mute  # type: ignore[method-assign]
    result = run("bon@4:scorer=verify", silent)
    assert result.answer == "7" and result.scorer == "vote"
    assert any("fell back to 'vote'" in n for n in result.notes)


def test_a_limit_that_refuses_the_judge_keeps_the_vote_and_records_every_call() -> None:
    judge = Judge(believes_five, delay=0.02)
    backends = {"policy": ScriptedBackend(list(POLICY), model="policy"), "judge": judge}
    with session(backends, roles={"policy": "policy", "judge": "judge"}) as s:
        from ponder.limits import Limit

        ctx = s.context(seed=1, limit=Limit.parse("calls=3"))
        result = asyncio.run(build("bon@4:scorer=verify")(PROBLEM, ctx))
    assert result.stopped and result.answer in {"5", "7"}
    assert result.usage.calls == 3 == 1 + len(judge.calls)  # every call made is in the usage
