"""How far a judge can be trusted, measured where a program knows the answer.

A writing task's rules are criteria of its rubric (`check` kind) that the judge scores 0 or 1 like
any other, and that `check_constraint` decides exactly. Over a study's pool, every (text, rule)
pair is one paired verdict: the judge's and the program's. Per kind of rule (`words`, `include`,
`avoid`, `acrostic`, `sentences`, `last`) and over all of them:

- `accuracy`: the share of pairs where the two agree;
- `kappa`: Cohen's kappa, agreement beyond what the two base rates give by chance,
  (p_o − p_e) / (1 − p_e); None where p_e = 1 (both say the same thing of every text);
- the pairs of one problem (its texts, its rules) are not independent, so every interval treats
  the problem as the unit (a Wilson interval over pairs would be too narrow). The accuracy's 95%
  interval is `score_interval` (a t interval with a pseudo-problem at 0 and at 1, whose coverage
  `score_intervals.py` measures) over the per-problem agreement rates, widened where needed to hold
  the pooled figure (the problems weigh by their pairs in it, equally in the rates). Kappa is not a
  mean of per-problem values: its interval is a percentile bootstrap over problems (`RESAMPLES`
  resamples of whole problems, seeded), approximate, and narrow to nothing where every problem
  agrees fully; None where the resampled kappa is undefined in over half the resamples (raters that
  never vary);
- the judge's and the program's rates of "kept", so a kappa near 0 from a judge that says "kept"
  of everything reads as what it is.

Position bias, from a pairwise pass over the pool: each comparison's P(the text shown first wins)
less 1/2, averaged (0: none; +0.5: the judge always picks the first), its interval `score_interval`
over the per-problem mean P(first) (less 1/2), widened to hold the pooled figure; and
`consistency`: the share of (pair, criterion) whose verdicts in the two orders name the same text.

Every figure is derived from the stored judge calls and the oracle; none is the oracle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ponder.lab.score_intervals import score_interval
from ponder.lab.study.store import StudyStore
from ponder.tasks.families.writing import check_constraint

RESAMPLES = 2000
ALL = "all rules"


@dataclass(frozen=True)
class Agreement:
    judge: str  # the judge's model
    model: str  # the studied model, whose pool was judged
    criterion: str  # a kind of rule, or ALL
    pairs: int
    problems: int
    accuracy: float
    accuracy_low: float
    accuracy_high: float
    kappa: float | None
    kappa_low: float | None
    kappa_high: float | None
    judge_kept: float  # the share of pairs the judge scored as kept
    program_kept: float  # the share the program found kept
    ci_method: str = (
        "accuracy: t over per-problem rates, a pseudo-problem at 0 and 1; kappa: percentile "
        "bootstrap over problems (approximate)"
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PositionBias:
    judge: str
    model: str
    comparisons: int
    problems: int
    bias: float  # mean P(first) − 1/2
    bias_low: float
    bias_high: float
    consistency: float | None  # share of (pair, criterion) whose two orders agree on the winner
    ci_method: str = "t over per-problem means, a pseudo-problem at each bound"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def kappa(judge: np.ndarray, program: np.ndarray) -> float | None:
    """Cohen's kappa of two binary raters over the same items; None where chance agreement is 1."""
    if judge.size == 0:
        return None
    p_o = float(np.mean(judge == program))
    pj, pp = float(judge.mean()), float(program.mean())
    p_e = pj * pp + (1 - pj) * (1 - pp)
    return None if p_e >= 1 - 1e-12 else (p_o - p_e) / (1 - p_e)


def _bootstrap(groups: Sequence[np.ndarray], stat: Any, seed: int) -> tuple[float | None, float | None]:
    """A percentile 95% interval of `stat` over resamples of whole groups (problems)."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(RESAMPLES):
        picked = rng.integers(0, len(groups), len(groups))
        value = stat(np.concatenate([groups[i] for i in picked]))
        if value is not None:
            values.append(value)
    if len(values) < RESAMPLES // 2:
        return None, None
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def agreement_of(
    judge: str, model: str, criterion: str, by_problem: dict[str, list[tuple[int, int]]], seed: int
) -> Agreement:
    """The agreement over paired (judge, program) verdicts, grouped by problem."""
    groups = [np.array(v, dtype=np.int8).reshape(-1, 2) for v in by_problem.values() if v]
    both = np.concatenate(groups)
    j, p = both[:, 0], both[:, 1]
    agree = int(np.sum(j == p))
    rates = score_interval([float(np.mean(g[:, 0] == g[:, 1])) for g in groups])
    pooled = agree / len(both)
    low, high = min(rates.low, pooled), max(rates.high, pooled)
    k_low, k_high = _bootstrap(groups, lambda x: kappa(x[:, 0], x[:, 1]), seed)
    return Agreement(
        judge, model, criterion, len(both), len(groups), agree / len(both), low, high,
        kappa(j, p), k_low, k_high, float(j.mean()), float(p.mean()),
    )  # fmt: skip


def _judge_models(request_id: int, calls: dict[int, list[dict[str, Any]]]) -> str:
    names = sorted({c["model"] for c in calls.get(request_id, []) if c["role"] == "judge" and c["model"]})
    return ", ".join(names) or "the policy's model"


def agreement(store: StudyStore, seed: int = 0) -> list[Agreement]:
    """Per (judge, studied model) and kind of rule, then over all rules: the judge's verdicts on a
    writing task's rules (a `score:rubric` pass's details) against the program's."""
    items = {i.id: i for i in store.problems() if i.family == "writing"}
    calls = store.calls()
    found: dict[tuple[str, str, str], dict[str, list[tuple[int, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for r in store.requests():
        if r["kind"] != "score:rubric" or r["problem_id"] not in items:
            continue
        pool_id = store.request_id(r["model"], r["problem_id"], "pool")
        if pool_id is None:
            continue
        constraints = items[r["problem_id"]].data["constraints"]
        judge = _judge_models(r["id"], calls)
        texts = [s.answer for s in store.samples(pool_id)]
        for text, detail in zip(texts, store.score_details(r["id"]), strict=False):
            if detail is None or text is None:
                continue
            for i, c in enumerate(constraints):
                said = detail["scores"].get(f"rule_{i + 1}")
                if said is None:
                    continue
                pair = (int(said >= 0.5), int(check_constraint(text, c)))
                for kind in (c["kind"], ALL):
                    found[judge, r["model"], kind][r["problem_id"]].append(pair)
    out = [agreement_of(j, m, kind, by, seed) for (j, m, kind), by in found.items()]
    return sorted(out, key=lambda a: (a.judge, a.model, a.criterion == ALL, a.criterion))


def position_bias(store: StudyStore, seed: int = 0) -> list[PositionBias]:
    """Per (judge, studied model): the pairwise pass's position bias over the pool, and how often
    its two orders agree."""
    calls = store.calls()
    firsts: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(dict)
    agree: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r in store.requests():
        if r["kind"] != "score:pairwise":
            continue
        key = (_judge_models(r["id"], calls), r["model"])
        details = store.score_details(r["id"])
        mine = [p for d in details if d for per in d["first"].values() for p in per if p is not None]
        firsts[key][r["problem_id"]] = [p - 0.5 for p in mine]
        for i, d in enumerate(details):
            if not d:
                continue
            for j, per in d["first"].items():
                other = details[int(j)]
                if int(j) <= i or not other:
                    continue
                for a, b in zip(per, other["first"][str(i)], strict=True):
                    if a is not None and b is not None and a != 0.5 and b != 0.5:
                        agree[key].append(int((a > 0.5) != (b > 0.5)))
    out = []
    for key, by in firsts.items():
        groups = [np.array(v) for v in by.values() if v]
        if not groups:
            continue
        every = np.concatenate(groups)
        per_problem = score_interval([float(g.mean()) + 0.5 for g in groups])
        pooled = float(every.mean())
        low, high = min(per_problem.low - 0.5, pooled), max(per_problem.high - 0.5, pooled)
        consistent = float(np.mean(agree[key])) if agree[key] else None
        out.append(
            PositionBias(
                key[0],
                key[1],
                len(every),
                len(groups),
                float(every.mean()),
                low if low is not None else float("nan"),
                high if high is not None else float("nan"),
                consistent,
            )
        )
    return out
