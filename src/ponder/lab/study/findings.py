"""The study's findings in words: the sentences of `summary.json`, written from numbers already computed.

`analysis.py` decides every number (which point is best, among how many, the interval); this module
only says them, so a sentence can change without touching a figure and a figure cannot hide in a
sentence. The sentences are stored in the summary as written (they are part of its public JSON).
"""

from __future__ import annotations

from collections.abc import Sequence

from ponder.lab.intervals import Interval
from ponder.lab.study.series import spec_at
from ponder.lab.study.summary import Point, Reading


def point_name(p: Point) -> str:
    return f"{p.model} with {p.strategy}@{p.budget}"


def flops_condition(baseline: Point) -> str:
    return f"at no more FLOPs than {point_name(baseline)}"


def headline_sentence(
    best: Point,
    baseline: Point,
    diff: Interval,
    chosen_among: int,
    ratio: float | None,
    condition: str | None,
) -> str:
    """The best of M points against the baseline, adjusted for the choice; the FLOPs condition only
    where one holds (two models, known FLOPs), the ratio always."""
    cost = f"using {ratio:.2f}x its FLOPs" if ratio is not None else "FLOPs unknown"
    scores = (
        f"scores {100 * best.accuracy:.0f}% against {100 * baseline.accuracy:.0f}% for "
        f"{point_name(baseline)}, {cost}: a difference of "
        f"{100 * diff.estimate:+.1f} points (95% CI {100 * diff.low:+.1f} to {100 * diff.high:+.1f}"
    )
    chosen = f"the best of its {chosen_among} points" + (f" {condition}" if condition is not None else "")
    return f"{point_name(best)}, {chosen}, {scores}, adjusted for choosing the best of {chosen_among})."


def comparison_sentence(a: Point, b: Point, diff: Interval) -> str:
    return (
        f"{point_name(a)} minus {point_name(b)}: "
        f"{100 * diff.estimate:+.1f} points (95% CI {100 * diff.low:+.1f} to {100 * diff.high:+.1f})."
    )


def _pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def matched_sentence(
    model: str, axis: str, target: str, at: float, readings: Sequence[Reading], not_read: Sequence[str]
) -> str:
    """ "On m, at revise@1's 610 mean completion tokens: revise@1 scores 20.0% (95% CI …); sc reads
    23.1% (interpolated on log tokens between sc@2 and sc@4, 95% CI …), revise@1 minus sc −3.1
    points (paired 95% CI …)." The target's own reading first, then each curve read there."""
    where = f"{at:.0f} mean completion tokens" if axis == "tokens" else f"{at:.3g} mean FLOPs"
    own, *rest = readings
    parts = [
        f"On {model}, at {target}'s {where}: {target} scores {100 * own.accuracy:.1f}% "
        f"(95% CI {100 * own.ci_low:.1f}% to {100 * own.ci_high:.1f}%)"
    ]
    for r in rest:
        a, b = (spec_at(r.strategy, k) for k in r.budgets)
        how = (
            f"at {a}"
            if a == b
            else f"interpolated on log {'tokens' if axis == 'tokens' else 'FLOPs'} between {a} and {b}"
        )
        said = (
            f"{r.strategy} reads {100 * r.accuracy:.1f}% ({how}, 95% CI {100 * r.ci_low:.1f}% to "
            f"{100 * r.ci_high:.1f}%)"
        )
        if r.difference is not None and r.diff_low is not None and r.diff_high is not None:
            said += (
                f", {target} minus {r.strategy} {_pts(r.difference)} points (paired 95% CI "
                f"{_pts(r.diff_low)} to {_pts(r.diff_high)})"
            )
        parts.append(said)
    sentence = "; ".join(parts) + "."
    if not_read:
        sentence += f" Not read ({where} lie outside their range; never extrapolated): {', '.join(not_read)}."
    return sentence


def model_notes(model: str, *, calls_stored: bool, prompt_rate: float, priced: bool) -> list[str]:
    """What a model's figures could not include."""
    notes = []
    if not calls_stored:
        notes.append(f"{model}: this study was stored before its calls were; cached prompts add no seconds")
    elif prompt_rate == 0.0:
        notes.append(
            f"{model}: the engine reported no prompt timings, so cached prompt tokens add no seconds"
        )
    if not priced:
        notes.append(f"{model}: dollars not counted (no price in PONDER_HOME/prices.toml): shown as 0")
    return notes


def text_vote_notes(formats: set[str], voters: list[str]) -> list[str]:
    """Where a suite has code problems, what the strategies voting on extracted answers vote on."""
    if "code" not in formats or not voters:
        return []
    return [
        f"{', '.join(voters)} on code: the vote compares program text, not behaviour, so correct "
        "programs written differently split it; exec groups programs by their outputs on the tests "
        "stated in the problem and proposed by the model (docs/strategies.md)"
    ]
