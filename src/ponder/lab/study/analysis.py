"""From the study store to the numbers: accuracy against compute, with intervals.

For each model, strategy and budget, one value per problem, then an interval over problems
(`ponder.lab.intervals`: Wilson for binary rows, Wilson on the mean for fractional ones):
- `sc@k` and `bon@k:scorer=vote`: maj@k, the expected majority vote over k-subsets of the pool;
- `bon@k` (logprob scorer): the exact expected correctness of the best-scored sample of a k-subset;
- `coverage@k`: pass@k (Chen et al. 2021), the chance that a k-subset holds a correct sample;
- `cot`, `direct`: the recorded run.
The series and their charged compute come from `series.py`; this module turns them into the typed
summary (`summary.py`): rows, the frontier, the coverage law, difficulty bins, the headline and the
named comparisons, and each strategy read at the compute of each point run as written
(`matched.py`). Where the study has score axes (`scores.py`: partial credit), each row, comparison
and reading carries the mean score per axis with its interval (`score_intervals.py`: a t interval
with a pseudo-problem at each bound, never Wilson on a non-binary mean). It decides numbers only;
`findings.py` puts them into sentences. Every row names its derived figures (`derived`) and its
`seconds_method`.

Everything here is a function of the store: the same store gives the same summary.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ponder.lab import estimators as est
from ponder.lab import intervals, stats
from ponder.lab.study import findings
from ponder.lab.study import judged as _judged  # noqa: F401  (registers the `judged` axis)
from ponder.lab.study.charges import prompt_rate
from ponder.lab.study.config import StudyConfig, compare_points, pooling
from ponder.lab.study.matched import matched
from ponder.lab.study.scores import AXES, StudyView, axis_values, mean_score, score_difference
from ponder.lab.study.series import (
    Pool,
    ScorePass,
    Series,
    hosted_price,
    load_pool,
    load_score_pass,
    load_timing,
    pool_series,
    run_series,
    spec_name,
)
from ponder.lab.study.store import StudyStore
from ponder.lab.study.summary import (
    Bin,
    Comparison,
    CoverageLaw,
    Estimator,
    Headline,
    Point,
    Provenance,
    Row,
    ScoreDifference,
    Summary,
)
from ponder.strategies.pooling import majority, pool_kind, timing_prefix

BINS = 5


def row(series: Series) -> Row:
    ci = intervals.mean_interval(series.values)
    coverage = gap = None
    if series.coverage is not None:  # a pool strategy; coverage itself selects nothing, so no gap
        coverage = float(series.coverage.mean())
        gap = coverage - ci.estimate if series.selection else 0.0
    samples = series.extra.get("mean_samples")  # a strategy that stops early: derived by replay
    thinking = float(series.thinking.mean()) if series.thinking is not None else None
    return Row(
        model=series.model,
        strategy=series.strategy,
        budget=series.budget,
        accuracy=ci.estimate,
        ci_low=ci.low,
        ci_high=ci.high,
        ci_method=ci.method,
        mean_completion_tokens=float(series.tokens.mean()),
        mean_thinking_tokens=thinking,
        mean_flops=float(series.flops.mean()),
        mean_seconds=float(series.seconds.mean()),
        mean_cost_usd=float(series.cost.mean()),
        mean_cached_prompt_tokens=float(series.cached.mean()),
        mean_cache_saved_flops=float(series.saved_flops.mean()),
        seconds_method=series.seconds_method,
        derived=(*series.derived, *(("mean_samples",) if samples is not None else ())),
        truncated_rate=float(series.truncated.mean()),
        problems=int(series.values.size),
        coverage=coverage,
        selection_gap=gap,
        mean_samples=samples,
        scores={name: mean_score(v) for name, v in series.scores.items()} or None,
    )


def score_differences(a: Series, b: Series) -> dict[str, ScoreDifference] | None:
    """a − b in mean score on each axis both carry, paired by problem; None where they share none."""
    names = sorted(a.scores.keys() & b.scores.keys())
    return {name: score_difference(a.scores[name], b.scores[name]) for name in names} or None


def difficulty_bins(pass1: np.ndarray) -> np.ndarray:
    """Quintiles of pass@1 (Snell et al. 2024): bin 0 is the hardest fifth; ties keep problem order."""
    order = np.argsort(pass1, kind="stable")
    bins = np.empty(len(pass1), dtype=np.int64)
    for b, chunk in enumerate(np.array_split(order, BINS)):
        bins[chunk] = b
    return bins


def coverage_law(pool: Pool) -> CoverageLaw | None:
    """The law fitted on pass@k at every k = 1…n, with its residuals and held-out check."""
    n = pool.correct.shape[1]
    ks = list(range(1, n + 1))
    cov = est.pass_at_k_curve(pool.correct, ks).mean(axis=0)
    return stats.fit_coverage_law(ks, list(map(float, cov)))


def analyse(config: StudyConfig, store: StudyStore, provenance: Provenance) -> Summary:
    items = store.problems()
    ids = [i.id for i in items]
    requests = {(r["model"], r["problem_id"], r["kind"]): r for r in store.requests()}
    calls = store.calls()
    series: list[Series] = []
    estimators: dict[str, Any] = {}
    pools: dict[str, Pool] = {}
    notes: list[str] = []
    study = StudyView(store, items, requests)
    for model in config.models:
        mine = [c for (m, _, _), r in requests.items() if m == model for c in calls.get(r["id"], [])]
        rate = prompt_rate(mine)
        hosted = hosted_price(model)
        priced = hosted is None or hosted[0].token_cost(hosted[1], 1, 0, 1) is not None
        notes += findings.model_notes(model, calls_stored=bool(mine), prompt_rate=rate, priced=priced)
        drawn = {
            name: load_pool(store, model, ids, requests, calls, rate, hosted, pool_kind(name))
            for name in config.pools(model)
        }
        timings = {
            name: load_timing(model, requests, calls, rate, hosted, timing_prefix(name)) for name in drawn
        }
        passes: dict[tuple[str, str], ScorePass] = {}
        pool_axes = {name: axis_values(study, model, pool_kind(name)) for name in drawn}

        def run_axes(kind: str, model: str = model) -> dict[str, np.ndarray]:
            return axis_values(study, model, kind)

        if drawn:  # difficulty and the coverage law read the chain-of-thought pool where there is one
            pools[model] = drawn.get("cot", next(iter(drawn.values())))
        for spec in config.specs(model):
            how = pooling(spec)  # the registry says whether and how a strategy is pooled
            if how is not None:
                scored = None
                if how.scorer is not None:
                    key = (how.scorer, how.pool)
                    if key not in passes:
                        passes[key] = load_score_pass(
                            store, model, ids, requests, calls, rate, hosted, how.scorer, how.pool
                        )
                    scored = passes[key]
                made, info = pool_series(
                    config, model, drawn[how.pool], spec, ids, timings[how.pool], rate, hosted, scored,
                    pool_axes[how.pool],
                )  # fmt: skip
                if info:
                    estimators[f"{model} {spec_name(spec)}"] = info
            else:
                made = run_series(config, model, ids, spec, requests, store, calls, rate, hosted, run_axes)
            series += made
    voters = [spec_name(s) for s in config.specs() if (how := pooling(s)) and how.estimate is majority]
    notes += findings.text_vote_notes({i.answer_format for i in items}, list(dict.fromkeys(voters)))
    if "rubric" in config.judges and any(
        (how := pooling(s)) is not None and how.scorer == "rubric" for s in config.specs()
    ):
        notes.append(
            "bon:scorer=rubric selects by the same rubric judge whose reader criteria make the "
            "`judged` axis: its judged score is inflated by construction; compare it on `checks`"
        )
    selection = [s for s in series if s.selection]
    axes = {name: AXES[name].description for s in series for name in s.scores}
    frontier = stats.pareto_frontier([(float(s.flops.mean()), float(s.values.mean())) for s in selection])
    return Summary(
        provenance=provenance,
        rows=tuple(row(s) for s in series),
        frontier=tuple(_point(selection[i]) for i in frontier),
        coverage_law={model: coverage_law(pool) for model, pool in pools.items()},
        difficulty=_difficulty(pools, selection),
        headline=_headline(selection),
        comparisons=tuple(_compare(series, pair) for pair in config.compare),
        matched=tuple(matched(series)),
        estimators={name: Estimator.from_dict(info) for name, info in estimators.items()},
        notes=tuple(notes),
        score_axes=dict(sorted(axes.items())) or None,
        judging=_judging(config, store),
    )


def _judging(config: StudyConfig, store: StudyStore) -> dict[str, Any] | None:
    """The judges' agreement with the oracle and their position bias, where the study ran any."""
    if not config.judges:
        return None
    from ponder.lab import judging

    return {
        "agreement": [a.to_dict() for a in judging.agreement(store, seed=config.seed)],
        "position_bias": [b.to_dict() for b in judging.position_bias(store, seed=config.seed)],
        "method": "judging.py: each rule's verdict by the judge against the program's; "
        "intervals by percentile bootstrap over problems",
    }


def _difficulty(pools: dict[str, Pool], selection: list[Series]) -> dict[str, tuple[Bin, ...]]:
    """Per pass@1 quintile, each point's accuracy with its interval; a best point only where its
    interval clears every other's (with ~4 problems a bin, it rarely does)."""
    out: dict[str, tuple[Bin, ...]] = {}
    for model, pool in pools.items():
        pass1 = pool.correct.mean(axis=1)
        bins = difficulty_bins(pass1)
        mine = [s for s in selection if s.model == model]
        if not mine:
            continue
        per_bin = []
        for b in range(BINS):
            mask = bins == b
            if not mask.any():
                continue
            cis = {f"{s.strategy}@{s.budget}": intervals.mean_interval(s.values[mask]) for s in mine}
            ranked = sorted(mine, key=lambda s: (-float(s.values[mask].mean()), float(s.flops[mask].mean())))
            top = ranked[0]
            top_ci = cis[f"{top.strategy}@{top.budget}"]
            clear = all(top_ci.low > cis[f"{s.strategy}@{s.budget}"].high for s in ranked[1:])
            per_bin.append(
                Bin(
                    bin=b,
                    problems=int(mask.sum()),
                    pass1_low=float(pass1[mask].min()),
                    pass1_high=float(pass1[mask].max()),
                    best_strategy=top.strategy if clear else None,
                    best_budget=top.budget if clear else None,
                    best_accuracy=float(top.values[mask].mean()) if clear else None,
                    accuracy={name: ci.estimate for name, ci in cis.items()},
                    ci_low={name: ci.low for name, ci in cis.items()},
                    ci_high={name: ci.high for name, ci in cis.items()},
                )
            )
        out[model] = tuple(per_bin)
    return out


def _headline(selection: list[Series]) -> Headline | None:
    """The small model's best point at no more FLOPs than the large model's cheapest (answering
    once); with one model, its best point against its own cheapest. Small and large are told apart
    by the FLOPs of their cheapest points, so the small model's cheapest point always meets the
    condition. The best is chosen among M points after seeing the data, so its interval is
    Bonferroni-adjusted over the M. With one model there is no FLOPs condition, and the sentence
    states the FLOPs ratio instead of claiming one."""
    if not selection:
        return None

    def cheapest(model: str) -> float:
        return min(float(s.flops.mean()) for s in selection if s.model == model)

    ranked = sorted({s.model for s in selection}, key=cheapest)
    small, large = ranked[0], ranked[-1]
    theirs = [s for s in selection if s.model == large]
    baseline = min(theirs, key=lambda s: (float(s.flops.mean()), s.budget))
    ours = [s for s in selection if s.model == small and s is not baseline]
    if not ours:
        return None
    limit = float(baseline.flops.mean())
    # FLOPs unknown (no parameter count: all zero): no condition can be claimed on them.
    conditioned = small != large and limit > 0
    affordable = [s for s in ours if float(s.flops.mean()) <= limit] if conditioned else ours
    best = max(affordable, key=lambda s: (float(s.values.mean()), -float(s.flops.mean())))
    chosen_among = len(affordable)
    z = intervals.bonferroni_z(chosen_among)
    diff = intervals.paired_difference(best.values, baseline.values, z)
    ratio = float(best.flops.mean()) / limit if limit > 0 else None
    a, b = _point(best), _point(baseline)
    condition = findings.flops_condition(b) if conditioned else None
    return Headline(
        a=a,
        b=b,
        difference=diff.estimate,
        ci_low=diff.low,
        ci_high=diff.high,
        ci_method=diff.method + (f", Bonferroni over {chosen_among}" if chosen_among > 1 else ""),
        chosen_among=chosen_among,
        flops_condition=condition,
        flops_ratio=ratio,
        sentence=findings.headline_sentence(a, b, diff, chosen_among, ratio, condition),
    )


def _compare(series: list[Series], pair: str) -> Comparison:
    """A pair the user named in advance, with the paired interval of the accuracy difference."""
    found = []
    for model, strategy, budget in compare_points(pair):
        found.append(next(s for s in series if (s.model, s.strategy, s.budget) == (model, strategy, budget)))
    a, b = _point(found[0]), _point(found[1])
    diff = intervals.paired_difference(found[0].values, found[1].values)
    return Comparison(
        pair=pair,
        a=a,
        b=b,
        difference=diff.estimate,
        ci_low=diff.low,
        ci_high=diff.high,
        ci_method=diff.method,
        sentence=findings.comparison_sentence(a, b, diff),
        scores=score_differences(found[0], found[1]),
    )


def _point(s: Series) -> Point:
    return Point(
        model=s.model,
        strategy=s.strategy,
        budget=s.budget,
        accuracy=float(s.values.mean()),
        mean_flops=float(s.flops.mean()),
    )
