"""Matched compute: curves read at a run-as-written point's mean tokens and FLOPs (issue 13)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ponder.lab import intervals
from ponder.lab.study import StudyConfig, study
from ponder.lab.study.matched import matched, read
from ponder.lab.study.series import Series
from ponder.lab.study.summary import SCHEMA, Summary
from ponder.models.resolve import ModelRef
from ponder.report.page import render
from ponder.types import Generation, Message, SamplingParams
from scripted import SeededBackend
from test_study import factory, suite_file


def series(
    values: Sequence[float],
    tokens: float,
    strategy: str = "sc",
    budget: int = 1,
    *,
    flops: float | None = None,
    pooled: bool = True,
) -> Series:
    v = np.asarray(values, dtype=float)
    z = np.zeros_like(v)
    return Series(
        "m", strategy, budget, v, z + tokens, z + (10 * tokens if flops is None else flops), z, z, z, z, z,
        pooled=pooled,
    )  # fmt: skip


RNG = np.random.default_rng(0)
A = RNG.random(20)
B = np.clip(A + 0.3 * RNG.random(20), 0, 1)
C = np.clip(B + 0.2 * RNG.random(20), 0, 1)
CURVE = [series(A, 100.0, budget=1), series(B, 200.0, budget=2), series(C, 400.0, budget=4)]


def test_a_point_on_the_curve_is_read_as_it_is() -> None:
    for point in CURVE:
        t = float(point.tokens.mean())
        for at in (t, t * (1 + 5e-10), t * (1 - 5e-10)):  # within a relative 1e-9
            r = read(CURVE, at)
            assert r is not None and r.a is point and r.b is point and r.weight == 0.0
            assert np.array_equal(r.values, point.values)
    near = read(CURVE, 200.0 * (1 + 1e-6))  # beyond it: interpolated, barely
    assert near is not None and near.a is CURVE[1] and near.b is CURVE[2] and 0 < near.weight < 1e-5


def test_the_weight_is_taken_on_the_log_axis() -> None:
    # Hand-computed: between 100 and 400 tokens, 200 is halfway on the log axis (a third linearly).
    curve = [CURVE[0], CURVE[2]]
    r = read(curve, 200.0)
    assert r is not None and r.weight == pytest.approx(0.5, abs=1e-12)
    assert r.values == pytest.approx(0.5 * A + 0.5 * C)
    # Between 100 and 1000, 200 is log(2)/log(10) = 0.30103 of the way.
    tenfold = [series(A, 100.0, budget=1), series(C, 1000.0, budget=10)]
    r = read(tenfold, 200.0)
    assert r is not None and r.weight == pytest.approx(math.log10(2), abs=1e-12)
    assert r.values == pytest.approx((1 - math.log10(2)) * A + math.log10(2) * C)
    # The same on the FLOPs axis, where this curve's FLOPs are not ten times its tokens.
    odd = [series(A, 100.0, budget=1, flops=1e6), series(C, 400.0, budget=4, flops=1e8)]
    r = read(odd, 1e7, axis="flops")
    assert r is not None and r.weight == pytest.approx(0.5, abs=1e-12)


def test_readings_are_monotone_between_points() -> None:
    means = [float(np.mean(v)) for v in (A, B, C)]
    assert means == sorted(means)
    previous = -1.0
    for at in np.geomspace(100.0, 400.0, 41):
        r = read(CURVE, float(at))
        assert r is not None
        accuracy = float(r.values.mean())
        assert accuracy >= previous - 1e-12
        previous = accuracy
    assert previous == pytest.approx(means[-1])


def test_a_curve_is_never_extrapolated() -> None:
    for at in (99.0, 400.5, 1e6, 0.0, -1.0):
        assert read(CURVE, at) is None
    assert read(CURVE[:1], 150.0) is None  # one point: read only at itself
    assert read(CURVE[:1], 100.0) is not None
    # A run-as-written point outside the pooled curve's range: the curve is named, not read.
    target = series(B, 800.0, "cot", pooled=False)
    (tokens, _flops) = matched([*CURVE, target])
    assert tokens.axis == "tokens" and tokens.target == "cot" and tokens.at == 800.0
    assert [r.strategy for r in tokens.readings] == ["cot"] and tokens.not_read == ("sc",)
    assert "never extrapolated" in tokens.sentence


def test_the_difference_is_paired_by_problem() -> None:
    # The target follows sc@2's problems but on two: paired, the difference is narrow; taken against
    # a shuffled copy of the same values (same mean, pairing lost), it is wide.
    right = (np.arange(20) % 2 == 0).astype(float)
    better = right.copy()
    better[[1, 3]] = 1.0
    curve = [series(A, 100.0, budget=1), series(right, 200.0, budget=2), series(C, 400.0, budget=4)]
    target = series(better, 200.0, "cot", pooled=False)
    entry = next(m for m in matched([*curve, target]) if m.axis == "tokens")
    sc = next(r for r in entry.readings if r.strategy == "sc")
    assert sc.budgets == (2, 2) and sc.method == "at budget 2"
    paired = intervals.paired_difference(better, right)
    assert (sc.difference, sc.diff_low, sc.diff_high) == (paired.estimate, paired.low, paired.high)
    lost = intervals.paired_difference(better, np.random.default_rng(1).permutation(right))
    assert lost.estimate == pytest.approx(paired.estimate) == 0.1
    assert lost.high - lost.low > 1.5 * (paired.high - paired.low)
    # Interpolated: the target against the per-problem mixture, in the same problem order.
    between = series(np.clip(B + 0.05, 0, 1), 300.0, "cot", pooled=False)
    entry = next(m for m in matched([*CURVE, between]) if m.axis == "tokens")
    sc = next(r for r in entry.readings if r.strategy == "sc")
    w = math.log(300 / 200) / math.log(2)
    assert sc.budgets == (2, 4) and sc.weight == pytest.approx(w)
    assert sc.method == "interpolated on log tokens between budgets 2 and 4"
    mix = intervals.paired_difference(between.values, (1 - w) * B + w * C)
    assert sc.difference == pytest.approx(mix.estimate) and sc.diff_low == pytest.approx(mix.low)
    assert sc.mean_completion_tokens == pytest.approx(300.0)
    assert sc.mean_flops == pytest.approx(3000.0)  # the same place on the curve, read in FLOPs


def test_a_run_as_written_ladder_is_a_curve_and_single_runs_are_not() -> None:
    revise = [series(A, 150.0, "revise", 1, pooled=False), series(C, 300.0, "revise", 2, pooled=False)]
    single = series(B, 250.0, "cot", pooled=False)
    entries = [m for m in matched([*CURVE, *revise, single]) if m.axis == "tokens"]
    assert [m.target for m in entries] == ["revise@1", "revise@2", "cot"]
    at_cot = entries[-1]
    assert [r.strategy for r in at_cot.readings] == ["cot", "sc", "revise"]  # own point first
    for m in entries[:2]:  # a revise point is read against sc, never against its own curve or cot
        assert [r.strategy for r in m.readings] == ["revise", "sc"]


@dataclass
class Thinking(SeededBackend):
    """SeededBackend whose samples spent a third of their tokens in a thinking block."""

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        drawn = await super().generate(messages, params, n)
        samples = [replace(s, thinking_tokens=s.completion_tokens // 3) for s in drawn.samples]
        return replace(drawn, samples=samples)


def thinking(model: str, config: StudyConfig) -> tuple[SeededBackend, ModelRef]:
    return Thinking(model=model), ModelRef(model, "embedded", model, None, 100)


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("matched")
    study("small", suite_file(tmp), strategies="cot,sc,vote@2(cot),coverage", max_n=4, problems=8,
          out=str(tmp / "out"), seed=3, backend_factory=factory)  # fmt: skip
    return tmp / "out"


def test_a_study_reads_its_runs_against_its_pool(study_dir: Path) -> None:
    summary = Summary.load(study_dir / "summary.json")
    rows = {(r.strategy, r.budget): r for r in summary.rows}
    vote = next(m for m in summary.matched if m.target == "vote@2(cot)" and m.axis == "tokens")
    assert vote.at == rows[("vote(cot)", 2)].mean_completion_tokens
    own, sc = vote.readings
    assert own.strategy == "vote(cot)" and own.accuracy == rows[("vote(cot)", 2)].accuracy
    assert sc.strategy == "sc" and "coverage" not in vote.not_read  # an oracle's pick is no curve
    # Read off the rows by hand: the budgets around the target, the weight on their log tokens.
    ladder = sorted((r.mean_completion_tokens, r.budget) for (s, _), r in rows.items() if s == "sc")
    (ta, a), (tb, b) = next((p, q) for p, q in itertools.pairwise(ladder) if p[0] < vote.at < q[0])
    w = (math.log(vote.at) - math.log(ta)) / (math.log(tb) - math.log(ta))
    assert sc.budgets == (a, b) and sc.weight == pytest.approx(w)
    assert sc.accuracy == pytest.approx((1 - w) * rows[("sc", a)].accuracy + w * rows[("sc", b)].accuracy)
    assert sc.ci_low < sc.accuracy < sc.ci_high and sc.difference == pytest.approx(own.accuracy - sc.accuracy)
    assert f"interpolated on log tokens between budgets {a} and {b}" == sc.method
    assert f"interpolated on log tokens between sc@{a} and sc@{b}" in vote.sentence
    assert vote.sentence.startswith("On small, at vote@2(cot)'s ")
    assert {m.axis for m in summary.matched} == {"tokens", "flops"}
    html = render(study_dir).read_text()
    assert "<h2>Matched compute</h2>" in html and "At matched FLOPs" in html
    assert 'data-plot="thinking"' not in html  # nothing thought: no thinking plot


def test_matched_round_trips_and_older_summaries_load(study_dir: Path) -> None:
    text = (study_dir / "summary.json").read_text()
    summary = Summary.load(study_dir / "summary.json")
    assert summary.matched and summary.to_json() + "\n" == text
    assert Summary.from_dict(json.loads(text)) == summary
    data = json.loads(text)
    assert (
        data["schema"] == SCHEMA == 3 and list(data).index("matched") == list(data).index("comparisons") + 1
    )
    # A schema-2 file: no matched readings, no thinking tokens recorded.
    old = {**data, "schema": 2}
    del old["matched"]
    for r in old["rows"]:
        del r["mean_thinking_tokens"]
    upgraded = Summary.from_dict(old)
    assert upgraded.matched == () and all(r.mean_thinking_tokens is None for r in upgraded.rows)
    assert dataclasses.replace(upgraded, matched=summary.matched, rows=summary.rows) == summary
    assert json.loads(upgraded.to_json())["schema"] == SCHEMA


def test_thinking_tokens_are_kept_apart(tmp_path: Path) -> None:
    summary: dict[str, Any] = study("small", suite_file(tmp_path), strategies="cot,sc", max_n=4, problems=6,
                                    out=str(tmp_path / "out"), seed=3, backend_factory=thinking)  # fmt: skip
    rows = {(r["strategy"], r["budget"]): r for r in summary["rows"]}
    for r in rows.values():
        assert 0 < r["mean_thinking_tokens"] < r["mean_completion_tokens"]
    assert "mean_thinking_tokens" not in rows[("cot", 1)]["derived"]  # recorded
    assert "mean_thinking_tokens" in rows[("sc", 4)]["derived"]  # k × the pool's mean per sample
    assert rows[("sc", 4)]["mean_thinking_tokens"] == pytest.approx(
        4 * rows[("sc", 1)]["mean_thinking_tokens"]
    )
    html = render(tmp_path / "out").read_text()
    assert 'data-plot="thinking"' in html and "thinking tokens" in html
