"""Calibration: the fitted crossing, its interval, the item budget, and the frontier rule.

The simulation compares the fit with the bisection it replaced on the same simulated model: accuracy
logistic in level (slope 0.5 a level) with its crossing at 6.5, 5 problems a level, 200 runs.
"""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from ponder.lab.calibrate import Measure, calibrate, fit_crossing

CROSSING = 6.5
SLOPE = 0.5  # per level: p(4.5) = 0.73, p(8.5) = 0.27
RUNS = 200


def accuracy(level: int) -> float:
    return 1 / (1 + math.exp(SLOPE * (level - CROSSING)))


def simulated(rng: np.random.Generator) -> Measure:
    async def measure(level: int, count: int, offset: int) -> tuple[int, int]:
        return int(rng.binomial(count, accuracy(level))), count

    return measure


def bisection(rng: np.random.Generator, problems: int = 5) -> tuple[int, int]:
    """The method the fit replaced: levels 1, 2, 4, … then bisection, `problems` items a level; the
    highest measured level at or above 50%. Returns (frontier, items measured)."""
    seen: dict[int, float] = {}

    def above(level: int) -> bool:
        if level not in seen:
            seen[level] = rng.binomial(problems, accuracy(level)) / problems
        return seen[level] >= 0.5

    if not above(1):
        return 0, problems
    lo, hi = 1, 2
    while above(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if above(mid) else (lo, mid)
    return lo, problems * len(seen)


def test_the_fitted_frontier_is_steadier_than_bisection_and_its_interval_covers() -> None:
    old, old_items = zip(*(bisection(np.random.default_rng(s)) for s in range(RUNS)), strict=True)
    runs = [
        asyncio.run(calibrate("f", "m", simulated(np.random.default_rng(s)), problems=5)) for s in range(RUNS)
    ]
    new = np.array([r.level or 0 for r in runs])
    old_levels = np.array(old)
    # the same items: 30 (6 × 5 a level), where bisection spent about 31 here
    assert {r.items for r in runs} == {30} and 29 <= np.mean(old_items) <= 33
    # bisection: standard deviation 1.39 levels, 27% of runs two or more levels off 6;
    # the fit: 1.07 and 15%
    assert new.std() < 0.8 * old_levels.std()
    assert np.mean(abs(new - 6) >= 2) < 0.6 * np.mean(abs(old_levels - 6) >= 2)
    assert abs(np.mean(new) - 6) < 0.3
    # the 95% profile likelihood interval covers the true crossing at about its rate (measured: 95%)
    covered = [r.fit is not None and (r.fit.low or 0) <= CROSSING <= (r.fit.high or math.inf) for r in runs]
    assert 0.9 <= np.mean(covered) <= 0.99


def deterministic(frontier: int, log: list[tuple[int, int, int]]) -> Measure:
    """A 'model' right at every level up to `frontier` and wrong above it."""

    async def measure(level: int, count: int, offset: int) -> tuple[int, int]:
        log.append((level, count, offset))
        return (count if level <= frontier else 0), count

    return measure


@pytest.mark.parametrize("frontier", [1, 2, 3, 7, 12, 50, 513])
async def test_separated_data_give_the_frontier(frontier: int) -> None:
    """Exact where one level is a real step in log-level; at 513 the ridge on the slope per
    doubling cannot tell 513 from 514, so there the frontier is within 2%, inside its interval."""
    log: list[tuple[int, int, int]] = []
    result = await calibrate("f", "m", deterministic(frontier, log), problems=4, budget=80)
    assert result.level is not None and result.fit is not None  # the ridge keeps the fit finite
    assert abs(result.level - frontier) <= 0.02 * frontier
    assert math.isfinite(result.fit.b) and result.fit.b < 0
    assert result.interval_low is not None and result.interval_low <= frontier
    assert result.interval_high is not None and result.interval_high >= frontier
    assert result.items == sum(count for _, count, _ in log) <= 80
    # more items at a level are the next ones of its sequence, never the same ones again
    taken: dict[int, int] = {}
    for level, count, offset in log:
        assert offset == taken.get(level, 0)
        taken[level] = offset + count


async def test_a_model_plainly_below_50_at_level_one_stops_there() -> None:
    log: list[tuple[int, int, int]] = []
    result = await calibrate("f", "m", deterministic(0, log), problems=5)
    assert result.level is None and result.fit is None and "below 50%" in result.note
    assert {level for level, _, _ in log} == {1} and result.items == 5


async def test_a_crossing_below_level_one_is_no_frontier() -> None:
    """40% at level 1 on 5 items cannot rule out 50%: the budget is spent, and the fit decides."""

    async def measure(level: int, count: int, offset: int) -> tuple[int, int]:
        right = sum(1 for i in range(offset, offset + count) if level == 1 and i % 5 in (0, 2))
        return right, count

    result = await calibrate("f", "m", measure, problems=5)
    assert result.items == 30 and result.fit is not None and result.fit.crossing < 1
    assert result.level is None and "below 50%" in result.note


async def test_the_cap() -> None:
    result = await calibrate("f", "m", deterministic(10**6, []), max_level=64)
    assert result.level == 64 and "cap" in result.note


def test_the_fit_pools_every_level() -> None:
    fit = fit_crossing({1: (5, 5), 2: (5, 5), 4: (4, 5), 8: (1, 5), 6: (2, 3), 7: (1, 3)})
    assert 5.5 < fit.crossing < 6.5 and fit.low is not None and fit.high is not None
    assert fit.low < fit.crossing < fit.high
    assert fit.a / -fit.b == pytest.approx(math.log2(fit.crossing))
