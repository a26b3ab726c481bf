"""Continuous scores beside accuracy: named axes of per-sample values in [0, 1].

Accuracy asks whether an answer is right. An **axis** asks how good it is, as a value in [0, 1]:
`checks` is the oracle's partial credit (`ponder.tasks.oracle.grade`: the share of a writing
task's constraints the text keeps; a family without partial credit gives its verdict, 0 or 1). A
study carries every registered axis whose provider has values for it; a study with none (GSM8K)
has no score anywhere in its summary.

**The provider contract.** An axis is a `ScoreAxis(name, description, provide)` registered with
`register_axis`. `provide(study, model, kind)` reads the stored study (`StudyView`: the store,
its problems in order, its requests by (model, problem id, kind)) and returns, for that model's
requests of one kind over every problem, in problem order:
- a pool (`pool`, `pool:NAME`): a (P, n) array, one value per sample in the stored sample order;
- a run (`run:SPEC`): a (P,) array, the value of the run's final answer;
- None where the axis has no value for that kind (no partial credit in the suite, a judge's pass
  that was not run): the axis is then left out of those rows.
Every value is finite and in [0, 1] (else the study stops with the axis named); a provider that
cannot value every sample of a kind returns None for it. A sample without an answer should be
valued 0, as `checks` values it (the oracle grades no text 0): a vote credits a subset where nobody
answered 0, as its accuracy does. It is an eval-time function: it may read
the gold (the oracle does) or a judge's stored verdicts, and no strategy ever sees it. It is called
once per model and kind, at analysis time, so it must be a function of the store alone.

**Pooled estimates.** A pooled strategy's estimator (`Pooling.estimate`) gives the expected 0/1
verdict of what the strategy picks from a k-subset. Its expected *value* on an axis comes from the
same estimator, unchanged, by the layer-cake identity: for a value v in [0, 1],
v = ∫₀¹ 1[v ≥ t] dt, so E[v of the pick] = Σᵢ (tᵢ − tᵢ₋₁) · E[1[v of the pick ≥ tᵢ]] over the
problem's distinct values t₁ < t₂ < … (t₀ = 0), and each term is the estimator run on the verdicts
1[v ≥ tᵢ] in place of the oracle's. This is exact whenever the estimator's credit on a subset is the
verdict of a sample chosen without looking at the verdicts, or a uniform mixture of such choices,
or the subset's best verdict, because thresholding then commutes with the choice:
- `majority` (sc, bon:scorer=vote, pot) and wbon: exact where their accuracy is (closed form or
  every subset enumerated), else Monte Carlo with the same seed, unbiased as theirs; a vote's tie
  credit c/t becomes the tied answers' mean value;
- `best_scored` (bon by logprob, by a verifier): exact (the ranked weights of every k-subset);
- exec: exact (its counting), with each behaviour cluster's members as below;
- adaptive: the same random orders replayed at every threshold, unbiased, as its accuracy is;
- router: a choice among those by signals read off the first samples (their agreement and
  logprobs), never the verdicts: exact as its options are;
- coverage (pass@k): exactly the expected *best* value in a k-subset, the oracle's pick.
Feeding the real values in place of the verdicts would not work: the estimators take 0/1 verdicts
and count answer groups by them. The layer cake needs none of them changed, and a plugin
estimator gets the same treatment.

Where a vote's groups are not the answers (execution's behaviour clusters) or a provider values
one answer differently in different samples (a judge), a group's members may differ: each member
then takes its group's mean value, which is what a pick of a uniformly random member scores in
expectation; every registered vote picks within a group by first appearance, which is uniform
since the samples are exchangeable. How many problems needed it is in the estimator's notes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ponder.lab.score_intervals import paired_score_difference, score_interval
from ponder.lab.study.records import Score, ScoreDifference
from ponder.lab.study.store import StudyStore
from ponder.strategies.pooling import Estimator, PoolView
from ponder.tasks import oracle
from ponder.tasks.base import Item

Requests = Mapping[tuple[str, str, str], Mapping[str, Any]]


@dataclass(frozen=True)
class StudyView:
    """What a provider reads: the store, its problems in study order, its requests by
    (model, problem id, kind) as `StudyStore.requests` gives them."""

    store: StudyStore
    items: Sequence[Item]
    requests: Requests


Provider = Callable[[StudyView, str, str], "np.ndarray | None"]


@dataclass(frozen=True)
class ScoreAxis:
    name: str
    description: str  # what a value means, for the summary and the report
    provide: Provider


AXES: dict[str, ScoreAxis] = {}


def register_axis(axis: ScoreAxis) -> ScoreAxis:
    """Add an axis to every study analysed from now on (see the module docstring's contract)."""
    AXES[axis.name] = axis
    return axis


def checks(study: StudyView, model: str, kind: str) -> np.ndarray | None:
    """The oracle's partial credit: `oracle.grade` of each answer, the verdict (0 or 1) for an item
    whose family gives none; None where no item of the study gives partial credit."""
    graded = [oracle.grade(item, None) is not None for item in study.items]
    if not any(graded) or not kind.startswith(("pool", "run:")):
        return None
    rows = [study.requests[(model, item.id, kind)] for item in study.items]

    def value(item: Item, grades: bool, answer: str | None, correct: bool) -> float:
        g = oracle.grade(item, answer) if grades else None
        return float(correct) if g is None else g

    if kind.startswith("run:"):
        return np.array(
            [
                value(i, g, r["answer"], bool(r["correct"]))
                for i, g, r in zip(study.items, graded, rows, strict=True)
            ]
        )
    pools = [study.store.samples(int(r["id"])) for r in rows]
    return np.array(
        [
            [value(i, g, s.answer, s.correct) for s in pool]
            for i, g, pool in zip(study.items, graded, pools, strict=True)
        ]
    )


register_axis(
    ScoreAxis(
        "checks",
        "the oracle's partial credit: the share of the task's checks the answer keeps "
        "(a family without partial credit: its verdict, 0 or 1)",
        checks,
    )
)


def axis_values(study: StudyView, model: str, kind: str) -> dict[str, np.ndarray]:
    """Every registered axis's values for one model's requests of one kind, checked; an axis
    whose provider has none is left out."""
    out: dict[str, np.ndarray] = {}
    for axis in AXES.values():
        values = axis.provide(study, model, kind)
        if values is None:
            continue
        values = np.asarray(values, dtype=np.float64)
        want = 2 if kind.startswith("pool") else 1
        if values.ndim != want or values.shape[0] != len(study.items):
            raise ValueError(f"score axis {axis.name!r}: {kind} values of shape {values.shape}")
        if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
            raise ValueError(f"score axis {axis.name!r}: {kind} values outside [0, 1]")
        out[axis.name] = values
    return out


@dataclass
class Graded:
    """A pooled strategy's expected value on one axis at each budget, and how it was derived."""

    values: np.ndarray  # (P, len(ks)) in [0, 1]
    info: dict[str, Any] = field(default_factory=dict)


def group_means(labels: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, int]:
    """Each answered sample's value replaced by its group's mean where a group's members differ;
    and on how many problems that happened. Unanswered samples (label −1) keep their own."""
    out = values.copy()
    mixed = 0
    for p in range(labels.shape[0]):
        changed = False
        for label in np.unique(labels[p][labels[p] >= 0]):
            members = labels[p] == label
            if np.ptp(values[p, members]) > 0:
                out[p, members] = values[p, members].mean()
                changed = True
        mixed += changed
    return out, mixed


def score_estimate(estimate: Estimator, view: PoolView, values: np.ndarray, ks: Sequence[int]) -> Graded:
    """The estimator's expected value of the pick on an axis (the layer cake: module docstring).

    1. Group means where a vote's group holds different values.
    2. Per problem, its distinct positive values t₁ < t₂ < … ; threshold i of a problem with fewer
       values marks nothing and weighs nothing.
    3. Per threshold i, the estimator on the verdicts 1[v ≥ tᵢ], weighted by tᵢ − tᵢ₋₁, summed.
    """
    v, mixed = group_means(view.labels, np.asarray(values, dtype=np.float64))
    problems = v.shape[0]
    levels = [np.unique(row[row > 0]) for row in v]
    depth = max((lv.size for lv in levels), default=0)
    out = np.zeros((problems, len(ks)))
    methods: set[str] = set()
    bound = np.zeros(len(ks))  # the Monte Carlo error the thresholds add, at most
    for i in range(depth):
        cut = np.array([lv[i] if i < lv.size else np.inf for lv in levels])
        below = np.array([lv[i - 1] if 0 < i < lv.size else 0.0 for lv in levels])
        weight = np.where(np.isfinite(cut), cut - below, 0.0)
        est = estimate(replace(view, correct=v >= cut[:, None]), ks)
        out += weight[:, None] * est.values
        methods.update(map(str, est.info.get("methods", {}).values()))
        errors = est.info.get("mc_error", {})
        bound += float(weight.max()) * np.array([float(errors.get(str(k), 0.0)) for k in ks])
    how = "exact" if methods <= {"exact"} or not methods else "; ".join(sorted(methods))
    info: dict[str, Any] = {
        "method": f"the estimator on 1[value ≥ t] at each of {depth} thresholds, weighted by their "
        f"gaps (layer cake): {how}",
        "mc_error": {str(k): float(e) for k, e in zip(ks, bound, strict=True)},
    }
    if mixed:
        info["group_mean_problems"] = mixed
    return Graded(np.clip(out, 0.0, 1.0), info)


def mean_score(values: np.ndarray) -> Score:
    """Per-problem scores' mean with its interval, as the summary keeps it."""
    ci = score_interval(values)
    return Score(mean=ci.estimate, ci_low=ci.low, ci_high=ci.high, ci_method=ci.method)


def score_difference(a: np.ndarray, b: np.ndarray) -> ScoreDifference:
    """mean(a) − mean(b), paired by problem, with its interval, as the summary keeps it."""
    d = paired_score_difference(a, b)
    return ScoreDifference(difference=d.estimate, ci_low=d.low, ci_high=d.high, ci_method=d.method)
