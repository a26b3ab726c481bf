"""The intervals, and the GSM8K perturbation on the whole test split (calibration: test_calibrate.py)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from ponder.lab import perturb as perturbation
from ponder.lab.perturb import Refusal, Twin, parse_steps, perturb, replay
from ponder.lab.stats import paired_bootstrap_diff, wilson
from ponder.tasks.static import GSM8K_TEST, gsm8k_gold

GSM8K = GSM8K_TEST  # the copy shipped in the package


def test_wilson_and_bootstrap() -> None:
    ci = wilson(0, 10)
    assert ci.low == 0 and 0.2 < ci.high < 0.35
    ci = wilson(10, 10)
    assert ci.high == pytest.approx(1) and 0.65 < ci.low < 0.8
    same = paired_bootstrap_diff(np.array([1.0, 0.0] * 20), np.array([1.0, 0.0] * 20))
    assert same == (0, 0, 0)
    better = paired_bootstrap_diff(np.ones(30), np.array([0.0] * 20 + [1.0] * 10), seed=1)
    assert better[1] > 0 and better[0] == pytest.approx(20 / 30)


def rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in GSM8K.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_replayable_solution_reproduces_its_answer_before_any_change() -> None:
    replayed = 0
    for row in rows():
        steps = parse_steps(row["answer"])
        if isinstance(steps, Refusal):
            continue
        value = replay(steps, gsm8k_gold(row["answer"]))
        if not isinstance(value, Refusal):
            replayed += 1
            assert value == perturbation._number(gsm8k_gold(row["answer"]))
    assert replayed > 1000  # of 1319


def test_unchanged_numbers_give_back_the_gold_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the 'perturbation' fixed to the identity, every twin is its original: the recomputation
    path itself is exact."""
    monkeypatch.setattr(perturbation, "_nudge", lambda v, rng: v)
    twins = 0
    for row in rows():
        twin = perturb(row["question"], row["answer"], gsm8k_gold(row["answer"]), random.Random(0))
        if isinstance(twin, Twin):
            twins += 1
            assert twin.answer == gsm8k_gold(row["answer"]) and twin.question == row["question"]
    assert twins > 620  # 648 with the identity: no item is lost to not-whole


def test_perturbed_twins_change_numbers_and_recompute() -> None:
    rng = random.Random(7)
    made = refused = 0
    for row in rows()[:200]:
        twin = perturb(row["question"], row["answer"], gsm8k_gold(row["answer"]), rng)
        if isinstance(twin, Refusal):
            refused += 1
            assert twin.kind in {
                "unparsable",
                "no-annotations",
                "unreproducible",
                "ambiguous",
                "unexplained-number",
                "no-inputs",
                "not-whole",
            }
            continue
        made += 1
        assert twin.changed and all(k != v for k, v in twin.changed.items())
        assert twin.question != row["question"]
    assert made > 80 and made + refused == 200  # 98 of the first 200 at this seed
