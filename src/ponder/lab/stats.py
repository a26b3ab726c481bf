"""Intervals: Wilson for one proportion, a seeded paired bootstrap for a difference of two."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson(successes: int, trials: int, z: float = Z95) -> Interval:
    """The Wilson score interval for successes/trials (sound at 0, 1 and small n)."""
    if trials <= 0:
        return Interval(float("nan"), 0.0, 1.0)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def paired_bootstrap(
    a: Sequence[bool | float], b: Sequence[bool | float], *, resamples: int = 10_000, seed: int = 0
) -> Interval:
    """mean(a) − mean(b) over paired items, with a 95% percentile interval from resampled items."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape or x.size == 0:
        raise ValueError("paired samples must be non-empty and of equal length")
    diff = x - y
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, diff.size, size=(resamples, diff.size))
    means = diff[idx].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return Interval(float(diff.mean()), float(low), float(high))
