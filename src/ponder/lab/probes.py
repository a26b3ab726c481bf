"""Probes: is a family saturated at a level, and is a static set contaminated?

- Saturation: accuracy at FAMILY@LEVEL with its Wilson interval; saturated when the whole interval
  lies above the threshold; the suggestion is the next level to try (double it, as calibration does).
  Even a perfect score has a Wilson lower bound of n/(n+z²), so a threshold is reachable only from
  some number of problems on (35 for 0.9): fewer is refused, and the default is the number at which
  one miss can still fire (53 for 0.9), so the probe can say "saturated" with its defaults.
- Contamination (GSM8K): the same model on each item and on two perturbed twins drawn independently
  (same story, other numbers, answer recomputed from the worked solution). A model that memorised the
  set does better on the originals than on twin A; twin A against twin B measures what changing the
  numbers does by itself (harder numbers, noise), the floor the first difference must clear. Both
  differences get Newcombe's paired score interval (the data are paired and binary).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ponder.errors import PonderError
from ponder.lab.evaluate import Evaluator
from ponder.lab.intervals import paired_binary_diff
from ponder.lab.perturb import Refusal, perturb
from ponder.lab.stats import wilson
from ponder.tasks.base import Item
from ponder.tasks.generate import items as family_items


def problems_to_saturate(threshold: float, misses: int = 0) -> int:
    """The fewest problems at which (n − misses)/n has a Wilson lower bound above the threshold."""
    if not 0 < threshold < 1:
        raise PonderError("--threshold must be between 0 and 1")
    n = misses + 1
    while wilson(n - misses, n).low <= threshold:
        n += 1
    return n


def saturation_problems(threshold: float, problems: int | None = None) -> int:
    """The number of problems to measure: the default lets one miss still fire; too few is refused."""
    if problems is None:
        return problems_to_saturate(threshold, misses=1)
    least = problems_to_saturate(threshold)
    if problems < least:
        raise PonderError(
            f"--problems {problems} can never show saturation at --threshold {threshold:g}: even a "
            f"perfect score needs at least {least} problems (or lower --threshold)"
        )
    return problems


@dataclass
class Saturation:
    family: str
    level: int
    accuracy: float
    ci_low: float
    ci_high: float
    problems: int
    threshold: float
    saturated: bool
    suggested_level: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ProgressHook = Callable[[int, int], None]  # (done, total), called at the start and after each answer


def _steps(total: int, progress: ProgressHook | None) -> Callable[[], None] | None:
    """A per-answer callback for Evaluator.judge that reports (done, total) to `progress`."""
    if progress is None:
        return None
    hook, done = progress, 0
    hook(0, total)

    def step() -> None:
        nonlocal done
        done += 1
        hook(done, total)

    return step


async def saturation(
    evaluator: Evaluator,
    family: str,
    level: int,
    *,
    problems: int | None = None,
    threshold: float = 0.9,
    seed: int = 0,
    progress: ProgressHook | None = None,
) -> Saturation:
    n = saturation_problems(threshold, problems)
    verdicts = await evaluator.judge(family_items(family, level, n, seed=seed), _steps(n, progress))
    ci = wilson(sum(v.correct for v in verdicts), len(verdicts))
    saturated = ci.low > threshold
    return Saturation(
        family,
        level,
        ci.estimate,
        ci.low,
        ci.high,
        len(verdicts),
        threshold,
        saturated,
        level * 2 if saturated else level,
    )


def _paired_binary_diff(a: Sequence[bool], b: Sequence[bool]) -> tuple[float, float, float]:
    """(mean a − mean b, low, high): Newcombe's paired score interval (ponder.lab.intervals)."""
    if not a or len(b) != len(a):
        raise ValueError("paired samples must be non-empty and of equal length")
    return paired_binary_diff([float(x) for x in a], [float(y) for y in b])


@dataclass
class Contamination:
    problems: int
    perturbed: int  # items with both twins; every accuracy below is over these
    not_perturbed: int
    reasons: dict[str, int]
    accuracy_original: float
    accuracy_perturbed: float  # twin A
    accuracy_control: float  # twin B
    difference: float  # original − twin A
    ci_low: float
    ci_high: float
    control_difference: float  # twin A − twin B: the noise floor
    control_low: float
    control_high: float
    likely: bool
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def twins(items: list[Item], seed: int, stream: str = "") -> tuple[list[tuple[Item, Item]], dict[str, int]]:
    """Each GSM8K item with its perturbed twin; and why the others could not be perturbed.

    `stream` names an independent draw of new numbers ("" is twin set A, "control" set B)."""
    rng = random.Random(f"perturb-{seed}" + (f"-{stream}" if stream else ""))
    suffix = f"-twin-{stream}" if stream else "-twin"
    pairs: list[tuple[Item, Item]] = []
    reasons: dict[str, int] = {}
    for item in items:
        twin = perturb(item.question, str(item.data.get("solution", "")), item.answer, rng)
        if isinstance(twin, Refusal):
            reasons[twin.kind] = reasons.get(twin.kind, 0) + 1
            continue
        changed = Item(
            id=f"{item.id}{suffix}",
            family=item.family,
            level=None,
            split=item.split,
            question=twin.question,
            answer=twin.answer,
            instruction=item.instruction,
            answer_format=item.answer_format,
            data={"check": item.data.get("check", "numeric"), "changed": twin.changed},
        )
        pairs.append((item, changed))
    return pairs, reasons


def contamination_verdict(
    diff: float, low: float, high: float, control: tuple[float, float, float]
) -> tuple[bool, str]:
    """Likely only when original − twin is clearly positive (its interval above 0) and larger than
    any twin-vs-twin difference the control's interval allows (the noise floor)."""
    floor = max(abs(control[1]), abs(control[2]))
    points = f"{100 * diff:+.1f} points (95% CI {100 * low:+.1f} to {100 * high:+.1f})"
    noise = f"twin-vs-twin noise up to {100 * floor:.1f} points"
    if low > 0 and diff > floor:
        return True, f"contamination likely: originals beat their twins by {points}, beyond {noise}"
    if low > 0:
        return False, f"inconclusive: originals beat their twins by {points}, but within {noise}"
    return False, f"no sign of contamination: originals against twins {points}, {noise}"


async def contamination(
    evaluator: Evaluator, items: list[Item], *, seed: int = 0, progress: ProgressHook | None = None
) -> Contamination:
    pairs_a, reasons = twins(items, seed)
    pairs_b, _ = twins(items, seed, "control")
    control = {orig.id: twin for orig, twin in pairs_b}
    # Two draws refuse the same items except where one draw found no whole numbers: those count
    # under not-whole, so that every accuracy is over the same items.
    triples = [(orig, twin, control[orig.id]) for orig, twin in pairs_a if orig.id in control]
    lost = len(pairs_a) - len(triples)
    if lost:
        reasons["not-whole"] = reasons.get("not-whole", 0) + lost
    n, refused = len(triples), len(items) - len(triples)
    if not triples:
        verdict = "no item could be perturbed twice: nothing to compare"
        zero = 0.0
        return Contamination(
            len(items),
            0,
            refused,
            reasons,
            zero,
            zero,
            zero,
            zero,
            zero,
            zero,
            zero,
            zero,
            zero,
            False,
            verdict,
        )
    step = _steps(3 * n, progress)
    original = [v.correct for v in await evaluator.judge([t[0] for t in triples], step)]
    twin_a = [v.correct for v in await evaluator.judge([t[1] for t in triples], step)]
    twin_b = [v.correct for v in await evaluator.judge([t[2] for t in triples], step)]
    diff, low, high = _paired_binary_diff(original, twin_a)
    control_ci = _paired_binary_diff(twin_a, twin_b)
    likely, verdict = contamination_verdict(diff, low, high, control_ci)
    return Contamination(
        len(items),
        n,
        refused,
        reasons,
        sum(original) / n,
        sum(twin_a) / n,
        sum(twin_b) / n,
        diff,
        low,
        high,
        *control_ci,
        likely,
        verdict,
    )
