"""Matched compute: each curve of a model read at the compute of each point run as written.

Issue 13's trade-off between thinking in sequence and in parallel (`revise@R` against `sc@N` and the
mix `vote@N(revise@R)`) is read at equal spend: every strategy's accuracy off its curve at the same
mean completion tokens, and again at the same mean FLOPs, since revision's growing prompts cost
FLOPs that tokens hide.

A curve is one model's series of one strategy without its budget (`sc` holds sc@1…sc@16 from one
pool; `revise` holds revise@1 and revise@2, written out as runs), ordered by its mean on the axis.
Coverage (an oracle's pick) is no curve. Reading a curve at a target mean T:
1. a point within a relative 1e-9 of T is read as it is;
2. else the two neighbouring points a, b whose means bracket T give the weight
   w = (log T − log t_a) / (log t_b − log t_a), and each problem's value is (1 − w)·v_a + w·v_b.
   The mixture is per problem, so its interval (`intervals.mean_interval`) and its difference with
   another strategy on the same problems (`intervals.paired_difference`) are taken over problems
   like any row's. The other axis is read at the same w on its own log: a reading at T tokens
   carries the FLOPs of the same place on the curve;
3. outside the curve's [min, max] it is not read (None): never extrapolated.

Step 2 is a convention: the straight segment between two points of a curve drawn on a log axis.
An interpolated reading is a read-off, not a run, and says so ("interpolated on log tokens between
budgets a and b"). A run that drew budget b with probability w would spend (1 − w)·t_a + w·t_b ≥ T
tokens: the log weight is the plot's, not a strategy's. The intervals are unadjusted: the targets
are fixed by the study's design (every point run as written), not chosen after seeing the data.

Score axes (`scores.py`) are read at the same place: each problem's score mixed at the same w,
its mean with its interval, and the target's minus it with a paired interval
(`score_intervals.py`), on every axis the target and both bracketing points carry.

Targets: the mean of each point run as written (a `Series` not derived from a pool). At each, the
target's own point, then every pooled curve and every run-as-written curve of at least two points
but the target's own. An axis the target has no positive mean on (FLOPs without a parameter count)
is not read.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from ponder.lab import intervals
from ponder.lab.study import findings
from ponder.lab.study.scores import mean_score, score_difference
from ponder.lab.study.series import Series, spec_at
from ponder.lab.study.summary import Matched, Reading, Score, ScoreDifference

AXES: dict[str, Callable[[Series], np.ndarray]] = {"tokens": lambda s: s.tokens, "flops": lambda s: s.flops}
EXACT = 1e-9  # relative: a target this close to a point is read at the point


class Read(NamedTuple):
    """A curve read at a target: its bracketing points (a is b at a point), the weight on b and the
    per-problem values of the mixture."""

    a: Series
    b: Series
    weight: float
    values: np.ndarray


def mean(s: Series, axis: str) -> float:
    return float(AXES[axis](s).mean())


def curves(series: Sequence[Series], axis: str = "tokens") -> dict[str, list[Series]]:
    """One model's curves by strategy (without its budget), each ordered by its mean on `axis`."""
    out: dict[str, list[Series]] = {}
    for s in series:
        if s.selection:
            out.setdefault(s.strategy, []).append(s)
    for points in out.values():
        points.sort(key=lambda s: (mean(s, axis), s.budget))
    return out


def read(points: Sequence[Series], target: float, axis: str = "tokens") -> Read | None:
    """The curve through `points` at mean `target` on `axis`; None outside its range or at a
    target that has no logarithm (no extrapolation, no reading at zero)."""
    if not target > 0:
        return None
    ordered = sorted(points, key=lambda s: (mean(s, axis), s.budget))
    for p in ordered:
        if abs(mean(p, axis) - target) <= EXACT * target:
            return Read(p, p, 0.0, p.values)
    for a, b in itertools.pairwise(ordered):
        ta, tb = mean(a, axis), mean(b, axis)
        if 0 < ta < target < tb:
            w = (math.log(target) - math.log(ta)) / (math.log(tb) - math.log(ta))
            return Read(a, b, w, (1 - w) * a.values + w * b.values)
    return None


def _log_mix(x: float, y: float, w: float) -> float:
    """x and y mixed at w on their log (x where w is 0); linear where either is not positive."""
    if w == 0.0:
        return x
    if x > 0 and y > 0:
        return math.exp((1 - w) * math.log(x) + w * math.log(y))
    return (1 - w) * x + w * y


def _scores(r: Read, target: Series | None) -> tuple[dict[str, Score], dict[str, ScoreDifference]]:
    """The reading's mean score per axis, mixed per problem at its weight as its accuracy is, and
    the target's minus it (paired), on the axes both carry."""
    names = r.a.scores.keys() & r.b.scores.keys() & (target.scores.keys() if target else r.a.scores.keys())
    means, diffs = {}, {}
    for name in sorted(names):
        values = (1 - r.weight) * r.a.scores[name] + r.weight * r.b.scores[name]
        means[name] = mean_score(values)
        if target is not None:
            diffs[name] = score_difference(target.scores[name], values)
    return means, diffs


def reading(strategy: str, r: Read, axis: str, target: Series | None = None) -> Reading:
    """A `Read` as the summary keeps it; with `target`, the target's accuracy minus this reading."""
    ci = intervals.mean_interval(r.values)
    scores, score_differences = _scores(r, target)
    a, b = r.a.budget, r.b.budget
    if r.a is r.b:
        method = f"at budget {a}" if target is not None else "the target itself"
    else:
        method = (
            f"interpolated on log {'tokens' if axis == 'tokens' else 'FLOPs'} between budgets {a} and {b}"
        )
    diff = intervals.paired_difference(target.values, r.values) if target is not None else None
    return Reading(
        strategy=strategy,
        budgets=(a, b),
        weight=r.weight,
        method=method,
        accuracy=ci.estimate,
        ci_low=ci.low,
        ci_high=ci.high,
        ci_method=ci.method,
        mean_completion_tokens=_log_mix(mean(r.a, "tokens"), mean(r.b, "tokens"), r.weight),
        mean_flops=_log_mix(mean(r.a, "flops"), mean(r.b, "flops"), r.weight),
        difference=diff.estimate if diff is not None else None,
        diff_low=diff.low if diff is not None else None,
        diff_high=diff.high if diff is not None else None,
        diff_method=diff.method if diff is not None else None,
        scores=scores or None,
        score_differences=score_differences or None,
    )


def matched(series: Sequence[Series]) -> list[Matched]:
    """Per model, axis and point run as written: every other curve read at the point's mean."""
    out = []
    for model in dict.fromkeys(s.model for s in series):
        mine = [s for s in series if s.model == model]
        targets = [s for s in mine if not s.pooled and s.selection]
        for axis in AXES:
            lines = {
                name: points
                for name, points in curves(mine, axis).items()
                if points[0].pooled or len(points) >= 2
            }
            for t in targets:
                at = mean(t, axis)
                others = [name for name in lines if name != t.strategy]
                if not at > 0 or not others:
                    continue
                readings = [reading(t.strategy, Read(t, t, 0.0, t.values), axis)]
                not_read = []
                for name in others:
                    r = read(lines[name], at, axis)
                    if r is None:
                        not_read.append(name)
                    else:
                        readings.append(reading(name, r, axis, target=t))
                name = spec_at(t.strategy, t.budget)
                out.append(
                    Matched(
                        model=model,
                        axis=axis,
                        target=name,
                        at=at,
                        readings=tuple(readings),
                        not_read=tuple(not_read),
                        sentence=findings.matched_sentence(model, axis, name, at, readings, not_read),
                    )
                )
    return out
