"""Probes: is a family saturated at a level, and is a static set contaminated?

- Saturation: accuracy at FAMILY@LEVEL with its Wilson interval; saturated when the whole interval
  lies above the threshold; the suggestion is the next level to try (double it, as calibration does).
- Contamination (GSM8K): the same model on each item and on its perturbed twin (same story, other
  numbers, answer recomputed from the worked solution). A model that memorised the set does better
  on the originals; the paired bootstrap interval of the difference says whether it does.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ponder.lab.evaluate import Evaluator
from ponder.lab.perturb import Refusal, perturb
from ponder.lab.stats import paired_bootstrap_diff, wilson
from ponder.tasks.base import Item
from ponder.tasks.generate import items as family_items


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


async def saturation(
    evaluator: Evaluator,
    family: str,
    level: int,
    *,
    problems: int,
    threshold: float = 0.9,
    seed: int = 0,
) -> Saturation:
    verdicts = await evaluator.judge(family_items(family, level, problems, seed=seed))
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


@dataclass
class Contamination:
    problems: int
    perturbed: int
    not_perturbed: int
    reasons: dict[str, int]
    accuracy_original: float
    accuracy_perturbed: float
    difference: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def twins(items: list[Item], seed: int) -> tuple[list[tuple[Item, Item]], dict[str, int]]:
    """Each GSM8K item with its perturbed twin; and why the others could not be perturbed."""
    rng = random.Random(f"perturb-{seed}")
    pairs: list[tuple[Item, Item]] = []
    reasons: dict[str, int] = {}
    for item in items:
        twin = perturb(item.question, str(item.data.get("solution", "")), item.answer, rng)
        if isinstance(twin, Refusal):
            reasons[twin.kind] = reasons.get(twin.kind, 0) + 1
            continue
        changed = Item(
            id=f"{item.id}-twin",
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


async def contamination(evaluator: Evaluator, items: list[Item], *, seed: int = 0) -> Contamination:
    pairs, reasons = twins(items, seed)
    if not pairs:
        return Contamination(len(items), 0, len(items), reasons, 0.0, 0.0, 0.0, 0.0, 0.0)
    originals = await evaluator.judge([a for a, _ in pairs])
    perturbed = await evaluator.judge([b for _, b in pairs])
    a = [v.correct for v in originals]
    b = [v.correct for v in perturbed]
    diff, low, high = paired_bootstrap_diff(np.asarray(a, dtype=float), np.asarray(b, dtype=float), seed=seed)
    return Contamination(
        len(items),
        len(pairs),
        len(items) - len(pairs),
        reasons,
        sum(a) / len(a),
        sum(b) / len(b),
        diff,
        low,
        high,
    )
