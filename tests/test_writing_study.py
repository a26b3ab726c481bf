"""A study on the writing family with judges (scripted, no model): the rubric judge reads every pool
sample and every run's final answer, the pairwise judge every pool; the summary carries the
`judged` axis, the judges' agreement with the program and the pairwise judge's position bias;
`bon@N:scorer=pairwise` runs as written; and the judge's calls reach no strategy's charge."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ponder.lab.study import StudyConfig, study
from ponder.lab.study.store import StudyStore
from ponder.models.resolve import ModelRef
from ponder.strategies.pairwise import SYSTEM as PAIR_SYSTEM
from ponder.strategies.revise import RUBRIC_SYSTEM
from ponder.strategies.rubric_judge import SYSTEM as RUBRIC_JUDGE_SYSTEM
from ponder.types import Generation, Message, Sample, SamplingParams
from test_scores import Writer

STRATEGIES = ["direct", "bon@3:scorer=rubric", "bon@2:scorer=pairwise", "revise@1:rubric=true", "coverage@3"]


@dataclass
class JudgingWriter(Writer):
    """The writer, and a judge that says every rule is kept, grades every reader criterion 4 of 5,
    and always prefers the text it reads first."""

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        system = messages[0].content
        if system == RUBRIC_JUDGE_SYSTEM:
            scale_one = "Scale: 0" in messages[-1].content
            text = "Looks right.\nScore: 1" if scale_one else "Good.\nScore: 4"
            samples = [Sample(text, completion_tokens=6) for _ in range(n)]
        elif system == PAIR_SYSTEM:
            top = (("A", math.log(0.9)), ("B", math.log(0.1)))
            samples = [Sample("A", completion_tokens=1, first_top=top) for _ in range(n)]
        elif system == RUBRIC_SYSTEM:
            samples = [Sample("All met.\nVerdict: incorrect", completion_tokens=9) for _ in range(n)]
        else:
            return await super().generate(messages, params, n)
        return Generation(samples, 60, 0, sum(s.completion_tokens for s in samples), 0.01)


def factory(model: str, config: StudyConfig) -> tuple[JudgingWriter, ModelRef]:
    return JudgingWriter(model=model), ModelRef(model, "embedded", model, None, 100)


def run(folder: Path, **settings: Any) -> dict[str, Any]:
    return study(
        "writer", "writing@3", strategies=STRATEGIES, max_n=3, problems=6, out=str(folder),
        judges=["rubric", "pairwise"], backend_factory=factory, timing_problems=0, **settings,
    )  # fmt: skip


@pytest.fixture(scope="module")
def studied(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One study, read by several tests (a study takes seconds even scripted)."""
    folder = tmp_path_factory.mktemp("writing") / "out"
    with pytest.MonkeyPatch.context() as env:  # the autouse home is per test: this is its own
        env.setenv("PONDER_HOME", str(folder.parent / "ponder-home"))
        return folder, run(folder)


def test_a_writing_study_with_judges_reports_judged_quality_agreement_and_position_bias(
    studied: tuple[Path, dict[str, Any]],
) -> None:
    _, summary = studied
    rows = {(r["strategy"], r["budget"]): r for r in summary["rows"]}
    assert {"checks", "judged"} <= set(summary["score_axes"])
    # every answered text is graded 4 of 5 on each reader criterion: 0.75; no text, 0
    for key in [
        ("direct", 1),
        ("revise:rubric=true", 1),
        ("bon:scorer=rubric", 3),
        ("bon:scorer=pairwise", 2),
    ]:
        judged = rows[key]["scores"]["judged"]
        assert 0.0 <= judged["mean"] <= 0.75 + 1e-9
        assert judged["ci_low"] <= judged["mean"] <= judged["ci_high"]
    agreement = {a["criterion"]: a for a in summary["judging"]["agreement"]}
    overall = agreement["all rules"]
    assert overall["judge_kept"] == 1.0  # it says "kept" of every rule
    assert overall["accuracy"] == pytest.approx(overall["program_kept"])
    assert overall["kappa"] is None or abs(overall["kappa"]) < 1e-9
    (bias,) = summary["judging"]["position_bias"]
    assert bias["bias"] == pytest.approx(0.4)
    assert bias["consistency"] == 0.0


def test_the_judges_read_each_run_once_and_are_charged_to_no_strategy(
    studied: tuple[Path, dict[str, Any]],
) -> None:
    folder, summary = studied
    store = StudyStore(folder / "study.sqlite", readonly=True)
    kinds = [r["kind"] for r in store.requests()]
    for spec in ("direct", "revise@1:rubric=true", "bon@2:scorer=pairwise"):
        assert kinds.count(f"score:rubric@run:{spec}") == 6
    assert kinds.count("score:pairwise") == 6 and kinds.count("score:rubric") == 6
    assert not any(k.startswith("score:pairwise@") for k in kinds)  # pairwise ranks pools only
    rows = {(r["strategy"], r["budget"]): r for r in summary["rows"]}
    # direct is one call of the policy: its charge holds no judge tokens
    direct_runs = [r for r in store.requests() if r["kind"] == "run:direct"]
    mean = sum(r["completion_tokens"] for r in direct_runs) / len(direct_runs)
    assert rows[("direct", 1)]["mean_completion_tokens"] == pytest.approx(mean)
    store.close()


def test_judges_must_be_known_and_need_a_pool(tmp_path: Path) -> None:
    from ponder import PonderError

    with pytest.raises(PonderError, match="unknown judge"):
        StudyConfig(models=["w"], suite="writing@2", strategies=["sc@2"], judges=["oracle"]).check()
    with pytest.raises(PonderError, match="max_n of at most 8"):
        StudyConfig(
            models=["w"], suite="writing@2", strategies=["sc@16"], max_n=16, judges=["pairwise"]
        ).check()
    with pytest.raises(PonderError, match="pooled strategy"):
        StudyConfig(models=["w"], suite="writing@2", strategies=["direct"], judges=["rubric"]).check()


def test_the_report_and_the_cli_show_the_judges(studied: tuple[Path, dict[str, Any]]) -> None:
    from ponder.lab.study.summary import Summary
    from ponder.report import judging
    from ponder.report.page import render

    folder, _ = studied
    html = render(folder).read_text()
    assert "<h2>Judges</h2>" in html and "position bias" in html and "kappa" in html
    summary = Summary.load(folder / "summary.json")
    said = judging.lines(summary)
    assert len(said) == 2
    assert "all rules" in said[0] and "says kept 100%" in said[0]
    assert "position bias +0.40" in said[1]


def test_judges_read_only_the_models_that_draw_a_chain_of_thought_pool(tmp_path: Path) -> None:
    from ponder import PonderError

    # the second model runs `direct` alone: no pool for the judges to read, only its runs
    summary = study(
        ["w1", "w2"], "writing@2", strategies=["direct", "sc@2"], max_n=2, problems=2, out=str(tmp_path),
        judges=["rubric"], only={"w2": ["direct"]}, backend_factory=factory, timing_problems=0,
    )  # fmt: skip
    rows = {(r["model"], r["strategy"]): r for r in summary["rows"]}
    assert "judged" in rows[("w2", "direct")]["scores"]
    store = StudyStore(tmp_path / "study.sqlite", readonly=True)
    kinds = {(r["model"], r["kind"]) for r in store.requests()}
    store.close()
    assert ("w1", "score:rubric") in kinds and ("w2", "score:rubric") not in kinds
    with pytest.raises(PonderError, match="chain-of-thought pool"):
        StudyConfig(models=["w"], suite="writing@2", strategies=["pot@2"], judges=["rubric"]).check()
    with pytest.raises(PonderError, match="named twice"):
        StudyConfig(models=["w"], suite="writing@2", strategies=["sc@2"], judges=["rubric", "rubric"]).check()


def test_a_judge_model_may_serve_the_judges_alone(tmp_path: Path) -> None:
    # no strategy calls the judge role: the judges' passes do, on the judge's own model
    summary = study(
        "writer", "writing@2", strategies=["sc@2"], max_n=2, problems=2, out=str(tmp_path),
        judges=["rubric"], roles={"judge": "critic"}, backend_factory=factory, timing_problems=0,
    )  # fmt: skip
    assert {a["judge"] for a in summary["judging"]["agreement"]} == {"critic"}
