"""Rubrics and the rubric and pairwise judges: their logic on scripted judges whose replies depend on
what they read, position bias measured, Bradley–Terry, accounting; and the real model."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ponder import PonderError
from ponder.backends.base import Backend, Capabilities
from ponder.rubric import DEFAULT, Criterion, Rubric, load
from ponder.strategies import build
from ponder.strategies.pairwise import SYSTEM as PAIR_SYSTEM
from ponder.strategies.pairwise import bradley_terry, pairwise_pass, position_bias
from ponder.strategies.revise import RUBRIC_SYSTEM
from ponder.strategies.rubric_judge import SYSTEM as RUBRIC_JUDGE_SYSTEM
from ponder.strategies.rubric_judge import parse_score, rubric_pass
from ponder.tasks import generate
from ponder.types import Candidate, Generation, Message, Problem, Result, Sample, SamplingParams
from scripted import session

RUBRIC = Rubric(
    (
        Criterion("bright", "It mentions the sun.", 2.0, (0, 1), "check"),
        Criterion("calm", "It is calm.", 1.0, (1, 5), "reader"),
    )
)
PROBLEM = Problem("Write a line about the sea.", id="w", answer_format="text", rubric=RUBRIC)


@dataclass
class Judge:
    """A backend whose sample is a function of the request (a judge reads what it is shown)."""

    reply: Callable[[Sequence[Message], SamplingParams], Sample]
    model: str = "judge"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(max_n=64, logprobs=True, prefix_sharing=True)
    )
    requests: list[tuple[list[Message], SamplingParams]] = field(default_factory=list)

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        self.requests.append((list(messages), params))
        samples = [self.reply(messages, params) for _ in range(n)]
        return Generation(samples, 50, 0, sum(s.completion_tokens for s in samples), 0.1)

    def close(self) -> None:
        pass


def writer(texts: Sequence[str]) -> Judge:
    """The policy: its k-th sample is texts[k % len]."""
    state = {"k": 0}

    def reply(messages: Sequence[Message], params: SamplingParams) -> Sample:
        assert messages[0].content not in (RUBRIC_JUDGE_SYSTEM, PAIR_SYSTEM), (
            "a judge call went to the policy"
        )
        text = texts[state["k"] % len(texts)]
        state["k"] += 1
        return Sample(text, completion_tokens=10, mean_logprob=-1.0)

    return Judge(reply, model="policy")


def grader() -> Judge:
    """A rubric judge that grades by reading: 'sun' in the text meets `bright`; calm = 5 if 'calm'."""

    def reply(messages: Sequence[Message], params: SamplingParams) -> Sample:
        assert messages[0].content == RUBRIC_JUDGE_SYSTEM
        ask = messages[1].content
        text = ask.split("Text:\n", 1)[1].split("\n\nCriterion:", 1)[0]
        calm = 5 if "calm" in text else 2
        score = int("sun" in text) if "It mentions the sun." in ask else calm
        return Sample(f"Because I read it.\nScore: {score}", completion_tokens=8)

    return Judge(reply)


def texts_of(ask: str) -> tuple[str, str]:
    a = ask.split("Text A:\n", 1)[1].split("\n\nText B:", 1)[0]
    b = ask.split("Text B:\n", 1)[1].split("\n\nCriterion:", 1)[0]
    return a, b


def comparer(prefer: Callable[[str, str], float]) -> Judge:
    """A pairwise judge: P(A) = prefer(text A, text B), given as first-token logprobs."""

    def reply(messages: Sequence[Message], params: SamplingParams) -> Sample:
        assert messages[0].content == PAIR_SYSTEM
        p = min(max(prefer(*texts_of(messages[1].content)), 1e-6), 1 - 1e-6)
        top = (("A", math.log(p)), ("B", math.log(1 - p)))
        return Sample("A" if p >= 0.5 else "B", completion_tokens=1, first_top=top)

    return Judge(reply)


def candidates(texts: Sequence[str | None]) -> list[Candidate]:
    return [Candidate(text=t or "", answer=t, score=None, completion_tokens=5) for t in texts]


def score_pass(fn: object, judge: Judge, texts: Sequence[str | None]) -> object:
    with session(
        {"policy": writer(["x"]), "judge": judge}, roles={"policy": "policy", "judge": "judge"}
    ) as s:
        return asyncio.run(fn(PROBLEM, candidates(texts), s.context(seed=1)))  # type: ignore[operator]


def run(spec: str, policy: Judge, judge: Judge, problem: Problem = PROBLEM) -> Result:
    with session({"policy": policy, "judge": judge}, roles={"policy": "policy", "judge": "judge"}) as s:
        return asyncio.run(build(spec)(problem, s.context(seed=1)))


# --- rubrics ---


def test_rubric_total_is_the_weighted_mean_of_scored_criteria_on_the_unit_scale() -> None:
    assert RUBRIC.total({"bright": 1, "calm": 3}) == pytest.approx((2 * 1 + 1 * 0.5) / 3)
    assert RUBRIC.total({"bright": 0, "calm": None}) == 0.0  # an unscored criterion is left out
    assert RUBRIC.total({"bright": None, "calm": None}) is None
    assert RUBRIC.total({"bright": 1, "calm": 1}, kind="reader") == 0.0
    assert RUBRIC.criteria[1].unit(9) == 1.0  # clamped


def test_a_rubric_file_loads_and_each_mistake_is_one_line(tmp_path: Path) -> None:
    good = tmp_path / "r.toml"
    good.write_text(
        '[[criterion]]\nname = "clear"\ndescription = "It is clear."\nweight = 2\nscale = [0, 3]\n'
    )
    r = load(good)
    assert r.criteria == (Criterion("clear", "It is clear.", 2.0, (0, 3), "reader"),)
    bad = {
        "": "no criteria",
        '[[criterion]]\nname = "Bad Name"\ndescription = "x"\n': "name",
        '[[criterion]]\nname = "a"\n': "description",
        '[[criterion]]\nname = "a"\ndescription = "x"\nweight = 0\n': "weight",
        '[[criterion]]\nname = "a"\ndescription = "x"\nscale = [5, 1]\n': "scale",
        '[[criterion]]\nname = "a"\ndescription = "x"\nkind = "oracle"\n': "kind",
        '[[criterion]]\nname = "a"\ndescription = "x"\ncolour = 1\n': "unknown field",
        '[[criterion]]\nname = "a"\ndescription = "x"\n' * 2: "repeat",
        "not toml [": "not valid TOML",
    }
    for text, what in bad.items():
        good.write_text(text)
        with pytest.raises(PonderError, match=what) as e:
            load(good)
        assert "\n" not in str(e.value)
    with pytest.raises(PonderError, match="no rubric file"):
        load(tmp_path / "missing.toml")


def test_a_writing_task_states_its_rules_as_check_criteria_then_a_readers() -> None:
    (item,) = generate.items("writing", 4, 1, split="public", seed=3)
    rubric = item.problem().rubric
    assert rubric is not None
    checks = rubric.of_kind("check")
    assert len(checks) == len(item.data["constraints"]) == 4
    assert all(c.scale == (0, 1) and c.description in item.question for c in checks)
    assert {c.name for c in rubric.of_kind("reader")} == {"coherent", "vivid", "on_subject"}
    assert item.answer not in str(rubric)  # the gold witness is not in what the judge reads
    (gsm,) = generate.items("arithmetic", 1, 1, split="public", seed=0)
    assert gsm.problem().rubric is None


def test_scores_are_parsed_from_the_last_score_line_and_clamped() -> None:
    c = Criterion("x", "x", scale=(1, 5))
    assert parse_score("Score: 2. On reflection, Score: 4", c) == 4.0
    assert parse_score("score - 9", c) == 5.0
    assert parse_score("It is fine.", c) is None


# --- the pointwise judge ---


def test_the_rubric_judge_scores_each_criterion_and_keeps_the_details() -> None:
    judge = grader()
    scored = score_pass(rubric_pass, judge, ["the sun is calm", "grey waves", None])
    assert len(judge.requests) == 2 * len(RUBRIC.criteria)  # the unanswered candidate is not judged
    assert scored.scores[0] == pytest.approx(1.0)  # type: ignore[attr-defined]
    assert scored.scores[1] == pytest.approx((2 * 0 + 1 * 0.25) / 3)  # type: ignore[attr-defined]
    assert scored.scores[2] == float("-inf")  # type: ignore[attr-defined]
    details = scored.details  # type: ignore[attr-defined]
    assert details[0]["scores"] == {"bright": 1.0, "calm": 5.0} and details[2] is None
    assert all(p.temperature == 0.0 for _, p in judge.requests)


def test_bon_by_rubric_picks_the_best_graded_text_and_charges_the_judge() -> None:
    policy = writer(["grey waves", "the sun on calm water", "sun and storm"])
    judge = grader()
    result = run("bon@3:scorer=rubric", policy, judge)
    assert result.answer == "the sun on calm water"
    assert result.scorer is not None and result.scorer.startswith("rubric")
    assert result.usage.calls == 1 + 3 * len(RUBRIC.criteria)
    assert result.usage.completion_tokens == 3 * 10 + 3 * len(RUBRIC.criteria) * 8
    assert result.usage == sum((c.usage for c in result.calls), start=type(result.usage)())


# --- the pairwise judge ---


def test_bradley_terry_ranks_by_wins_and_stays_finite_when_one_wins_everything() -> None:
    wins = [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    theta = bradley_terry(wins)
    assert theta[0] > theta[1] > theta[2]
    assert all(math.isfinite(t) for t in theta)
    assert sum(theta) == pytest.approx(0.0, abs=1e-9)
    even = bradley_terry([[0, 0.5], [0.5, 0]])
    assert even[0] == pytest.approx(even[1])


def test_a_judge_that_prefers_the_first_position_shows_as_position_bias_and_cancels() -> None:
    texts = ["one", "two", "three", "four"]
    judge = comparer(lambda a, b: 0.9)  # always "A", whatever the texts
    scored = score_pass(pairwise_pass, judge, texts)
    pairs = len(list(itertools.permutations(range(4), 2)))
    assert len(judge.requests) == pairs * len(RUBRIC.criteria)  # both orders, every criterion
    assert position_bias(scored.details) == pytest.approx(0.4)  # type: ignore[attr-defined]
    assert max(scored.scores) - min(scored.scores) == pytest.approx(0.0, abs=1e-9)  # type: ignore[attr-defined]
    assert any("position bias +0.40" in n for n in scored.notes)  # type: ignore[attr-defined]
    fair = score_pass(pairwise_pass, comparer(lambda a, b: 0.5), texts)
    assert position_bias(fair.details) == pytest.approx(0.0)  # type: ignore[attr-defined]


def test_pairwise_ranks_by_preference_whatever_the_order() -> None:
    quality = {"dull": 0, "fine": 1, "good": 2, "best": 3}

    def prefer(a: str, b: str) -> float:  # prefers the better text, with a pull to the first
        return min(0.95, max(0.05, 0.5 + 0.3 * (quality[a] - quality[b]) / 3 + 0.1))

    texts = ["fine", "best", "dull", "good"]
    scored = score_pass(pairwise_pass, comparer(prefer), texts)
    ranking = sorted(range(4), key=lambda i: -scored.scores[i])  # type: ignore[attr-defined]
    assert [texts[i] for i in ranking] == ["best", "good", "fine", "dull"]
    assert position_bias(scored.details) == pytest.approx(0.1)  # type: ignore[attr-defined]


def test_bon_by_pairwise_picks_the_preferred_text_and_runs_as_written_in_a_study() -> None:
    from ponder.specs import parse_spec as parse
    from ponder.strategies.base import info_of

    policy = writer(["dull", "best", "fine"])
    quality = {"dull": 0, "fine": 1, "best": 2}
    result = run(
        "bon@3:scorer=pairwise", policy, comparer(lambda a, b: 0.5 + 0.2 * (quality[a] - quality[b]))
    )
    assert result.answer == "best"
    assert result.usage.calls == 1 + 6 * len(RUBRIC.criteria)
    spec = parse("bon@3:scorer=pairwise")
    assert info_of(spec).pooling(spec) is None  # type: ignore[misc]
    rubric_spec = parse("bon@3:scorer=rubric")
    assert info_of(rubric_spec).pooling(rubric_spec) is not None  # type: ignore[misc]


def test_pairwise_without_logprobs_reads_the_judges_letter() -> None:
    def reply(messages: Sequence[Message], params: SamplingParams) -> Sample:
        a, b = texts_of(messages[1].content)
        return Sample("B" if len(b) > len(a) else "A", completion_tokens=1)

    judge = Judge(reply, capabilities=Capabilities(max_n=64, logprobs=False, prefix_sharing=True))
    scored = score_pass(pairwise_pass, judge, ["short", "much longer text"])
    assert scored.scores[1] > scored.scores[0]  # type: ignore[attr-defined]
    assert "parsed" in scored.method  # type: ignore[attr-defined]


# --- revise against the rubric ---


def test_revise_critiques_against_the_rubric_and_rewrites_a_text() -> None:
    critiques: list[list[Message]] = []

    def critic(messages: Sequence[Message], params: SamplingParams) -> Sample:
        critiques.append(list(messages))
        return Sample("It never mentions the sun.\nVerdict: incorrect", completion_tokens=12)

    policy = writer(["grey waves", "the sun on calm water"])
    result = run("revise@1:rubric=true", policy, Judge(critic))
    assert result.answer == "the sun on calm water"
    (asked,) = critiques
    assert asked[0].content == RUBRIC_SYSTEM
    assert all(c.description in asked[1].content for c in RUBRIC.criteria)
    rewrite = policy.requests[-1][0][-1].content
    assert "Write the complete text again" in rewrite and "step by step" not in rewrite
    open_question = Problem("What makes a good essay?", id="q")
    run("revise@1:rubric=true", writer(["A clear thesis."]), Judge(critic), open_question)
    assert all(c.description in critiques[-1][1].content for c in DEFAULT.criteria)


# --- the real model ---


@pytest.mark.parametrize("spec", ["bon@2:scorer=rubric", "bon@2:scorer=pairwise", "revise@1:rubric=true"])
def test_the_judges_on_the_real_model(spec: str, smol_engine: Backend) -> None:
    """The judges' calls on smollm2-135m, on a writing task with its rubric: counted, summed and
    charged to the judge role; the rubric judge read each criterion of each text."""
    (item,) = generate.items("writing", 2, 1, split="public", seed=7)
    problem = item.problem()
    assert problem.rubric is not None
    criteria = len(problem.rubric.criteria)
    # not closed here: the engine is the session's fixture, shared by other tests
    s = session({"smol": smol_engine}, parameters=135_000_000, max_tokens=24, seed=3)
    result = asyncio.run(build(spec)(problem, s.context(seed=3)))
    judge_calls = [c for c in result.calls if c.role == "judge"]
    assert result.usage.calls == len(result.calls)
    assert result.usage.completion_tokens == sum(c.usage.completion_tokens for c in result.calls)
    assert result.usage.flops == pytest.approx(sum(c.usage.flops for c in result.calls))
    texts = sum(1 for c in result.candidates if c.text.strip())
    if spec.endswith("rubric"):
        assert len(judge_calls) == texts * criteria
    elif spec.endswith("pairwise"):
        # with logprobs, one call per ordered pair and criterion (a reply read more rarely: two)
        assert len(judge_calls) >= texts * (texts - 1) * criteria
    else:
        assert len(judge_calls) == 1 and len(result.candidates) == 2


def test_a_pairwise_judge_that_never_names_a_text_scores_nobody_and_bon_falls_back_to_the_vote() -> None:
    mute = Judge(
        lambda m, p: Sample("Both are fine.", completion_tokens=3),
        capabilities=Capabilities(max_n=64, logprobs=False, prefix_sharing=True),
    )
    scored = score_pass(pairwise_pass, mute, ["one text", "another text"])
    assert scored.scores == [float("-inf"), float("-inf")]  # type: ignore[attr-defined]
    result = run("bon@2:scorer=pairwise", writer(["one text", "another text"]), mute)
    assert result.scorer == "vote"
    assert any("fell back to 'vote'" in note for note in result.notes)
    # a lone candidate needs no comparison: it keeps a finite score
    alone = score_pass(pairwise_pass, mute, ["one text"])
    assert math.isfinite(alone.scores[0])  # type: ignore[attr-defined]
