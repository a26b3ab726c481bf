"""Calibration: the level of a family where a model's greedy accuracy crosses 50% (its frontier).

1. Exponential bracketing: levels 1, 2, 4, 8, … until accuracy falls below 50% (or a cap).
2. Bisection between the last level at or above 50% and the first below, to adjacent levels.
3. The frontier is the highest measured level at or above 50%. Its interval runs from the highest
   level whose Wilson interval lies wholly above 50% to the lowest whose interval lies wholly below,
   among the measured levels: the levels the small samples cannot tell apart from the crossing.
A model below 50% at level 1 has no frontier, and the result says so plainly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ponder.lab.stats import wilson

MAX_LEVEL = 1024

Measure = Callable[[int], Awaitable[tuple[int, int]]]  # level → (correct, total)


@dataclass
class Calibration:
    family: str
    model: str
    level: int | None  # None: below 50% even at level 1
    interval_low: int | None
    interval_high: int | None
    measured: dict[int, dict[str, float]] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def calibrate(family: str, model: str, measure: Measure, *, max_level: int = MAX_LEVEL) -> Calibration:
    measured: dict[int, dict[str, float]] = {}

    async def above(level: int) -> bool:
        if level not in measured:
            ok, total = await measure(level)
            ci = wilson(ok, total)
            measured[level] = {
                "correct": ok,
                "total": total,
                "accuracy": ci.estimate,
                "low": ci.low,
                "high": ci.high,
            }
        return measured[level]["accuracy"] >= 0.5

    if not await above(1):
        return Calibration(
            family, model, None, None, 1, measured, f"{model} is below 50% on {family} even at level 1"
        )
    lo, hi = 1, 2
    while await above(hi):
        lo = hi
        if hi >= max_level:
            note = f"{model} is at or above 50% up to level {max_level}, the calibration's cap"
            return Calibration(family, model, hi, hi, None, measured, note)
        hi = min(hi * 2, max_level)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if await above(mid):
            lo = mid
        else:
            hi = mid
    sure_above = [lv for lv, m in measured.items() if m["low"] > 0.5 and lv <= lo]
    sure_below = [lv for lv, m in measured.items() if m["high"] < 0.5 and lv >= hi]
    return Calibration(
        family,
        model,
        lo,
        max(sure_above) if sure_above else 1,
        min(sure_below) if sure_below else None,
        dict(sorted(measured.items())),
        f"accuracy crosses 50% between levels {lo} and {hi}",
    )
