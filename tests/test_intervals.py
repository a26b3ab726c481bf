"""Intervals hold their stated coverage at 20 problems: exact enumeration for binary rows,
simulation for fractional rows and paired differences; none is ever of zero width."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

from ponder.lab.intervals import (
    MOVER,
    NEWCOMBE,
    WILSON,
    bonferroni_z,
    mean_interval,
    paired_binary_diff,
    paired_difference,
    wilson,
)

PROBLEMS = 20
TRUTHS = [round(0.05 * i, 2) for i in range(1, 20)]  # 0.05 … 0.95
POOL = 8


def binom_pmf(k: int, n: int, p: float) -> float:
    return comb(n, k) * p**k * (1 - p) ** (n - k)


def test_binary_rows_cover_by_exact_enumeration() -> None:
    coverage = []
    for p in TRUTHS:
        covered = 0.0
        for s in range(PROBLEMS + 1):
            i = mean_interval([1.0] * s + [0.0] * (PROBLEMS - s))
            assert i.method == WILSON and i.high > i.low
            covered += binom_pmf(s, PROBLEMS, p) if i.low <= p <= i.high else 0.0
        coverage.append(covered)
    assert np.mean(coverage) >= 0.94
    assert min(coverage) >= 0.92


def _maj_table(k: int) -> np.ndarray:
    """maj@k of a pool of 8 with j correct samples and one wrong answer, for j = 0…8 (ties half)."""

    def credit(r: int) -> float:
        return 1.0 if 2 * r > k else 0.5 if 2 * r == k else 0.0

    return np.array(
        [
            sum(comb(j, r) * comb(POOL - j, k - r) / comb(POOL, k) * credit(r) for r in range(k + 1))
            for j in range(POOL + 1)
        ]
    )


def _pool_values(rng: np.random.Generator, truth_rate: float, estimator: str, k: int) -> np.ndarray:
    """Per-problem values as a study makes them: a pool of 8 per problem, each problem's own success
    rate drawn from a Beta with mean `truth_rate`, then pass@k or a two-answer maj@k from the pool."""
    q = rng.beta(truth_rate * 0.8, (1 - truth_rate) * 0.8, PROBLEMS)
    c = rng.binomial(POOL, q)
    if estimator == "pass":
        table = np.array([1 - comb(POOL - j, k) / comb(POOL, k) for j in range(POOL + 1)])
    else:
        table = _maj_table(k)
    return np.asarray(table[c], dtype=float)


def _true_mean(rng: np.random.Generator, truth_rate: float, estimator: str, k: int) -> float:
    """The estimand by simulation with many problems (the pool estimators are unbiased)."""
    return float(np.mean([_pool_values(rng, truth_rate, estimator, k).mean() for _ in range(400)]))


@pytest.mark.parametrize(("estimator", "k"), [("pass", 1), ("pass", 4), ("maj", 4)])
def test_fractional_rows_cover_by_simulation(estimator: str, k: int) -> None:
    rng = np.random.default_rng(11)
    coverage = []
    for p in TRUTHS:
        truth = _true_mean(rng, p, estimator, k)
        hits = 0
        sims = 300
        for _ in range(sims):
            i = mean_interval(_pool_values(rng, p, estimator, k))
            assert i.high > i.low
            hits += i.low <= truth <= i.high
        coverage.append(hits / sims)
    assert np.mean(coverage) >= 0.94
    assert min(coverage) >= 0.92


def test_paired_differences_cover_by_simulation() -> None:
    """Binary against binary (Newcombe) and fractional against binary (MOVER), correlated through
    each problem's own difficulty, with no true difference."""
    rng = np.random.default_rng(5)
    for mixed in (False, True):
        coverage = []
        for p in TRUTHS[::2]:
            hits = 0
            sims = 300
            for _ in range(sims):
                q = rng.beta(p * 2, (1 - p) * 2, PROBLEMS)
                a = rng.binomial(POOL, q) / POOL if mixed else rng.binomial(1, q).astype(float)
                b = rng.binomial(1, q).astype(float)
                d = paired_difference(a, b)
                assert d.high > d.low
                assert d.method in ((MOVER, NEWCOMBE) if mixed else (NEWCOMBE,))
                hits += d.low <= 0.0 <= d.high
            coverage.append(hits / sims)
        assert np.mean(coverage) >= 0.94, mixed
        assert min(coverage) >= 0.92, mixed


def test_no_interval_has_zero_width() -> None:
    for values in ([1.0] * 20, [0.0] * 20, [0.5] * 20):
        i = mean_interval(values)
        assert i.high - i.low > 0.1
    same = paired_difference([1.0] * 20, [1.0] * 20)
    assert same.estimate == 0 and same.low < -0.1 and same.high > 0.1
    twin = paired_difference([1.0, 0.0] * 10, [1.0, 0.0] * 10)
    assert twin.low < 0 < twin.high


def test_newcombe_matches_a_published_implementation() -> None:
    """The table [[59, 6], [16, 80]]: Newcombe's method 10 gives −0.0621 (−0.1186 to −0.0046), as
    the R package contingencytables (Fagerland et al.) computes it."""
    a = np.array([1.0] * 59 + [1.0] * 6 + [0.0] * 16 + [0.0] * 80)
    b = np.array([1.0] * 59 + [0.0] * 6 + [1.0] * 16 + [0.0] * 80)
    diff, low, high = paired_binary_diff(a, b)
    assert diff == pytest.approx(-0.0621, abs=1e-4)
    assert low == pytest.approx(-0.1186, abs=1e-4) and high == pytest.approx(-0.0046, abs=1e-4)


@pytest.mark.parametrize(("problems", "spread"), [(20, 2.0), (100, 8.0)])
def test_two_rows_of_one_pool_cover_by_simulation(problems: int, spread: float) -> None:
    """sc@1 against sc@8 from the same pools: strongly correlated rows of different variances, where
    combining bounded intervals with the actual correlation covered 89% (100 problems, p = 0.5)."""
    rng = np.random.default_rng(9)
    maj8 = _maj_table(8)
    coverage = []
    for p in (0.2, 0.5, 0.8):
        big = rng.beta(p * spread, (1 - p) * spread, 200_000)
        counts = rng.binomial(POOL, big)
        truth = float(np.mean(counts / POOL) - np.mean(maj8[counts]))
        hits = 0
        sims = 300
        for _ in range(sims):
            c = rng.binomial(POOL, rng.beta(p * spread, (1 - p) * spread, problems))
            d = paired_difference(c / POOL, maj8[c])
            hits += d.low <= truth <= d.high
        coverage.append(hits / sims)
    assert min(coverage) >= 0.93, coverage


def test_bonferroni_widens_and_wilson_is_wilson() -> None:
    assert bonferroni_z(1) == pytest.approx(1.959964, abs=1e-6)
    assert bonferroni_z(4) > bonferroni_z(2) > bonferroni_z(1)
    i = wilson(20, 20)
    assert i.low == pytest.approx(0.8389, abs=1e-4) and i.high == 1.0


def test_rounding_above_one_is_a_probability_of_one() -> None:
    """pass@k and bon@k sum products of ratios: 1 + 2e-16 happens, and once stopped a real study."""
    i = mean_interval([1.0 + 2e-16] * 19 + [0.5])
    assert 0 < i.low < i.estimate <= 1.0 and i.high <= 1.0
    d = paired_difference([1.0 + 2e-16] * 20, [0.0] * 20)
    assert d.high <= 1.0
    with pytest.raises(ValueError):
        mean_interval([1.1, 0.5])
