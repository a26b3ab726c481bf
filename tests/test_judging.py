"""Judge reliability: agreement (accuracy, Cohen's kappa) of a judge's verdicts on a writing task's
rules with the program's, and a pairwise judge's position bias, from a study store written through
the store's own API."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ponder.lab.judging import ALL, agreement, kappa, position_bias
from ponder.lab.study.store import PassScore, StoredSample, StudyStore
from ponder.tasks import generate
from ponder.tasks.families.writing import check_constraint
from ponder.types import CallRecord, Usage

POOL = ["", "a short text", "the gold witness"]  # the last is replaced by each item's witness


def store_with(
    tmp_path: Path, said: Callable[[str, dict[str, object]], int], problems: int = 6
) -> tuple[StudyStore, list[tuple[int, int]]]:
    """A study of writing items whose rubric pass says `said(text, constraint)` of each rule; and
    every (judge, program) pair it holds."""
    store = StudyStore(tmp_path / "study.sqlite")
    items = generate.items("writing", 3, problems, split="public", seed=5)
    store.initialise(items, {})
    pairs = []
    judge_call = CallRecord("judge", "judge-model", 1, Usage(calls=1, completion_tokens=5))
    for item in items:
        texts = [*POOL[:-1], item.answer]
        samples = [StoredSample(t, "", t or None, False, None, 5, "stop") for t in texts]
        store.save_request(model="m", problem_id=item.id, kind="pool", seed=0, usage=Usage(), samples=samples)
        scores = []
        for t in texts:
            if not t:
                scores.append(PassScore(None, None, "rubric"))
                continue
            verdicts = {f"rule_{i + 1}": said(t, c) for i, c in enumerate(item.data["constraints"])}
            pairs += [
                (v, int(check_constraint(t, c)))
                for v, c in zip(verdicts.values(), item.data["constraints"], strict=True)
            ]
            scores.append(PassScore(0.5, None, "rubric", json.dumps({"scores": verdicts})))
        store.save_request(
            model="m", problem_id=item.id, kind="score:rubric", seed=0, usage=Usage(), samples=[],
            scores=scores, calls=[judge_call],
        )  # fmt: skip
    return store, pairs


def test_a_judge_that_reads_like_the_program_agrees_fully(tmp_path: Path) -> None:
    store, pairs = store_with(tmp_path, lambda t, c: int(check_constraint(t, c)))
    found = {a.criterion: a for a in agreement(store)}
    overall = found[ALL]
    assert overall.judge == "judge-model" and overall.model == "m"
    assert overall.pairs == len(pairs) and overall.problems == 6
    assert overall.accuracy == 1.0 and overall.kappa == pytest.approx(1.0)
    assert overall.accuracy_low < 1.0 == overall.accuracy_high  # six problems: not certainty
    assert set(found) - {ALL} <= {"words", "include", "avoid", "acrostic", "sentences", "last"}
    assert sum(a.pairs for k, a in found.items() if k != ALL) == overall.pairs


def test_a_judge_that_says_kept_of_everything_has_no_agreement_beyond_chance(tmp_path: Path) -> None:
    store, pairs = store_with(tmp_path, lambda t, c: 1)
    overall = next(a for a in agreement(store) if a.criterion == ALL)
    program = np.array([p for _, p in pairs])
    assert overall.judge_kept == 1.0
    assert overall.program_kept == pytest.approx(program.mean())
    assert overall.accuracy == pytest.approx(program.mean())  # right exactly where a rule is kept
    assert overall.kappa == pytest.approx(0.0)
    assert overall.accuracy_low is not None and overall.accuracy_high is not None
    assert overall.accuracy_low <= overall.accuracy <= overall.accuracy_high


def test_kappa_matches_its_definition_and_is_none_for_raters_that_never_vary() -> None:
    j = np.array([1, 1, 0, 0, 1, 0, 1, 1])
    p = np.array([1, 0, 0, 0, 1, 1, 1, 1])
    p_o = np.mean(j == p)
    p_e = j.mean() * p.mean() + (1 - j.mean()) * (1 - p.mean())
    assert kappa(j, p) == pytest.approx((p_o - p_e) / (1 - p_e))
    assert kappa(np.ones(4), np.ones(4)) is None


def test_a_judge_that_prefers_the_first_position_is_measured(tmp_path: Path) -> None:
    store = StudyStore(tmp_path / "study.sqlite")
    items = generate.items("writing", 2, 5, split="public", seed=1)
    store.initialise(items, {})
    call = CallRecord("judge", "judge-model", 1, Usage(calls=1, completion_tokens=1))
    for item in items:
        n, criteria = 3, 2
        details = [
            {"vs": {}, "first": {str(j): [0.9] * criteria for j in range(n) if j != i}} for i in range(n)
        ]
        scores = [PassScore(0.0, None, "pairwise", json.dumps(d)) for d in details]
        store.save_request(
            model="m", problem_id=item.id, kind="score:pairwise", seed=0, usage=Usage(), samples=[],
            scores=scores, calls=[call],
        )  # fmt: skip
    (bias,) = position_bias(store)
    assert bias.judge == "judge-model" and bias.problems == 5
    assert bias.comparisons == 5 * len(list(itertools.permutations(range(3), 2))) * 2
    assert bias.bias == pytest.approx(0.4)
    assert bias.consistency == 0.0  # it names whichever text it read first: never the same one
    assert bias.bias_low < 0.4 < bias.bias_high  # five problems say little: never a zero width
    assert bias.bias_low >= -0.5 and bias.bias_high <= 0.5
