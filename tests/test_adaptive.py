"""`adaptive@N`: its stopping rule, the strategy on a scripted backend, the replay estimator's
invariants (against the strategy itself run on every order of a small pool), a study that derives it
from the pool without new samples, and a run on the real small model."""

from __future__ import annotations

import itertools
import sqlite3
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ponder.backends.embedded import EmbeddedBackend
from ponder.lab.estimators import AdaptiveCurve, adaptive_curve, majority_curve, pass_at_k_curve
from ponder.lab.study import StudyConfig, study
from ponder.limits import Limit
from ponder.models.resolve import ModelRef
from ponder.strategies import Context, build
from ponder.strategies.adaptive import posterior, schedule, settled_table, settles
from ponder.types import Problem
from scripted import ScriptedBackend, SeededBackend, session
from test_study import suite_file

Q = Problem("How many?")
THRESHOLDS = st.sampled_from([0.5, 0.75, 0.8, 0.9, 0.95, 0.99, 1.0])


def ctx(backend: ScriptedBackend, seed: int = 7) -> Context:
    return session(backend, max_tokens=50, seed=seed).context()


# The rule


def test_posterior_is_the_beta_tail() -> None:
    from scipy import special  # the dev extra pins it: the reference is independent of ours

    for a, b in itertools.product(range(12), range(12)):
        assert posterior(a, b) == pytest.approx(1 - special.betainc(a + 1, b + 1, 0.5), abs=1e-12)


def test_the_rule_at_its_boundaries() -> None:
    assert not settles(3, 0, 0.95) and settles(4, 0, 0.95)  # 1 − 2⁻⁴ = 0.9375, 1 − 2⁻⁵ = 0.96875
    assert not settles(5, 1, 0.95) and settles(6, 1, 0.95)
    assert settles(1, 0, 0.75)  # exactly 0.75: ≥ holds, in exact arithmetic
    assert not any(settles(a, a, 0.5) for a in range(8))  # a tie never settles
    assert not any(settles(a, b, 1.0) for a in range(20) for b in range(a))  # threshold 1: never


@given(st.integers(1, 24), THRESHOLDS)
def test_the_table_is_the_rule_and_more_votes_never_unsettle(n: int, threshold: float) -> None:
    table = settled_table(n, threshold)
    for a, b in itertools.product(range(n + 1), repeat=2):
        assert table[a][b] == settles(a, b, threshold)
        if table[a][b] and a < n:
            assert table[a + 1][b]  # one more vote for the leader keeps it settled
        if table[a][b] and b > 0:
            assert table[a][b - 1]  # one fewer for the runner-up too
        if settles(a, b, threshold):
            assert posterior(a, b) >= float(Fraction(threshold)) - 1e-12


@given(st.integers(1, 40), st.integers(1, 8), THRESHOLDS, st.data())
def test_a_smaller_budget_checks_the_same_points(
    n: int, batch: int, threshold: float, data: st.DataObject
) -> None:
    points = schedule(n, batch, threshold)
    assert points[-1] == n and points == sorted(set(points))
    assert all(b - a <= batch for a, b in itertools.pairwise(points[1:]))
    k = data.draw(st.integers(1, n))
    assert schedule(k, batch, threshold) == [c for c in points if c < k] + [k]


def test_the_first_batch_is_the_fewest_votes_that_can_settle() -> None:
    assert schedule(16) == [4, 6, 8, 10, 12, 14, 16]
    assert schedule(16, 1, 0.8)[0] == 2 and schedule(16, 8)[0] == 8 and schedule(3) == [3]
    assert schedule(6, 2, 1.0) == [2, 4, 6]  # nothing can settle: plain batches


# The strategy


async def test_stops_at_the_first_batch_when_it_agrees() -> None:
    backend = ScriptedBackend(["Answer: 5"])
    result = await build("adaptive@16")(Q, ctx(backend))
    assert result.answer == "5" and result.votes == {"5": 4}
    assert [r.n for r in backend.requests] == [4] and len(result.candidates) == 4
    assert result.usage.completion_tokens == 4 * backend.tokens_each
    assert any("drew 4 of 16" in n and "settled" in n and "0.969" in n for n in result.notes)


async def test_goes_to_n_when_batches_disagree() -> None:
    backend = ScriptedBackend(["Answer: 1", "Answer: 2"])
    result = await build("adaptive@16")(Q, ctx(backend))
    assert [r.n for r in backend.requests] == [4, 2, 2, 2, 2, 2, 2]
    assert len(result.candidates) == 16 and result.votes == {"1": 8, "2": 8}
    assert result.answer == "1"  # a tie goes to the answer that appeared first, as sc's does
    assert any("drew 16 of 16" in n and "without settling" in n for n in result.notes)


async def test_stops_where_the_vote_settles_and_usage_sums_the_batches() -> None:
    # 3–1 after four (0.81), 5–1 after six (0.94), 7–1 after eight (0.98): stop at eight.
    texts = ["Answer: 1", "Answer: 1", "Answer: 2", "Answer: 1"] + ["Answer: 1"] * 4 + ["Answer: 3"] * 8
    backend = ScriptedBackend(texts)
    result = await build("adaptive@16")(Q, ctx(backend))
    assert [r.n for r in backend.requests] == [4, 2, 2] and len(result.candidates) == 8
    assert result.answer == "1" and result.votes == {"1": 7, "2": 1}
    assert len(result.calls) == 3
    assert result.usage.completion_tokens == sum(c.completion_tokens for c in result.candidates)
    assert result.usage.prompt_tokens == 3 * backend.prompt_tokens  # each batch reads the prompt
    assert [c.score for c in result.candidates] == [7 / 8] * 2 + [1 / 8] + [7 / 8] * 5


async def test_each_batch_has_its_own_seed() -> None:
    backend = ScriptedBackend(["Answer: 1", "Answer: 2"])
    await build("adaptive@8:batch=3")(Q, ctx(backend, seed=11))
    seeds = [r.params.seed for r in backend.requests]
    assert [r.n for r in backend.requests] == [4, 3, 1]
    assert len(set(seeds)) == len(seeds) and seeds[0] == 11  # the first batch is seeded as sc's call
    sc = ScriptedBackend(["Answer: 1"])
    await build("sc@8")(Q, ctx(sc, seed=11))
    assert sc.requests[0].params.seed == seeds[0]


async def test_keys_and_no_answers() -> None:
    backend = ScriptedBackend(["Answer: 1"])
    result = await build("adaptive@6:threshold=1")(Q, ctx(backend))
    assert len(result.candidates) == 6  # threshold 1 never settles: sc@6 in batches
    silent = ScriptedBackend(["no idea"])
    result = await build("adaptive@6")(Q, ctx(silent))
    assert result.answer is None and len(result.candidates) == 6
    backend = ScriptedBackend(["Answer: 1"])
    await build("adaptive@8:temperature=0.3")(Q, ctx(backend))
    assert {r.params.temperature for r in backend.requests} == {0.3}


async def test_a_limit_ends_it_with_the_vote_so_far() -> None:
    backend = ScriptedBackend(["Answer: 1", "Answer: 2"])
    context = session(backend, max_tokens=50, seed=7, limit=Limit(calls=2)).context()
    result = await build("adaptive@16")(Q, context)
    assert [r.n for r in backend.requests] == [4, 2] and result.stopped is not None
    assert result.answer == "1" and result.votes == {"1": 3, "2": 3} and len(result.candidates) == 6


# The estimator


def replay(
    labels: np.ndarray, correct: np.ndarray, ks: list[int], threshold: float = 0.95, batch: int = 2, **kw: int
) -> AdaptiveCurve:
    """The estimator with the strategy's own rule and schedule."""
    n = labels.shape[1]
    return adaptive_curve(
        labels,
        correct,
        ks,
        checkpoints=schedule(n, batch, threshold),
        settled=settled_table(n, threshold),
        **kw,
    )


@st.composite
def pools(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """A few problems' pools: answer ids (-1: none) and correctness, one flag per id."""
    problems, n = draw(st.integers(1, 4)), draw(st.integers(1, 10))
    labels = np.array(draw(st.lists(st.lists(st.sampled_from([-1, 0, 1, 2, 5]), min_size=n, max_size=n),
                                    min_size=problems, max_size=problems)))  # fmt: skip
    rights = draw(st.sets(st.sampled_from([0, 1, 2, 5])))
    return labels, np.isin(labels, list(rights)) & (labels >= 0)


@settings(max_examples=40, deadline=None)
@given(pools(), THRESHOLDS, st.integers(1, 4), st.data())
def test_replay_invariants(pool: tuple[np.ndarray, np.ndarray], threshold: float, batch: int,
                           data: st.DataObject) -> None:  # fmt: skip
    labels, correct = pool
    n = labels.shape[1]
    ks = sorted(set(data.draw(st.lists(st.integers(1, n), min_size=1, max_size=4))))
    curve = replay(labels, correct, ks, threshold, batch, draws=64)
    assert ((curve.values >= 0) & (curve.values <= 1)).all()
    first = schedule(n, batch, threshold)[0]
    for j, k in enumerate(ks):
        assert (curve.samples[:, j] >= min(k, first) - 1e-12).all() and (curve.samples[:, j] <= k).all()
    assert (np.diff(curve.samples, axis=1) >= -1e-12).all()  # the same orders: never fewer with k
    if ks[0] == 1:  # exact: the pool's pass@1, one sample
        assert (curve.values[:, 0] == correct.mean(axis=1)).all()  # the share of correct samples
        assert np.allclose(curve.values[:, 0], pass_at_k_curve(correct, [1])[:, 0], rtol=0, atol=1e-12)
        assert (curve.samples[:, 0] == 1).all() and curve.mc_error[0] == 0 and curve.method[0] == "exact"
    again = replay(labels, correct, ks, threshold, batch, draws=64)
    assert (again.values == curve.values).all() and (again.samples == curve.samples).all()  # seeded


def test_a_unanimous_pool_stops_at_the_first_batch() -> None:
    labels = np.array([[3] * 16, [3] * 16])
    correct = np.array([[True] * 16, [False] * 16])
    curve = replay(labels, correct, [2, 4, 8, 16])
    assert curve.samples.tolist() == [[2, 4, 4, 4]] * 2
    assert curve.values.tolist() == [[1, 1, 1, 1], [0, 0, 0, 0]]
    assert (curve.mc_error == 0).all() and (curve.samples_mc_error == 0).all()


def test_a_rule_that_never_settles_is_majority_at_k() -> None:
    rng = np.random.default_rng(5)
    labels = rng.integers(-1, 3, size=(30, 8))
    correct = (labels == 0) | ((labels == 2) & (np.arange(30) % 2 == 0)[:, None])  # two right spellings
    ks = [1, 2, 3, 5, 8]
    curve = replay(labels, correct, ks, threshold=1.0)
    exact = majority_curve(labels, correct, ks, exact_limit=10**6).values.mean(axis=0)
    assert (curve.samples == np.array(ks)).all()
    assert (np.abs(curve.values.mean(axis=0) - exact) <= 4 * curve.mc_error + 1e-12).all()


def test_a_lower_threshold_never_draws_more() -> None:
    rng = np.random.default_rng(2)
    labels = rng.choice([0, 0, 0, 1, 2, -1], size=(40, 12))
    correct = labels == 0
    points = [2, 4, 6, 8, 10, 12]
    strict, loose = (
        adaptive_curve(labels, correct, [4, 8, 12], checkpoints=points, settled=settled_table(12, t), seed=1)
        for t in (0.95, 0.8)
    )
    assert (loose.samples <= strict.samples + 1e-12).all() and loose.samples.sum() < strict.samples.sum()


def test_a_clash_and_a_short_table_are_refused() -> None:
    with pytest.raises(ValueError, match="disagree"):
        replay(np.array([[1, 1, 2]]), np.array([[True, False, False]]), [2])
    with pytest.raises(ValueError, match="settled"):
        adaptive_curve(np.array([[1, 1, 2]]), np.array([[True, True, False]]), [2], checkpoints=[2],
                       settled=settled_table(2, 0.95))  # fmt: skip


async def test_the_replay_estimates_the_strategy_itself() -> None:
    """Every distinct order of a six-sample pool, run through the real strategy (each order as equally
    likely as the pool's orders make it): the replay's estimate lies within its stated error."""
    answers = ["1", "1", "1", "2", "3", None]
    texts = [f"Answer: {a}" if a else "no idea" for a in answers]
    orders = sorted(set(itertools.permutations(texts)))  # a multiset's orders are equally likely
    labels = np.array([[{"1": 0, "2": 1, "3": 2}.get(a or "", -1) for a in answers]])
    correct = labels == 0
    ks = [3, 4, 6]
    curve = replay(labels, correct, ks, threshold=0.8, batch=1, draws=4000, seed=9)
    for j, k in enumerate(ks):
        right = drawn = 0
        for order in orders:
            result = await build(f"adaptive@{k}:batch=1:threshold=0.8")(Q, ctx(ScriptedBackend(list(order))))
            right += result.answer == "1"
            drawn += len(result.candidates)
        assert abs(curve.values[0, j] - right / len(orders)) <= 4 * curve.mc_error[j] + 1e-12
        assert abs(curve.samples[0, j] - drawn / len(orders)) <= 4 * curve.samples_mc_error[j] + 1e-12
    assert curve.samples[0, -1] < 6  # the rule does stop early on this pool


# In a study


def agreeing(model: str, config: StudyConfig) -> tuple[SeededBackend, ModelRef]:
    """Samples that mostly agree, so the vote often settles before the budget."""
    return SeededBackend(model=model, answers=("1", "1", "1", "2")), ModelRef(
        model, "embedded", model, None, 100
    )


def requests(out: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(out / "study.sqlite") as db:
        return db.execute("SELECT kind, count(*) FROM requests GROUP BY kind ORDER BY kind").fetchall()


def test_a_study_derives_adaptive_from_the_pool_without_new_samples(tmp_path: Path) -> None:
    suite = suite_file(tmp_path)
    settings = {"max_n": 8, "problems": 8, "seed": 3, "backend_factory": agreeing}
    alone = study("small", suite, strategies="sc", out=str(tmp_path / "sc"), **settings)
    both = study("small", suite, strategies="sc,adaptive,coverage", out=str(tmp_path / "both"), **settings)
    assert requests(tmp_path / "both") == requests(tmp_path / "sc")  # no request drawn for adaptive
    figures = ("accuracy", "ci_low", "ci_high", "mean_flops", "mean_completion_tokens")
    sc_rows = [r for r in both["rows"] if r["strategy"] == "sc"]
    assert [[r[f] for f in figures] for r in sc_rows] == [[r[f] for f in figures] for r in alone["rows"]]
    rows = {(r["strategy"], r["budget"]): r for r in both["rows"]}
    assert sorted(k for s, k in rows if s == "adaptive") == [1, 2, 4, 8]
    for k in (1, 2, 4, 8):
        ada, sc = rows[("adaptive", k)], rows[("sc", k)]
        assert 1 <= ada["mean_samples"] <= k and "mean_samples" in ada["derived"]
        assert "mean_samples" not in sc
        assert ada["mean_flops"] <= sc["mean_flops"] * (1 + 1e-9)  # charged by the samples drawn
    assert rows[("adaptive", 1)]["accuracy"] == pytest.approx(rows[("coverage", 1)]["accuracy"])
    assert rows[("adaptive", 8)]["mean_samples"] < 8  # it did stop early
    assert rows[("adaptive", 8)]["mean_completion_tokens"] < rows[("sc", 8)]["mean_completion_tokens"]
    estimator = both["estimators"]["small adaptive"]
    assert estimator["methods"]["1"] == "exact" and estimator["mc_error"]["8"] > 0
    page = (tmp_path / "both" / "report.html").read_text()
    samples = f"{rows[('adaptive', 8)]['mean_samples']:.1f}*"
    assert "<th>samples drawn</th>" in page and f">{samples}</td>" in page


# The real small model


async def test_on_the_real_model_the_counts_add_up(smol_engine: EmbeddedBackend) -> None:
    context = session({"smollm2-135m": smol_engine}, max_tokens=12, seed=3).context()
    result = await build("adaptive@6")(Problem("What is 2+3? End with 'Answer: N'."), context)
    sizes = [c.n for c in result.calls]
    drawn = len(result.candidates)
    assert sum(sizes) == drawn and drawn in schedule(6) and sizes[0] == 4
    assert result.usage.completion_tokens == sum(c.completion_tokens for c in result.candidates)
    assert sum(result.votes.values()) == sum(c.answer is not None for c in result.candidates)
    assert len([n for n in result.notes if n.startswith(f"adaptive: drew {drawn} of 6")]) == 1
