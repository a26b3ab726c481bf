"""The budget estimators against brute force over every k-subset of small pools, and their edge cases."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ponder.lab.estimators import (
    best_of_k,
    best_of_k_curve,
    majority_at_k,
    majority_curve,
    pass_at_k,
    pass_at_k_curve,
)
from ponder.lab.stats import bootstrap_ci, fit_coverage_law, paired_bootstrap_diff, pareto_frontier

# Few distinct scores, so ties are common; -inf is an unscorable sample.
SCORES = st.sampled_from([-math.inf, -1.0, 0.0, 0.5, 2.0])
# A few answer ids, non-contiguous on purpose; -1 is "no answer".
LABELS = st.sampled_from([-1, 3, 7, 8, 42])


def subsets(n: int, k: int) -> list[tuple[int, ...]]:
    return list(itertools.combinations(range(n), k))


def brute_pass(correct: list[bool], k: int) -> float:
    picks = subsets(len(correct), k)
    return sum(any(correct[i] for i in s) for s in picks) / len(picks)


def brute_best(scores: list[float], correct: list[bool], valid: list[bool], k: int) -> float:
    picks = subsets(len(scores), k)
    # max() keeps the first maximum, and (valid, score, -index) already ranks the earlier sample higher.
    return sum(correct[max(s, key=lambda i: (valid[i], scores[i], -i))] for s in picks) / len(picks)


def vote_credit(votes: list[int], flags: list[bool]) -> float:
    """c/t: t answers share the top count, c of them correct; 0 when nobody answered."""
    tally = Counter(v for v in votes if v != -1)
    if not tally:
        return 0.0
    is_right = {v: f for v, f in zip(votes, flags, strict=True) if v != -1}
    top = max(tally.values())
    tied = [answer for answer, count in tally.items() if count == top]
    return sum(is_right[answer] for answer in tied) / len(tied)


def brute_majority(labels: list[int], correct: list[bool], k: int) -> float:
    picks = subsets(len(labels), k)
    return sum(vote_credit([labels[i] for i in s], [correct[i] for i in s]) for s in picks) / len(picks)


Pool = tuple[list[float], list[bool], list[bool], list[int], frozenset[int]]


@st.composite
def pools(draw: st.DrawFn) -> tuple[list[float], list[bool], list[bool], list[int], frozenset[int]]:
    """One problem's pool: scores, correctness, valid mask, answer ids and the correct ids (any number)."""
    n = draw(st.integers(1, 8))
    scores = draw(st.lists(SCORES, min_size=n, max_size=n))
    labels = draw(st.lists(LABELS, min_size=n, max_size=n))
    rights = frozenset(draw(st.sets(st.sampled_from([3, 7, 8, 42]))))
    correct = [label in rights for label in labels]
    valid = [label != -1 for label in labels]
    return scores, correct, valid, labels, rights


# pass@k


def test_pass_at_k_edge_cases() -> None:
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 0, 10) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(10, 1, 10) == 1.0  # k = n: the whole pool, so any correct sample counts
    assert pass_at_k(10, 9, 2) == 1.0  # fewer wrong samples than k
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(5, 2))
    for bad in [(0, 0, 1), (5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)]:
        with pytest.raises(ValueError):
            pass_at_k(*bad)


def test_pass_at_k_is_stable_for_large_pools() -> None:
    # C(10_000, 5_000) overflows a float; the product form does not.
    value = pass_at_k(10_000, 1, 5_000)
    assert value == pytest.approx(0.5)
    assert pass_at_k(10_000, 3, 100) == pytest.approx(1 - math.comb(9_997, 100) / math.comb(10_000, 100))


@settings(max_examples=60, deadline=None)
@given(st.lists(pools(), min_size=1, max_size=4))
def test_pass_at_k_matches_brute_force(
    problems: list[Pool],
) -> None:
    n = min(len(p[1]) for p in problems)
    correct = np.array([p[1][:n] for p in problems], dtype=bool)
    ks = list(range(1, n + 1))
    curve = pass_at_k_curve(correct, ks)
    assert curve.shape == (len(problems), len(ks))
    for row, flags in enumerate(correct.tolist()):
        for j, k in enumerate(ks):
            expected = brute_pass(flags, k)
            assert curve[row, j] == pytest.approx(expected, abs=1e-12)
            assert pass_at_k(n, sum(flags), k) == pytest.approx(expected, abs=1e-12)


# best-of-k


@settings(max_examples=80, deadline=None)
@given(pools(), st.booleans())
def test_best_of_k_matches_brute_force(pool: Pool, use_valid: bool) -> None:
    scores, _, valid, _, _ = pool
    n = len(scores)
    # Correctness independent of the labels, so a correct sample may lack an answer too.
    correct = [(i * 7 + int(s == 0.5)) % 3 == 0 for i, s in enumerate(scores)]
    mask = valid if use_valid else [True] * n
    ks = list(range(1, n + 1))
    curve = best_of_k_curve([scores], [correct], ks, valid=[mask] if use_valid else None)
    for j, k in enumerate(ks):
        expected = brute_best(scores, correct, mask, k)
        assert curve[0, j] == pytest.approx(expected, abs=1e-12)
        assert best_of_k(scores, correct, k, valid=mask if use_valid else None) == pytest.approx(
            expected, abs=1e-12
        )


def test_best_of_k_ties_go_to_the_earlier_sample() -> None:
    # Equal scores: the earlier sample wins, so a correct sample 0 wins every subset holding it.
    assert best_of_k([1.0, 1.0], [True, False], 2) == 1.0
    assert best_of_k([1.0, 1.0], [False, True], 2) == 0.0
    # An unanswered sample loses to any answered one, whatever its score.
    assert best_of_k([9.0, -math.inf], [True, False], 2, valid=[False, True]) == 0.0


def test_best_of_k_refuses_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        best_of_k_curve([[0.0, math.nan]], [[True, False]], [1])


def test_best_of_k_weights_sum_to_one() -> None:
    # With every sample correct each subset's best is correct: the rank weights sum to 1.
    curve = best_of_k_curve(np.random.default_rng(0).normal(size=(3, 50)), np.ones((3, 50), bool), [1, 7, 50])
    assert np.allclose(curve, 1.0)


# majority@k


@settings(max_examples=100, deadline=None)
@given(st.lists(pools(), min_size=1, max_size=3), st.booleans())
def test_majority_exact_matches_brute_force(problems: list[Pool], flag_blanks: bool) -> None:
    n = min(len(p[3]) for p in problems)
    labels = np.array([p[3][:n] for p in problems], dtype=np.int64)
    # A sample without an answer may carry either flag: it is ignored.
    correct = np.array([p[1][:n] for p in problems], dtype=bool) | (flag_blanks & (labels == -1))
    ks = list(range(1, n + 1))
    curve = majority_curve(labels, correct, ks)
    assert curve.method == ["exact"] * len(ks)
    assert np.all(curve.mc_error == 0.0)
    for row in range(len(problems)):
        for j, k in enumerate(ks):
            expected = brute_majority(labels[row].tolist(), correct[row].tolist(), k)
            assert curve.values[row, j] == pytest.approx(expected, abs=1e-12)


def test_majority_exact_paths_by_hand() -> None:
    labels = [1, 1, 2, 2, -1, 3]

    def flags(*right: int) -> list[bool]:
        return [label in right for label in labels]

    assert majority_at_k(labels, flags(1), 1) == pytest.approx(2 / 6)
    assert majority_at_k(labels, flags(1), 6) == pytest.approx(1 / 2)  # a two-way tie at the top
    assert majority_at_k(labels, flags(3), 6) == 0.0
    assert majority_at_k(labels, flags(), 3) == 0.0
    assert majority_at_k([-1, -1, -1], [True, True, True], 2) == 0.0  # nobody answers
    assert majority_at_k([-1, 0], [True, False], 1) == 0.0  # a blank's flag is ignored
    # Only correct answers and blanks: any answered sample in the subset wins.
    assert majority_at_k([4, -1, -1, 4], [True, False, False, True], 2) == pytest.approx(1 - 1 / 6)
    assert majority_at_k([4, -1, -1, 5], [True, False, False, True], 2) == pytest.approx(1 - 1 / 6)
    # Large pools too, with exact closed forms at k = 1 and k = n.
    big = np.array([[0] * 60 + [1] * 40 + [-1] * 20])
    curve = majority_curve(big, big == 0, [1, 120])
    assert curve.values[0].tolist() == pytest.approx([0.5, 1.0])
    assert curve.method == ["exact", "exact"]


def test_majority_several_correct_answers() -> None:
    # Every sample correct but all distinct (different correct programs): the vote always wins.
    n = 8
    ks = list(range(1, n + 1))
    curve = majority_curve(np.arange(n)[None, :], np.ones((1, n), dtype=bool), ks)
    assert curve.values[0].tolist() == [1.0] * n
    # The same at a size that would otherwise need Monte Carlo, with blanks among the samples.
    big = np.where(np.arange(256) % 16 == 0, -1, np.arange(256))[None, :]
    curve = majority_curve(big, np.ones(big.shape, dtype=bool), [1, 2, 16, 256], exact_limit=0)
    assert curve.values[0].tolist() == pytest.approx([240 / 256, 1 - (16 * 15) / (256 * 255), 1.0, 1.0])
    assert curve.method == ["exact"] * 4
    # Two correct spellings (2 + 2 samples) against a larger wrong answer (3 samples).
    labels = [0, 0, 1, 1, 2, 2, 2]
    right = [True, True, True, True, False, False, False]
    assert majority_at_k(labels, right, 1) == pytest.approx(4 / 7)
    # k=2: two different correct spellings tie and both are correct (credit 1), not 1/2.
    assert majority_at_k(labels, right, 2) == pytest.approx(12 / 21)
    # k=3: one of each (12 subsets) is a three-way tie with two correct: 2/3.
    assert majority_at_k(labels, right, 3) == pytest.approx(18 / 35)
    assert majority_at_k(labels, right, 7) == 0.0  # the wrong answer's 3 beats each spelling's 2
    for k in range(1, 8):
        assert majority_at_k(labels, right, k) == pytest.approx(brute_majority(labels, right, k))
    # Ties between correct and wrong answers at the whole pool: c/t.
    assert majority_at_k([0, 0, 1, 1], [True, True, False, False], 4) == pytest.approx(1 / 2)
    assert majority_at_k([0, 0, 1, 1, 2, 2], [True, True, True, True, False, False], 6) == pytest.approx(
        2 / 3
    )
    assert majority_at_k([0, 0, 1, 1, 2, 2], [True, True, False, False, False, False], 6) == pytest.approx(
        1 / 3
    )


def test_majority_monte_carlo_agrees_with_brute_force() -> None:
    rng = np.random.default_rng(7)
    problems, n = 40, 8
    labels = rng.choice([-1, 0, 1, 2, 3], size=(problems, n), p=[0.15, 0.35, 0.2, 0.2, 0.1])
    # Each answer id is correct with some chance, independently per problem: 0, 1 or several correct ids.
    right_ids = rng.random((problems, 4)) < 0.4
    correct = np.take_along_axis(right_ids, np.maximum(labels, 0), axis=1) & (labels >= 0)
    ks = [2, 3, 4, 5, 7]
    curve = majority_curve(labels, correct, ks, draws=3000, seed=1, exact_limit=0)
    assert curve.method == ["monte-carlo (3000 draws)"] * len(ks)
    brute = np.array(
        [[brute_majority(labels[p].tolist(), correct[p].tolist(), k) for k in ks] for p in range(problems)]
    )
    assert np.all(curve.mc_error > 0)
    assert np.all(curve.mc_error < 0.005)
    gap = np.abs(curve.values.mean(axis=0) - brute.mean(axis=0))
    assert np.all(gap <= 4 * curve.mc_error), (gap, curve.mc_error)
    assert np.abs(curve.values - brute).max() < 0.05  # each problem, too, within a few of its errors
    # The exact path (enumeration) agrees with the brute force exactly.
    exact = majority_curve(labels, correct, ks)
    assert exact.method == ["exact"] * len(ks)
    assert np.allclose(exact.values, brute, atol=1e-12)
    # Seeded: the same seed gives the same numbers, another seed other numbers.
    again = majority_curve(labels, correct, ks, draws=3000, seed=1, exact_limit=0)
    assert np.array_equal(again.values, curve.values)
    other = majority_curve(labels, correct, ks, draws=3000, seed=2, exact_limit=0)
    assert not np.array_equal(other.values, curve.values)


def test_majority_depends_only_on_the_answer_counts() -> None:
    # Relabelled and reordered pools with the same group sizes get one value, even by Monte Carlo.
    labels = np.array(
        [
            [5, 5, 9, 9, 9, -1, 2, 5, 4, 6],
            [1, -1, 0, 0, 3, 1, 0, 1, 7, 8],
            [1, -1, 0, 0, 3, 1, 0, 1, 7, 8],  # as above, but a different spelling is the correct one
        ]
    )
    correct = np.array(
        [
            [1, 1, 0, 0, 0, 1, 1, 1, 0, 1],  # correct: 5 (3 samples), 2, 6; the blank's flag ignored
            [1, 0, 0, 0, 1, 1, 0, 1, 0, 1],  # correct: 1 (3 samples), 3, 8
            [0, 0, 0, 0, 1, 0, 0, 0, 1, 1],  # correct: 3, 7, 8 (singletons only)
        ],
        dtype=bool,
    )
    curve = majority_curve(labels, correct, [3, 4, 6], draws=500, exact_limit=0)
    assert curve.method == ["monte-carlo (500 draws)"] * 3
    assert np.array_equal(curve.values[0], curve.values[1])
    assert np.all(curve.values[2] < curve.values[1])
    exact = majority_curve(labels, correct, [3, 4, 6])
    for row in range(3):
        for j, k in enumerate([3, 4, 6]):
            expected = brute_majority(labels[row].tolist(), correct[row].tolist(), k)
            assert exact.values[row, j] == pytest.approx(expected, abs=1e-12)


def test_majority_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        majority_curve(np.array([[0, -2]]), np.array([[True, False]]), [1])
    with pytest.raises(ValueError):
        majority_curve(np.array([[0.0, 1.0]]), np.array([[True, False]]), [1])
    with pytest.raises(ValueError):  # the old API: one correct id per problem
        majority_curve(np.array([[0, 1]]), np.array([0]), [1])
    with pytest.raises(ValueError):  # not bool
        majority_curve(np.array([[0, 1]]), np.array([[1, 0]]), [1])
    with pytest.raises(ValueError):
        majority_curve(np.array([[0, 1]]), np.array([[True, False]]), [3])
    with pytest.raises(ValueError, match="answer id 3"):  # one answer, two flags
        majority_curve(np.array([[1, 3, 3]]), np.array([[True, True, False]]), [1])
    with pytest.raises(ValueError, match="draws"):
        majority_curve(np.array([[0, 1]]), np.array([[True, False]]), [1], draws=1)


# the coverage law


def test_coverage_law_recovers_known_parameters() -> None:
    ks = [2**i for i in range(9)]
    a, b = -1.3, -0.4
    law = fit_coverage_law(ks, [math.exp(a * k**b) for k in ks])
    assert law is not None
    assert law.a == pytest.approx(a, abs=1e-6)
    assert law.b == pytest.approx(b, abs=1e-6)
    assert law.r2 == pytest.approx(1.0, abs=1e-9)
    assert law.predict(1000) == pytest.approx(math.exp(a * 1000**b), abs=1e-9)


def test_coverage_law_with_noise() -> None:
    rng = np.random.default_rng(3)
    ks = [2**i for i in range(9)]
    a, b = -0.9, -0.3
    noisy = [math.exp(a * k**b) * (1 + rng.normal(0, 0.005)) for k in ks]
    law = fit_coverage_law(ks, noisy)
    assert law is not None
    assert law.a == pytest.approx(a, abs=0.05)
    assert law.b == pytest.approx(b, abs=0.05)
    assert law.r2 > 0.95


def test_coverage_law_needs_three_usable_points() -> None:
    assert fit_coverage_law([1, 2, 4], [0.0, 1.0, 0.5]) is None  # 0 and 1 have no log(-log c)
    assert fit_coverage_law([], []) is None
    assert fit_coverage_law([4, 4, 4], [0.3, 0.4, 0.5]) is None  # one k: no slope
    assert fit_coverage_law([1, 2, 4], [0.2, 0.3, 1.0]) is None  # two points always fit exactly
    assert fit_coverage_law([1, 2, 4, 8], [0.2, 0.3, 0.4, 1.0]) is not None


def test_coverage_law_reports_what_can_fail() -> None:
    """r² is ≈ 1 even when a third of the problems are unsolvable; the residuals in coverage space and
    the held-out prediction at k = n show it."""
    ks = list(range(1, 65))
    solvable = 0.7
    cov = [solvable * (1 - (1 - 0.3) ** k) for k in ks]  # plateaus at 70%: the law says → 100%
    law = fit_coverage_law(ks, cov)
    assert law is not None
    assert law.points == 64 and law.ks == tuple(float(k) for k in ks)
    assert len(law.residuals) == 64
    assert law.holdout_k == 64 and law.holdout_observed == pytest.approx(cov[-1])
    assert law.holdout_error is not None and abs(law.holdout_error) > 0.02
    assert law.max_abs_residual > 0.02
    true_law = fit_coverage_law(ks, [math.exp(-1.1 * k**-0.4) for k in ks])
    assert true_law is not None and true_law.holdout_error == pytest.approx(0.0, abs=1e-9)


# the bootstrap


def test_bootstrap_is_seeded_and_sane() -> None:
    values = np.random.default_rng(0).random(300) < 0.4
    mean, low, high = bootstrap_ci(values, seed=5)
    assert (mean, low, high) == bootstrap_ci(values, seed=5)
    assert bootstrap_ci(values, seed=6) != (mean, low, high)
    assert mean == pytest.approx(values.mean())
    assert low < mean < high
    # The half-width is near 1.96·sd/sqrt(n).
    half = 1.96 * values.std() / math.sqrt(values.size)
    assert (high - low) / 2 == pytest.approx(half, rel=0.15)
    assert bootstrap_ci(np.full(10, 0.25)) == (0.25, 0.25, 0.25)
    with pytest.raises(ValueError):
        bootstrap_ci(np.array([]))


def test_paired_bootstrap_diff() -> None:
    rng = np.random.default_rng(1)
    base = rng.random(200)
    better = base + 0.1 + rng.normal(0, 0.01, 200)
    mean, low, high = paired_bootstrap_diff(better, base, seed=2)
    assert mean == pytest.approx(0.1, abs=0.005)
    # Pairing removes the shared per-problem spread: the interval is far narrower than base's spread.
    assert 0.09 < low < mean < high < 0.11
    assert paired_bootstrap_diff(better, base, seed=2) == (mean, low, high)
    with pytest.raises(ValueError):
        paired_bootstrap_diff([1.0, 2.0], [1.0])


# the Pareto frontier


def test_pareto_frontier_by_hand() -> None:
    points = [
        (4.0, 0.70),  # 0: frontier
        (1.0, 0.50),  # 1: frontier, the cheapest
        (2.0, 0.50),  # 2: dominated by 1 (dearer, no better)
        (2.0, 0.60),  # 3: frontier
        (8.0, 0.70),  # 4: dominated by 0
        (4.0, 0.70),  # 5: equal to 0, so neither dominates: frontier
        (3.0, 0.55),  # 6: dominated by 3
        (16.0, 0.90),  # 7: frontier
    ]
    assert pareto_frontier(points) == [1, 3, 0, 5, 7]
    assert pareto_frontier([]) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=12))
def test_pareto_frontier_matches_brute_force(raw: list[tuple[int, int]]) -> None:
    points = [(float(c), float(a)) for c, a in raw]

    def dominated(i: int) -> bool:
        ci, ai = points[i]
        return any(c <= ci and a >= ai and (c < ci or a > ai) for c, a in points)

    expected = sorted((i for i in range(len(points)) if not dominated(i)), key=lambda i: (points[i][0], i))
    assert pareto_frontier(points) == expected


def test_the_package_exports_every_estimator_its_modules_define() -> None:
    import importlib
    import inspect
    import pkgutil

    import ponder.lab.estimators as package

    exported = set(package.__all__)
    assert all(hasattr(package, name) for name in exported)
    estimators = set()
    for module in pkgutil.iter_modules(package.__path__):
        mod = importlib.import_module(f"{package.__name__}.{module.name}")
        for name, value in vars(mod).items():
            defined_here = getattr(value, "__module__", None) == mod.__name__
            if name.endswith(("_curve", "_at_k", "_of_k")) and inspect.isfunction(value) and defined_here:
                estimators.add(name)
    assert estimators and estimators <= exported, estimators - exported
