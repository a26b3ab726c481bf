"""The study's figures, read as a statistician would: charged compute, measured seconds, intervals
that hold, a headline that owns its choice, and verdicts that do not depend on when they were made."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ponder.lab.study import StudyConfig, study
from ponder.lab.study.analysis import Series, _headline, row
from ponder.models.resolve import ModelRef
from ponder.types import Generation, Message, SamplingParams
from scripted import CachingBackend, SeededBackend
from test_study import suite_file

PARAMS = 100  # compute parameters of the stand-in model


def caching(model: str, config: StudyConfig) -> tuple[CachingBackend, ModelRef]:
    return CachingBackend(model=model), ModelRef(model, "embedded", model, None, PARAMS)


def rows(summary: dict[str, Any], strategy: str) -> dict[int, dict[str, Any]]:
    return {r["budget"]: r for r in summary["rows"] if r["strategy"] == strategy}


def test_a_run_after_the_pool_is_charged_its_whole_prompt(tmp_path: Path) -> None:
    """cot runs right after the pool on the same prompt, so the engine reports its prompt cached;
    the point is charged the prompt uncached, and the cache's saving is its own column."""
    summary = study("m", suite_file(tmp_path), strategies="cot,sc", max_n=4, problems=6,
                    out=str(tmp_path / "s"), backend_factory=caching)  # fmt: skip
    db = sqlite3.connect(tmp_path / "s" / "study.sqlite")
    runs = db.execute("SELECT cached_prompt_tokens, completion_tokens, flops FROM requests"
                      " WHERE kind = 'run:cot'").fetchall()  # fmt: skip
    assert all(cached == 39 for cached, _, _ in runs)  # the engine did cache it
    cot = rows(summary, "cot")[1]
    charged = np.mean([2 * PARAMS * (40 + completion) for _, completion, _ in runs])
    recorded = np.mean([flops for _, _, flops in runs])
    assert cot["mean_flops"] == pytest.approx(charged)
    assert cot["mean_cache_saved_flops"] == pytest.approx(charged - recorded)
    assert cot["mean_cache_saved_flops"] == pytest.approx(2 * PARAMS * 39)
    assert "mean_flops" in cot["derived"]
    # Seconds: the cached prompt's time is charged at the engine's own prompt rate.
    seconds = db.execute("SELECT wall_seconds FROM requests WHERE kind = 'run:cot'").fetchall()
    assert cot["mean_seconds"] == pytest.approx(
        np.mean([s for (s,) in seconds]) + 39 * CachingBackend.PROMPT_RATE
    )


def test_seconds_at_a_small_budget_are_measured_not_prorated(tmp_path: Path) -> None:
    """With every problem timed, the seconds at k are those of a real request of k samples, charged as
    if its prompt were fresh: exactly what the engine's formula gives for that request run alone."""
    summary = study("m", suite_file(tmp_path), strategies="sc", max_n=4, problems=4, timing_problems=4,
                    out=str(tmp_path / "s"), backend_factory=caching)  # fmt: skip
    sc = rows(summary, "sc")
    db = sqlite3.connect(tmp_path / "s" / "study.sqlite")
    engine = CachingBackend()
    for k in (1, 2):
        assert sc[k]["seconds_method"].startswith("measured")
        expected = []
        for (rid,) in db.execute("SELECT id FROM requests WHERE kind = ? ORDER BY id", (f"timing:{k}",)):
            seed, pid = db.execute("SELECT seed, problem_id FROM requests WHERE id = ?", (rid,)).fetchone()
            expected.append(_fresh(engine, tmp_path, pid, seed, k))
        assert len(expected) == 4
        assert sc[k]["mean_seconds"] == pytest.approx(np.mean(expected))
    assert sc[4]["mean_seconds"] > sc[2]["mean_seconds"] > sc[1]["mean_seconds"]


def _fresh(engine: CachingBackend, tmp: Path, problem_id: str, seed: int, k: int) -> float:
    import asyncio

    from ponder.lab.study.store import StudyStore
    from ponder.strategies import prompts

    store = StudyStore(tmp / "s" / "study.sqlite")
    item = next(i for i in store.problems() if i.id == problem_id)
    store.close()
    problem = item.problem()
    messages = prompts.messages(prompts.COT, problem)
    params = SamplingParams(max_tokens=320, temperature=0.7, seed=seed, stop=problem.stop)
    drawn = asyncio.run(SeededBackend().generate(messages, params, k))
    return engine.fresh_seconds(drawn.samples)


def test_seconds_from_a_partial_batching_curve_say_they_are_estimates(tmp_path: Path) -> None:
    summary = study("m", suite_file(tmp_path), strategies="sc", max_n=4, problems=6, timing_problems=2,
                    out=str(tmp_path / "s"), backend_factory=caching)  # fmt: skip
    sc = rows(summary, "sc")
    assert "estimate" in sc[1]["seconds_method"] and "2 problems" in sc[1]["seconds_method"]
    none = study("m", suite_file(tmp_path), strategies="sc", max_n=4, problems=6, timing_problems=0,
                 out=str(tmp_path / "t"), backend_factory=caching)  # fmt: skip
    assert "estimate" in rows(none, "sc")[1]["seconds_method"]
    for r in summary["rows"] + none["rows"]:
        assert "mean_seconds" in r["derived"]
    # The curve's estimate is near the seconds measured on every problem, and nearer than prorating.
    measured = study("m", suite_file(tmp_path), strategies="sc", max_n=4, problems=6, timing_problems=6,
                     out=str(tmp_path / "u"), backend_factory=caching)  # fmt: skip
    truth = rows(measured, "sc")[1]["mean_seconds"]
    curve, prorated = rows(summary, "sc")[1]["mean_seconds"], rows(none, "sc")[1]["mean_seconds"]
    assert abs(curve - truth) < 0.2 * truth
    assert abs(curve - truth) < abs(prorated - truth)


def _series(values: list[float], flops: float, model: str = "a", strategy: str = "sc", k: int = 1) -> Series:
    v = np.asarray(values, dtype=float)
    z = np.zeros_like(v)
    return Series(model, strategy, k, v, z, z + flops, z, z, z, z, z)


def test_a_perfect_binary_row_has_an_interval_below_one() -> None:
    r = row(_series([1.0] * 20, 1.0, strategy="cot"))
    assert r.accuracy == 1.0
    assert 0.8 < r.ci_low < 0.85 and r.ci_high == 1.0  # Wilson at 20/20: 0.839
    assert r.ci_method == "wilson"


def test_the_headline_owns_its_choice_and_its_condition() -> None:
    rng = np.random.default_rng(0)
    large = _series(list(rng.integers(0, 2, 20).astype(float)), 100.0, "large", "cot")
    small = [_series(list(rng.integers(0, 2, 20).astype(float)), f, "small", "sc", k)
             for k, f in ((1, 10.0), (2, 20.0), (4, 40.0), (8, 80.0), (16, 160.0))]  # fmt: skip
    head = _headline([large, *small])
    assert head is not None
    assert head.chosen_among == 4  # the four points at no more FLOPs than 100
    assert "best of its 4 points" in head.sentence and "no more FLOPs" in head.sentence
    assert head.flops_condition == "at no more FLOPs than large with cot@1"
    best = next(s for s in small if s.budget == head.a.budget)
    from ponder.lab.intervals import paired_difference

    unadjusted = paired_difference(best.values, large.values)
    assert head.ci_low < unadjusted.low and head.ci_high > unadjusted.high
    # One model: no FLOPs condition to claim; the sentence says how many points it chose among and
    # states the ratio (the old fallback claimed nothing and adjusted nothing).
    head = _headline(small)
    assert head is not None and head.flops_condition is None
    assert "no more FLOPs" not in head.sentence and "best of its 4 points" in head.sentence
    assert "x its FLOPs" in head.sentence


def test_a_flaky_oracle_cannot_split_one_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An oracle that answers differently for the same answer (a sandbox timeout under load) once
    made summary.json fail to write; verdicts are cached per (problem, answer)."""
    import ponder.lab.study.drive as drive  # where the driver calls the oracle

    calls = {"n": 0}

    def flaky(item: Any, answer: str | None) -> bool:
        calls["n"] += 1
        return answer is not None and calls["n"] % 2 == 0

    monkeypatch.setattr(drive, "correct", flaky)

    def seeded(model: str, config: StudyConfig) -> tuple[SeededBackend, ModelRef]:
        return SeededBackend(model=model), ModelRef(model, "embedded", model, None, PARAMS)

    summary = study("m", suite_file(tmp_path), strategies="cot,sc", max_n=8, problems=6,
                    out=str(tmp_path / "s"), backend_factory=seeded)  # fmt: skip
    assert summary["rows"]
    db = sqlite3.connect(tmp_path / "s" / "study.sqlite")
    verdicts = db.execute(
        "SELECT r.problem_id, s.answer, group_concat(DISTINCT s.correct) FROM samples s"
        " JOIN requests r ON r.id = s.request_id WHERE s.answer IS NOT NULL GROUP BY r.problem_id, s.answer"
    ).fetchall()
    assert verdicts and all("," not in str(flags) for _, _, flags in verdicts)
    assert json.loads((tmp_path / "s" / "summary.json").read_text())["rows"]


def test_a_private_study_warns_and_reports_its_item_space(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def seeded(model: str, config: StudyConfig) -> tuple[SeededBackend, ModelRef]:
        return SeededBackend(model=model), ModelRef(model, "embedded", model, None, PARAMS)

    summary = study("m", "lists@2", strategies="cot,sc", max_n=2, problems=3, split="private",
                    out=str(tmp_path / "p"), backend_factory=seeded, quiet=False)  # fmt: skip
    err = capsys.readouterr().err
    assert "private study" in err and "gold answers" in err
    space = summary["provenance"]["item_space"]
    assert set(space) == {"lists@2"} and space["lists@2"] > 10 * 3


@dataclass
class ChunkingBackend(CachingBackend):
    """An engine with 2 slots: n above it is split into requests of 2, later ones finding the prompt
    cached (as the embedded backend does)."""

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        parts = []
        for offset in range(0, n, 2):
            parts.append(await super().generate(messages, params, min(2, n - offset)))
        return Generation(
            samples=[s for p in parts for s in p.samples],
            prompt_tokens=sum(p.prompt_tokens for p in parts),
            cached_prompt_tokens=sum(p.cached_prompt_tokens for p in parts),
            completion_tokens=sum(p.completion_tokens for p in parts),
            wall_seconds=sum(p.wall_seconds for p in parts),
            requests=len(parts),
            prompt_seconds=sum(p.prompt_seconds for p in parts),
            first_prompt_tokens=parts[0].prompt_tokens,
            first_cached_prompt_tokens=parts[0].cached_prompt_tokens,
        )


def test_a_chunked_pool_charges_each_budget_one_prompt(tmp_path: Path) -> None:
    def chunking(model: str, config: StudyConfig) -> tuple[ChunkingBackend, ModelRef]:
        return ChunkingBackend(model=model), ModelRef(model, "embedded", model, None, PARAMS)

    summary = study("m", suite_file(tmp_path), strategies="sc", max_n=8, problems=4, timing_problems=0,
                    out=str(tmp_path / "s"), backend_factory=chunking)  # fmt: skip
    assert set(rows(summary, "sc")) == {1, 2, 4, 8}
    for r in rows(summary, "sc").values():
        assert r["mean_flops"] == pytest.approx(2 * PARAMS * (40 + r["mean_completion_tokens"]))


def test_a_study_stored_before_timing_requests_resumes_with_its_flags(tmp_path: Path) -> None:
    def seeded(model: str, config: StudyConfig) -> tuple[SeededBackend, ModelRef]:
        return SeededBackend(model=model), ModelRef(model, "embedded", model, None, PARAMS)

    out = tmp_path / "old"
    study("m", suite_file(tmp_path), strategies="cot,sc", max_n=2, problems=3, timing_problems=0,
          out=str(out), backend_factory=seeded)  # fmt: skip
    db = sqlite3.connect(out / "study.sqlite")
    (raw,) = db.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()
    identity = json.loads(raw)
    del identity["timing_problems"]  # as a study stored before the setting existed
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'identity'", (json.dumps(identity),))
    db.close()
    again = study("m", suite_file(tmp_path), strategies="cot,sc", max_n=2, problems=3,
                  out=str(out), backend_factory=seeded, resume=True)  # fmt: skip
    assert again["rows"]


def test_a_bin_names_a_best_point_only_where_its_interval_clears_the_others() -> None:
    from ponder.lab.study.analysis import Pool, _difficulty

    problems = 100  # 20 a bin: enough for an interval to clear another's
    correct = np.zeros((problems, 4), dtype=bool)
    correct[:, 0] = np.arange(problems) % 2 == 0  # pass@1 spreads the problems over the bins
    zeros, flat = np.zeros((problems, 4)), np.zeros(problems)
    pool = Pool(correct=correct, labels=zeros.astype(np.int64), scores=zeros, valid=zeros == 0,
                completion=zeros, truncated=flat, charges=[], prompt_seconds=flat)  # fmt: skip
    always = _series([1.0] * problems, 10.0, "m", "sc", 4)
    never = _series([0.0] * problems, 1.0, "m", "cot", 1)
    close = _series([1.0] * (problems - 1) + [0.0], 5.0, "m", "sc", 2)
    clear = _difficulty({"m": pool}, [always, never])["m"]
    assert all(b.best_strategy == "sc" and b.best_budget == 4 for b in clear)
    tied = _difficulty({"m": pool}, [always, never, close])["m"]
    assert all(b.best_strategy is None for b in tied)  # sc@4 and sc@2 cannot be told apart
    assert all(b.ci_low["sc@4"] < 1.0 for b in tied)
