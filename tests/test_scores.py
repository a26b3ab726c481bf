"""Continuous scores in a study: the `checks` axis (partial credit) beside accuracy.

Scripted, no model: a stand-in writer answers the `writing` family's tasks with texts that keep a
share of the rules. Checked: each row's mean score is a brute-force mean over problems (every
k-subset of each pool, the strategy's own rule on it); the estimators fed an axis's values give
the expected value of their pick, as brute force over k-subsets does; the score interval holds its
coverage and narrows with more problems; a study without partial credit (GSM8K-like) writes the
summary it wrote before scores existed; the report and the CLI show the axis.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ponder.backends.base import Capabilities
from ponder.lab import estimators as est
from ponder.lab.score_intervals import T_MEAN, T_PAIRED, paired_score_difference, score_interval, t_quantile
from ponder.lab.study import StudyConfig, study
from ponder.lab.study import scores as axes
from ponder.lab.study.analysis import analyse
from ponder.lab.study.outputs import provenance
from ponder.lab.study.runner import stored_config
from ponder.lab.study.store import StudyStore
from ponder.lab.study.summary import Summary
from ponder.models.resolve import ModelRef
from ponder.strategies.pooling import PoolView, best_scored, coverage, majority
from ponder.tasks import oracle
from ponder.types import Generation, Message, Sample, SamplingParams
from test_study import run as gsm8k_like_study

ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = "cot,sc,bon,bon:scorer=vote,coverage,adaptive"
FILLER = ("the", "a", "and", "it", "is", "on", "at", "as", "in", "to", "of")


@dataclass
class Writer:
    """A stand-in model for the writing family: each prompt gets one of four drafts, chosen by
    (prompt, seed, index); a draft keeps some of the task's required words and its last word and
    aims at its word window, so texts keep different shares of their rules, and drafts repeat (a
    vote has something to count). One sample in seven is empty (no answer)."""

    model: str = "writer"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(max_n=64, logprobs=True, prefix_sharing=True, local_cores=2)
    )

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        prompt = "".join(m.content for m in messages)
        include = re.findall(r'uses the word "(\w+)"', prompt)
        last = re.findall(r'ends with the word "(\w+)"', prompt)
        window = re.search(r"between (\d+) and (\d+) words", prompt)
        low, high = (int(window[1]), int(window[2])) if window else (20, 40)
        samples = []
        for i in range(n):
            h = int.from_bytes(hashlib.sha256(f"{prompt}|{params.seed}|{i}".encode()).digest()[:8], "big")
            draft = h % 4
            kept = [w for j, w in enumerate(include) if (draft >> (j % 2)) & 1 or j == draft]
            size = (low + high) // 2 if draft != 3 else high + 5
            body = kept + [FILLER[j % len(FILLER)] for j in range(max(0, size - len(kept) - 1))]
            body.append(last[0] if last and draft % 2 else "end")
            text = " ".join(body) + "." if h % 7 else ""
            samples.append(
                Sample(
                    text=text,
                    completion_tokens=len(body) + h % 5,
                    mean_logprob=-(draft + 1) / 4 if params.logprobs else None,
                    finish_reason="stop",
                )
            )
        return Generation(samples, 40, 0, sum(s.completion_tokens for s in samples), 0.01 * n)

    def close(self) -> None:
        pass


def factory(model: str, config: StudyConfig) -> tuple[Writer, ModelRef]:
    return Writer(model=model), ModelRef(model, "embedded", model, None, 100)


def writing_study(folder: Path, problems: int = 12) -> dict[str, Any]:
    return study(
        "writer", "writing@5", strategies=STRATEGIES, max_n=4, problems=problems, seed=3,
        out=str(folder), backend_factory=factory, compare=["sc@4/writer vs cot/writer"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scores") / "out"
    writing_study(folder)
    return folder


def reanalyse(folder: Path) -> Summary:
    store = StudyStore(folder / "study.sqlite", readonly=True)
    try:
        config = stored_config(store.meta("identity"), StudyConfig(models=["x"], suite="x", out=str(folder)))
        return analyse(config, store, provenance(config, store))
    finally:
        store.close()


# Brute force: every k-subset of a pool, the strategy's own rule on it.


def _vote(answers: Sequence[str | None], grades: Sequence[float]) -> float:
    """The vote's expected grade on one subset: ties broken uniformly; nobody answered: 0."""
    counts: dict[str, list[float]] = {}
    for a, g in zip(answers, grades, strict=True):
        if a is not None:
            counts.setdefault(a, []).append(g)
    if not counts:
        return 0.0
    top = max(len(v) for v in counts.values())
    tied = [float(np.mean(v)) for v in counts.values() if len(v) == top]
    return float(np.mean(tied))


def _best(keys: Sequence[tuple[bool, float, int]], grades: Sequence[float]) -> float:
    """The best-scored sample's grade: answered first, then the higher score, then the earlier."""
    pick = max(range(len(keys)), key=lambda j: keys[j])
    return grades[pick]


def brute(rule: str, answers: list[str | None], logprobs: list[float], grades: list[float], k: int) -> float:
    n = len(answers)
    values = []
    for subset in itertools.combinations(range(n), k):
        a = [answers[j] for j in subset]
        g = [grades[j] for j in subset]
        if rule == "vote":
            values.append(_vote(a, g))
        elif rule == "best":
            keys = [(answers[j] is not None, logprobs[j], -j) for j in subset]
            values.append(_best(keys, g))
        else:  # coverage: the best grade of the subset
            values.append(max(g))
    return float(np.mean(values))


RULES = {"sc": "vote", "bon:scorer=vote": "vote", "bon": "best", "coverage": "max"}


def test_each_row_s_mean_score_is_a_brute_force_mean_over_problems(written: Path) -> None:
    summary = Summary.load(written / "summary.json")
    store = StudyStore(written / "study.sqlite", readonly=True)
    items = store.problems()
    requests = {(r["model"], r["problem_id"], r["kind"]): r for r in store.requests()}
    pools = [store.samples(requests[("writer", i.id, "pool")]["id"]) for i in items]
    grades = [[oracle.grade(i, s.answer) for s in pool] for i, pool in zip(items, pools, strict=True)]
    assert all(g is not None for row in grades for g in row)
    spread = {g for row in grades for g in row}
    assert len(spread) >= 4, spread  # partial credit, not 0/1: the axis is continuous here
    checked = 0
    for r in summary.rows:
        assert r.scores is not None and set(r.scores) == {"checks"}
        s = r.scores["checks"]
        assert s.ci_low <= s.mean <= s.ci_high and s.ci_method == T_MEAN
        if r.strategy == "cot":
            runs = [requests[("writer", i.id, "run:cot")] for i in items]
            want = np.mean([oracle.grade(i, run["answer"]) for i, run in zip(items, runs, strict=True)])
        elif r.strategy in RULES:
            want = np.mean(
                [
                    brute(RULES[r.strategy], [s.answer for s in pool], [s.score or -np.inf for s in pool],
                          [float(g or 0.0) for g in row], r.budget)
                    for pool, row in zip(pools, grades, strict=True)
                ]
            )  # fmt: skip
        else:  # adaptive: Monte Carlo beyond k = 1; at k = 1 it is the pool's mean grade
            assert 0 <= s.mean <= 1
            if r.budget != 1:
                continue
            want = np.mean([np.mean([float(g or 0.0) for g in row]) for row in grades])
        assert s.mean == pytest.approx(want, abs=1e-9), (r.strategy, r.budget)
        checked += 1
    assert checked >= 14
    store.close()
    # Coverage is the best of k, so no selection beats it; at k = 1 every pool strategy is pass@1.
    pooled = [r for r in summary.rows if r.scores and r.coverage is not None]
    by = {(r.strategy, r.budget): r.scores["checks"].mean for r in pooled if r.scores}
    assert all(by[(s, k)] <= by[("coverage", k)] + 1e-9 for s, k in by)
    assert len({round(by[(s, 1)], 12) for s in ("sc", "bon", "bon:scorer=vote", "coverage", "adaptive")}) == 1


def test_the_summary_carries_the_axis_everywhere_and_reads_back(written: Path) -> None:
    text = (written / "summary.json").read_text()
    data = json.loads(text)
    assert data["schema"] == 3 and set(data["score_axes"]) == {"checks"}
    assert "partial credit" in data["score_axes"]["checks"]
    assert Summary.load(written / "summary.json").to_json() + "\n" == text  # loads, keeps every figure
    (pair,) = data["comparisons"]
    diff = pair["scores"]["checks"]
    rows = {(r["strategy"], r["budget"]): r for r in data["rows"]}
    a, b = rows[("sc", 4)]["scores"]["checks"]["mean"], rows[("cot", 1)]["scores"]["checks"]["mean"]
    assert diff["difference"] == pytest.approx(a - b)
    assert diff["ci_low"] <= diff["difference"] <= diff["ci_high"] and diff["ci_method"] == T_PAIRED
    assert data["matched"], "cot is run as written beside the pooled curves"
    for m in data["matched"]:
        own, *others = m["readings"]
        assert "checks" in own["scores"] and "score_differences" not in own
        for reading in others:
            d = reading["score_differences"]["checks"]
            target = own["scores"]["checks"]["mean"]
            assert d["difference"] == pytest.approx(target - reading["scores"]["checks"]["mean"])
    # How each pooled estimate of the axis was derived, per strategy.
    for name in ("writer sc", "writer bon", "writer coverage", "writer adaptive"):
        assert "layer cake" in data["estimators"][name]["scores"]["checks"]["method"]
    # Without the axis the same store gives the same accuracies, costs and readings: scores only add.
    plain = reanalyse(written)
    registered = dict(axes.AXES)
    axes.AXES.clear()
    try:
        bare = reanalyse(written)
    finally:
        axes.AXES.update(registered)
    assert all(r.scores is None for r in bare.rows) and bare.score_axes is None
    stripped = _strip(json.loads(plain.to_json()))
    empty = {"methods": {}, "mc_error": {}, "scoring": None}  # an estimator that noted only its scores
    stripped["estimators"] = {k: v for k, v in stripped["estimators"].items() if v != empty}
    assert stripped == json.loads(bare.to_json())


def _view(labels: np.ndarray, scores: np.ndarray | None = None) -> PoolView:
    valid = labels >= 0
    s = scores if scores is not None else np.full(labels.shape, -np.inf)
    return PoolView(np.zeros(labels.shape, dtype=bool), labels, s, valid, seed=0)


def test_best_of_k_fed_grades_is_brute_force_over_k_subsets() -> None:
    rng = np.random.default_rng(5)
    problems, n = 6, 6
    labels = rng.integers(-1, 3, (problems, n))  # some samples without an answer
    scores = rng.choice([-np.inf, -1.0, -0.5, -0.5, 0.0], (problems, n))  # ties and unscored samples
    grades = rng.choice([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], (problems, n))
    grades = np.where(labels >= 0, grades, 0.0)
    # One answer, one grade (the grade is a function of the answer): take the first member's.
    for p in range(problems):
        for label in set(labels[p][labels[p] >= 0]):
            grades[p, labels[p] == label] = grades[p, labels[p] == label][0]
    ks = list(range(1, n + 1))
    got = axes.score_estimate(best_scored, _view(labels, scores), grades, ks)
    for p in range(problems):
        answers = [str(x) if x >= 0 else None for x in labels[p]]
        for j, k in enumerate(ks):
            want = brute("best", answers, list(scores[p]), list(grades[p]), k)
            assert got.values[p, j] == pytest.approx(want, abs=1e-12), (p, k)
    # The vote and coverage, the same way; at 0/1 values each is its accuracy estimator exactly.
    voted = axes.score_estimate(majority, _view(labels), grades, ks)
    covered = axes.score_estimate(coverage, _view(labels), grades, ks)
    for p in range(problems):
        answers = [str(x) if x >= 0 else None for x in labels[p]]
        row = list(grades[p])
        for j, k in enumerate(ks):
            assert voted.values[p, j] == pytest.approx(brute("vote", answers, [], row, k), abs=1e-12)
            assert covered.values[p, j] == pytest.approx(brute("max", answers, [], row, k), abs=1e-12)
    binary = (grades >= 0.5) & (labels >= 0)
    view = _view(labels, scores)
    accuracy = est.best_of_k_curve(scores, binary, ks, valid=labels >= 0)
    assert np.array_equal(axes.score_estimate(best_scored, view, binary.astype(float), ks).values, accuracy)


def test_a_group_whose_members_differ_is_valued_at_its_mean() -> None:
    """Behaviour groups (execution's clusters) or a judge may value one group's members apart: the
    vote's pick is a uniformly random member of the winning group, so it scores the group's mean."""
    labels = np.array([[0, 0, 0, 1, 1, 2]])
    grades = np.array([[1.0, 0.5, 0.0, 0.9, 0.9, 0.3]])
    got = axes.score_estimate(majority, _view(labels), grades, [1, 3, 6])
    assert got.info["group_mean_problems"] == 1
    assert got.values[0, 2] == pytest.approx(0.5)  # all six: group 0 wins, its mean
    assert got.values[0, 0] == pytest.approx(grades.mean())  # one sample: the pool's mean
    means = np.array([[0.5, 0.5, 0.5, 0.9, 0.9, 0.3]])
    answers = ["0", "0", "0", "1", "1", "2"]
    assert got.values[0, 1] == pytest.approx(brute("vote", answers, [], list(means[0]), 3))


def test_the_interval_holds_the_mean_narrows_and_never_collapses() -> None:
    rng = np.random.default_rng(0)
    grades = rng.choice([0.4, 0.6, 0.8, 1.0], 200, p=[0.1, 0.2, 0.4, 0.3])
    widths = []
    for problems in (12, 24, 48, 96):
        ci = score_interval(grades[:problems])
        assert ci.low <= ci.estimate <= ci.high and ci.estimate == pytest.approx(grades[:problems].mean())
        widths.append(ci.high - ci.low)
    assert widths == sorted(widths, reverse=True) and widths[-1] < widths[0] / 2
    for same in (np.ones(12), np.zeros(12), np.full(12, 0.6)):
        ci = score_interval(same)
        assert ci.high - ci.low > 0.05 and ci.low <= ci.estimate <= ci.high
    d = paired_score_difference(grades[:20], grades[20:40])
    assert d.low <= d.estimate <= d.high and d.method == T_PAIRED
    assert paired_score_difference(np.ones(12), np.ones(12)).high > 0  # no zero width either
    with pytest.raises(ValueError):
        score_interval([0.5, 1.5])


def test_the_t_quantile_is_exact() -> None:
    from scipy import stats

    for df in (1, 2, 3, 7, 13, 31, 200):
        assert t_quantile(df) == pytest.approx(float(stats.t.ppf(0.975, df)), abs=1e-9)


@pytest.mark.parametrize("problems", [12, 30])
def test_the_interval_covers_at_the_study_s_sizes(problems: int) -> None:
    """A small recheck of the simulation in score_intervals.py's docstring (there: 67
    distributions, 20,000 studies each): binary, clustered grades, a spike with mass at a bound."""
    rng = np.random.default_rng(problems)
    draws: dict[str, tuple[Any, float]] = {
        "bernoulli 0.9": (lambda s: (rng.random(s) < 0.9).astype(float), 0.9),
        "grades of 4": (lambda s: rng.binomial(4, 0.7, s) / 4, 0.7),
        "spike, 10% at 0": (lambda s: np.where(rng.random(s) < 0.1, 0.0, 0.8), 0.72),
        "beta(5, 1)": (lambda s: rng.beta(5, 1, s), 5 / 6),
    }
    for name, (draw, truth) in draws.items():
        hits = [score_interval(draw(problems)) for _ in range(1500)]
        cover = np.mean([c.low <= truth <= c.high for c in hits])
        assert cover >= 0.93, (name, cover)
    pairs = [(rng.binomial(4, 0.6, problems) / 4, rng.binomial(4, 0.7, problems) / 4) for _ in range(1500)]
    cover = np.mean([(d := paired_score_difference(a, b)).low <= -0.1 <= d.high for a, b in pairs])
    assert cover >= 0.93


SCORE_KEYS = ("scores", "score_axes", "score_differences")


def _strip(value: Any) -> Any:
    """A summary's JSON without its score keys."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in SCORE_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _keys(value: Any, path: str = "") -> set[str]:
    if isinstance(value, dict):
        return {f"{path}.{k}" for k in value} | {p for k, v in value.items() for p in _keys(v, f"{path}.{k}")}
    if isinstance(value, list):
        return {p for v in value for p in _keys(v, f"{path}[]")}
    return set()


def test_a_study_without_partial_credit_writes_the_summary_it_wrote_before(tmp_path: Path) -> None:
    summary = gsm8k_like_study(tmp_path, compare=["sc@4/small vs cot/large"])
    assert not any(k.rsplit(".", 1)[-1] in SCORE_KEYS for k in _keys(summary))
    # The stored GSM8K study: analysed with the axes registered and with none, byte for byte the
    # same, and its stored summary.json still loads and writes back unchanged.
    stored = ROOT / "studies" / "results" / "gsm8k-05b-vs-15b"
    with_axes = reanalyse(stored)
    registered = dict(axes.AXES)
    axes.AXES.clear()
    try:
        without = reanalyse(stored)
    finally:
        axes.AXES.update(registered)
    assert with_axes.to_json() == without.to_json()
    text = (stored / "summary.json").read_text()
    assert Summary.load(stored / "summary.json").to_json() + "\n" == text
    assert _keys(json.loads(with_axes.to_json())) == _keys(json.loads(text))


def test_a_provider_adds_an_axis_by_registering_one_function(written: Path) -> None:
    """The contract a judge's axis will use: one function reading the store, registered by name."""

    def length(study: axes.StudyView, model: str, kind: str) -> np.ndarray | None:
        rows = [study.requests[(model, i.id, kind)] for i in study.items]
        if kind == "pool":
            pools = [study.store.samples(r["id"]) for r in rows]
            return np.array([[min(len(s.text), 100) / 100 for s in pool] for pool in pools])
        return None  # no value for runs: their rows leave the axis out

    axes.register_axis(axes.ScoreAxis("length", "the text's length in characters / 100, at most 1", length))
    try:
        summary = reanalyse(written)
    finally:
        del axes.AXES["length"]
    assert summary.score_axes is not None and set(summary.score_axes) == {"checks", "length"}
    for r in summary.rows:
        assert r.scores is not None
        assert set(r.scores) == ({"checks"} if r.strategy == "cot" else {"checks", "length"})


def test_the_report_and_the_cli_show_the_axis(written: Path) -> None:
    from rich.console import Console

    from ponder.cli import study as cli
    from ponder.report import render

    html = render(written).read_text()
    assert "<th>checks score</th>" in html and "<th>checks 95% CI</th>" in html
    assert 'data-plot="scores-checks"' in html and "<h2>Scores</h2>" in html
    summary = Summary.load(written / "summary.json")
    sc4 = next(r for r in summary.rows if (r.strategy, r.budget) == ("sc", 4))
    assert sc4.scores is not None and f"{sc4.scores['checks'].mean:.3f}" in html
    # One plotted point per row (coverage included: the best score of k samples).
    drawn = html.split('data-plot="scores-checks"')[1].split("</svg>")[0]
    assert drawn.count('class="point"') == len(summary.rows)
    console = Console(record=True, width=160)
    original, cli.console = cli.console, console
    try:
        cli.show(summary)
    finally:
        cli.console = original
    out = console.export_text()
    assert "mean score against compute: writer" in out and "checks (95% CI)" in out
    assert f"{sc4.scores['checks'].mean:.3f}" in out
