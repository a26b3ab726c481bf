"""A stored study extended with more strategies or models (its pools never redrawn), and a study's
plan read before anything runs (`--dry-run`: no model, nothing written)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ponder import PonderError
from ponder.lab.study import StudyConfig, estimate, study
from test_study import factory, suite_file

BASE: dict[str, Any] = {"max_n": 4, "problems": 6, "seed": 3, "timing_problems": 2}


def first(tmp: Path, models: str = "small", strategies: str = "cot,sc", **settings: Any) -> dict[str, Any]:
    return study(models, suite_file(tmp), strategies=strategies, backend_factory=factory,
                 out=str(tmp / "s"), **{**BASE, **settings})  # fmt: skip


def extend(tmp: Path, models: str, strategies: str, **settings: Any) -> dict[str, Any]:
    return study(models, suite_file(tmp), strategies=strategies, backend_factory=factory,
                 out=str(tmp / "s"), extend=True, **{**BASE, **settings})  # fmt: skip


def table(tmp: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp / "s" / "study.sqlite") as db:
        return db.execute(sql).fetchall()


REQUESTS = "SELECT model, problem_id, kind, seed, n, answer, correct FROM requests ORDER BY id"
SAMPLES = "SELECT * FROM samples ORDER BY request_id, idx"


def test_more_strategies_and_a_model_reuse_the_stored_pools(tmp_path: Path) -> None:
    first(tmp_path)
    requests, samples = table(tmp_path, REQUESTS), table(tmp_path, SAMPLES)
    summary = extend(tmp_path, "small,large", "cot,direct,sc,bon@2:scorer=vote,coverage")
    # every stored request and sample is kept as it was; nothing of small's is drawn again
    assert table(tmp_path, REQUESTS)[: len(requests)] == requests
    assert table(tmp_path, SAMPLES)[: len(samples)] == samples
    added = table(tmp_path, REQUESTS)[len(requests) :]
    assert {(m, k) for m, _, k, *_ in added if m == "small"} == {("small", "run:direct")}
    assert {k for m, _, k, *_ in added if m == "large"} == {
        "pool",
        "run:cot",
        "run:direct",
        "timing:1",
        "timing:2",
    }
    points = {(r["model"], r["strategy"], r["budget"]) for r in summary["rows"]}
    assert {("small", "bon:scorer=vote", 2), ("small", "coverage", 4), ("large", "sc", 4)} <= points
    # the extended study is the study now: the same settings resume it and redo nothing
    config = json.loads(table(tmp_path, "SELECT value FROM meta WHERE key = 'identity'")[0][0])
    assert config["models"] == ["small", "large"] and "direct" in config["strategies"]
    count = len(table(tmp_path, REQUESTS))
    again = study("small,large", suite_file(tmp_path), strategies="cot,direct,sc,bon@2:scorer=vote,coverage",
                  backend_factory=factory, out=str(tmp_path / "s"), resume=True, **BASE)  # fmt: skip
    assert again == summary and len(table(tmp_path, REQUESTS)) == count
    with pytest.raises(PonderError, match="other settings"):
        first(tmp_path, resume=True)  # the old settings no longer name this study


def test_an_extended_study_matches_one_run_whole(tmp_path: Path) -> None:
    """Seeds follow (model, problem, request), never the order of work: extending a study gives the
    samples, and so the figures, of running the larger study at once."""
    first(tmp_path)
    extended = extend(tmp_path, "small", "cot,direct,sc,bon:scorer=vote,coverage")
    whole = study("small", suite_file(tmp_path), strategies="cot,direct,sc,bon:scorer=vote,coverage",
                  backend_factory=factory, out=str(tmp_path / "w"), **BASE)  # fmt: skip
    assert extended["rows"] == whole["rows"]


def test_a_pool_that_must_grow_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    first(tmp_path)
    before = table(tmp_path, "SELECT * FROM meta ORDER BY key"), table(tmp_path, REQUESTS)
    with pytest.raises(PonderError) as refused:
        extend(tmp_path, "small", "cot,sc,bon@8")
    message = str(refused.value)
    assert "\n" not in message and "bon@8 needs a pool of 8" in message and "holds 4" in message
    with pytest.raises(PonderError, match="needs a pool of 8"):
        extend(tmp_path, "small", "cot,sc", max_n=8)
    # best-of-n by logprob reads scores the stored pool was drawn without
    with pytest.raises(PonderError, match="bon@2 scores small's cot pool by token logprobs"):
        extend(tmp_path, "small", "cot,sc,bon@2")
    assert (table(tmp_path, "SELECT * FROM meta ORDER BY key"), table(tmp_path, REQUESTS)) == before
    # a smaller budget reads the stored pool: sc@2 keeps drawing from the pool of 4
    summary = extend(tmp_path, "small", "cot,sc", max_n=2)
    assert {r["budget"] for r in summary["rows"] if r["strategy"] == "sc"} == {1, 2}
    assert table(tmp_path, REQUESTS) == before[1]


def test_the_settings_that_drew_the_pools_must_be_kept(tmp_path: Path) -> None:
    first(tmp_path)
    with pytest.raises(PonderError) as refused:
        extend(tmp_path, "small", "cot,sc,bon", seed=4, max_tokens=99)
    message = str(refused.value)
    assert "\n" not in message and "seed" in message and "max_tokens" in message and "--out" in message
    for changed in ({"problems": 5}, {"temperature": 0.5}, {"threads": 4}, {"limit": "tokens=50"}):
        with pytest.raises(PonderError, match="--extend keeps"):
            extend(tmp_path, "small", "cot,sc", **changed)
    with pytest.raises(PonderError, match="no study to extend"):
        study("small", suite_file(tmp_path), strategies="cot", backend_factory=factory,
              out=str(tmp_path / "none"), extend=True)  # fmt: skip
    # how many requests are in flight is not a setting of the study
    assert extend(tmp_path, "small", "cot,sc", concurrency=3)["rows"]


def test_a_new_pool_for_an_old_model_is_drawn(tmp_path: Path) -> None:
    """A model that answered once (`only`) gets a pool when the extension gives it pooled strategies."""
    first(tmp_path, models="small,large", only={"large": ["cot"]})
    summary = extend(tmp_path, "small,large", "cot,sc")
    assert {r["strategy"] for r in summary["rows"] if r["model"] == "large"} == {"cot", "sc"}
    assert len(table(tmp_path, "SELECT * FROM requests WHERE model = 'large' AND kind = 'pool'")) == 6


# -- dry run ------------------------------------------------------------------------------------------


def config(tmp: Path, **settings: Any) -> StudyConfig:
    values: dict[str, Any] = {"models": ["small"], "suite": suite_file(tmp), "strategies": ["cot", "sc"],
                              "out": str(tmp / "s"), **BASE}  # fmt: skip
    return StudyConfig(**{**values, **settings})


def test_a_dry_run_counts_the_work_and_says_what_it_cannot_know(tmp_path: Path) -> None:
    plan = estimate(config(tmp_path, models=["small", "large"]))
    assert not (tmp_path / "s").exists()  # nothing written
    small = plan.models[0]
    # per problem: a pool of 4 and a cot run; on 2 problems timing requests of 1 and 2 samples
    assert dict(small.requests) == {"pool": 6, "run": 6, "timing": 4}
    assert small.samples == 6 * 4 + 6 + 2 * (1 + 2)
    assert small.tokens_bound == 320 * small.samples
    assert small.tokens_expected is None and small.seconds is None and small.dollars is None
    text = str(plan)
    assert "6 problems" in text and "nothing run" in text
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["models"][0]["requests"] == {"pool": 6, "run": 6, "timing": 4}
    assert "expected unknown" in text and "no measured rate" in text


def test_a_dry_run_against_a_stored_study_uses_its_measured_rate(tmp_path: Path) -> None:
    first(tmp_path)
    db = tmp_path / "s" / "study.sqlite"
    before = db.read_bytes()
    plan = estimate(config(tmp_path, strategies=["cot", "direct", "sc", "coverage"]))
    assert db.read_bytes() == before  # read, never written
    (small,) = plan.models
    assert dict(small.requests) == {"run": 6} and small.samples == 6  # only `direct` is new
    assert small.stored == len(table(tmp_path, REQUESTS))
    with sqlite3.connect(db) as conn:
        tokens, seconds = conn.execute(
            "SELECT sum(completion_tokens), sum(wall_seconds) FROM requests"
        ).fetchone()
        (mean,) = conn.execute("SELECT avg(completion_tokens) FROM samples").fetchone()
    assert small.tokens_per_second == pytest.approx(tokens / seconds)
    assert small.tokens_expected == pytest.approx(6 * mean)
    assert small.seconds == pytest.approx(6 * mean / (tokens / seconds))
    assert small.dollars == pytest.approx(small.seconds * 2 * 0.045 / 3600)  # 2 threads, a core-hour's price
    assert "--extend" in str(plan) and "measured" in str(plan)
    refused = estimate(config(tmp_path, max_n=8))  # the pool would have to grow: --extend refuses
    assert "but --extend: sc needs a pool of 8" in str(refused)
    # other pool settings: the stored study would not be continued, and the plan says so
    other = estimate(config(tmp_path, seed=9))
    assert "neither --resume nor --extend" in str(other) and dict(other.models[0].requests)["pool"] == 6


def test_a_dry_run_prices_a_hosted_model_from_the_table(tmp_path: Path, isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "prices.toml").write_text(
        "[models.hosted]\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\n"
    )
    (plan_priced,) = estimate(config(tmp_path, models=["openai:hosted"])).models
    assert plan_priced.dollars_bound == pytest.approx(plan_priced.tokens_bound * 2.0 / 1e6)
    assert "prompts not priced" in plan_priced.dollars_basis
    (unpriced,) = estimate(config(tmp_path, models=["openai:other"])).models
    assert unpriced.dollars_bound is None and "no price for other" in unpriced.dollars_basis
