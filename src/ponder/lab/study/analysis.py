"""From the study store to the numbers: accuracy against compute, with intervals.

For each model, strategy and budget, one value per problem, then an interval over problems
(`ponder.lab.intervals`: Wilson for binary rows, Wilson on the mean for fractional ones):
- `sc@k` and `bon@k:scorer=vote`: maj@k, the expected majority vote over k-subsets of the pool;
- `bon@k` (logprob scorer): the exact expected correctness of the best-scored sample of a k-subset;
- `coverage@k`: pass@k (Chen et al. 2021), the chance that a k-subset holds a correct sample;
- `cot`, `direct`: the recorded run.
Compute is charged as the strategy would cost run alone on a fresh problem (`charges.py`). At a pool
budget k: FLOPs are 2·parameters·(prompt + k × the pool's mean completion), an estimate from the
pool; seconds come from the engine's batching curve measured on the study's own prompts (`timing:k`
requests), or are measured for real where every problem was timed, or, without timing requests,
prorated by token share. Every row names its derived figures (`derived`) and its `seconds_method`.

Everything here is a function of the store: the same store gives the same summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ponder.lab import estimators as est
from ponder.lab import intervals, stats
from ponder.lab.study.charges import Charge, charge, prompt_rate
from ponder.lab.study.config import POOL_STRATEGIES, StudyConfig, compare_points
from ponder.lab.study.store import StudyStore
from ponder.models import prices
from ponder.specs import Spec

BINS = 5
MEASURED = "measured: each budget requested for real on every problem"
PRORATED = "prorated from the pool by token share (estimate; no timing requests)"
RUN_SECONDS = "recorded, plus the cached prompt at the engine's prompt rate (derived)"


@dataclass
class Series:
    """One row of the summary, with its per-problem values kept for pairing."""

    model: str
    strategy: str
    budget: int
    values: np.ndarray  # per problem, in [0, 1]
    tokens: np.ndarray
    flops: np.ndarray
    seconds: np.ndarray
    cost: np.ndarray
    truncated: np.ndarray
    cached: np.ndarray  # recorded cache hits of the independent requests behind the point
    saved_flops: np.ndarray  # what the cache saved while measuring: charged − recorded FLOPs
    seconds_method: str = RUN_SECONDS
    derived: tuple[str, ...] = ("mean_flops", "mean_seconds", "mean_cost_usd")
    coverage: np.ndarray | None = None
    selection: bool = True  # False for coverage: an oracle picks, not the model
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Pool:
    correct: np.ndarray  # (P, n) bool
    labels: np.ndarray  # (P, n) int, -1 for no answer
    scores: np.ndarray  # (P, n) float, -inf where unscored
    valid: np.ndarray  # (P, n) bool
    completion: np.ndarray  # (P, n)
    truncated: np.ndarray  # (P,) fraction of samples cut at max_tokens
    charges: list[Charge]  # (P,) the pool requests, charged
    prompt_seconds: np.ndarray  # (P,) the engine's own prompt time of each pool request


def _spec_name(spec: Spec) -> str:
    """A strategy without its budget: `bon:scorer=vote`."""
    return str(Spec(spec.name, None, spec.params, spec.inner))


def load_pool(
    store: StudyStore,
    model: str,
    ids: list[str],
    requests: dict[tuple[str, str, str], dict[str, Any]],
    calls: dict[int, list[dict[str, Any]]],
    rate: float,
) -> Pool:
    rows = [requests[(model, pid, "pool")] for pid in ids]
    samples = [store.samples(r["id"]) for r in rows]
    n = len(samples[0])
    P = len(ids)
    correct = np.zeros((P, n), dtype=bool)
    labels = np.full((P, n), -1, dtype=np.int64)
    scores = np.full((P, n), -np.inf)
    completion = np.zeros((P, n))
    truncated = np.zeros(P)
    for i, pool in enumerate(samples):
        ids_of: dict[str, int] = {}
        for j, s in enumerate(pool):
            correct[i, j] = s.correct
            if s.answer is not None:
                labels[i, j] = ids_of.setdefault(s.answer, len(ids_of))
            if s.score is not None:
                scores[i, j] = s.score
            completion[i, j] = s.completion_tokens
        truncated[i] = np.mean([s.finish_reason == "length" for s in pool])
    return Pool(
        correct=correct,
        labels=labels,
        scores=scores,
        valid=labels >= 0,
        completion=completion,
        truncated=truncated,
        charges=[charge(r, calls.get(r["id"], []), rate, _hosted(model)) for r in rows],
        prompt_seconds=np.array([sum(c["prompt_seconds"] for c in calls.get(r["id"], [])) for r in rows]),
    )


def _hosted(model: str) -> tuple[prices.PriceTable, str] | None:
    return (prices.load(), model.removeprefix("openai:")) if model.startswith("openai:") else None


@dataclass
class Timing:
    """The batching calibration of one model: `timing:k` requests on the first problems."""

    seconds: dict[tuple[str, int], float]  # (problem, k) → charged seconds of the timed request
    decode: dict[tuple[str, int], float]  # (problem, k) → recorded seconds less the engine's prompt time


def load_timing(
    model: str,
    requests: dict[tuple[str, str, str], dict[str, Any]],
    calls: dict[int, list[dict[str, Any]]],
    rate: float,
) -> Timing:
    seconds: dict[tuple[str, int], float] = {}
    decode: dict[tuple[str, int], float] = {}
    for (m, pid, kind), r in requests.items():
        if m != model or not kind.startswith("timing:"):
            continue
        k = int(kind.removeprefix("timing:"))
        mine = calls.get(r["id"], [])
        seconds[(pid, k)] = charge(r, mine, rate, _hosted(model)).seconds
        decode[(pid, k)] = r["wall_seconds"] - sum(c["prompt_seconds"] for c in mine)
    return Timing(seconds, decode)


def _pool_seconds(
    pool: Pool, ids: list[str], timing: Timing, rate: float, k: int, n: int
) -> tuple[np.ndarray, str]:
    """Seconds of one request of k samples per problem, and how they were found."""
    charged = np.array([c.seconds for c in pool.charges])
    if k == n:
        return charged, "recorded (the pool itself), cached prompt charged"
    if all((pid, k) in timing.seconds for pid in ids):
        return np.array([timing.seconds[(pid, k)] for pid in ids]), MEASURED
    timed = [i for i, pid in enumerate(ids) if (pid, k) in timing.decode]
    prompt_time = np.array([c.prompt_tokens for c in pool.charges]) * rate
    if timed:
        pool_decode = sum(pool.charges[i].seconds_recorded - float(pool.prompt_seconds[i]) for i in timed)
        k_decode = sum(timing.decode[(ids[i], k)] for i in timed)
        if pool_decode > 0:
            ratio = k_decode / pool_decode
            method = f"batching curve measured on {len(timed)} problems (estimate)"
            return prompt_time + ratio * np.maximum(charged - prompt_time, 0.0), method
    prompt = np.array([c.prompt_tokens for c in pool.charges])
    mean = pool.completion.mean(axis=1)
    whole = prompt + n * mean
    share = np.divide(prompt + k * mean, whole, out=np.ones_like(whole), where=whole > 0)
    return charged * share, PRORATED


def pool_series(
    config: StudyConfig, model: str, pool: Pool, spec: Spec, ids: list[str], timing: Timing, rate: float
) -> tuple[list[Series], dict[str, Any]]:
    ks = config.ladder(spec)
    n = pool.correct.shape[1]
    info: dict[str, Any] = {}
    coverage = est.pass_at_k_curve(pool.correct, ks)
    if spec.name == "coverage":
        values = coverage
    elif (
        spec.name == "sc"
        or spec.params.get("scorer") == "vote"
        or not np.isfinite(pool.scores).any()  # no logprobs: bon falls back to the vote, as the strategy does
    ):
        curve = est.majority_curve(pool.labels, pool.correct, ks, seed=config.seed)
        values = curve.values
        info = {"methods": dict(zip(map(str, ks), curve.method, strict=True)),
                "mc_error": dict(zip(map(str, ks), map(float, curve.mc_error), strict=True))}  # fmt: skip
    else:
        values = est.best_of_k_curve(pool.scores, pool.correct, ks, valid=pool.valid)
    mean_completion = pool.completion.mean(axis=1)
    prompt = np.array([c.prompt_tokens for c in pool.charges])
    per_token = np.array([c.per_token_flops for c in pool.charges])
    cached = np.array([c.cached_first for c in pool.charges])
    hosted = _hosted(model)
    out = []
    for j, k in enumerate(ks):
        seconds, method = _pool_seconds(pool, ids, timing, rate, k, n)
        if hosted is not None:  # hosted: price the request's own tokens, its prompt uncached
            table, name = hosted
            cost = np.array(
                [table.token_cost(name, int(p), 0, round(k * m)) or 0.0
                 for p, m in zip(prompt, mean_completion, strict=True)]
            )  # fmt: skip
        else:  # local: dollars follow the time on the cores
            cost = seconds * np.array([c.cost_per_second for c in pool.charges])
        out.append(
            Series(
                model=model,
                strategy=_spec_name(spec),
                budget=k,
                values=values[:, j],
                tokens=k * mean_completion,
                flops=per_token * (prompt + k * mean_completion),
                seconds=seconds,
                cost=cost,
                truncated=pool.truncated,
                cached=cached,
                saved_flops=per_token * cached,
                seconds_method=method,
                derived=("mean_completion_tokens", "mean_flops", "mean_seconds", "mean_cost_usd"),
                coverage=coverage[:, j],
                selection=spec.name != "coverage",
            )
        )
    return out, info


def run_series(
    config: StudyConfig,
    model: str,
    ids: list[str],
    spec: Spec,
    requests: dict[tuple[str, str, str], dict[str, Any]],
    store: StudyStore,
    calls: dict[int, list[dict[str, Any]]],
    rate: float,
) -> list[Series]:
    out = []
    hosted = _hosted(model)
    for k in config.ladder(spec):
        at = spec if spec.name in ("cot", "direct") else Spec(spec.name, k, spec.params, spec.inner)
        rows = [requests[(model, pid, f"run:{at}")] for pid in ids]
        charges = [charge(r, calls.get(r["id"], []), rate, hosted) for r in rows]
        truncated = np.array(
            [
                np.mean([float(s.finish_reason == "length") for s in store.samples(r["id"])] or [0.0])
                for r in rows
            ]
        )
        out.append(
            Series(
                model=model,
                strategy=_spec_name(spec),
                budget=k,
                values=np.array([float(r["correct"]) for r in rows]),
                tokens=np.array([c.completion_tokens for c in charges]),
                flops=np.array([c.flops for c in charges]),
                seconds=np.array([c.seconds for c in charges]),
                cost=np.array([c.cost for c in charges]),
                truncated=truncated,
                cached=np.array([c.cached_first for c in charges]),
                saved_flops=np.array([c.flops - c.flops_recorded for c in charges]),
            )
        )
    return out


def row(series: Series) -> dict[str, Any]:
    ci = intervals.mean_interval(series.values)
    out: dict[str, Any] = {
        "model": series.model,
        "strategy": series.strategy,
        "budget": series.budget,
        "accuracy": ci.estimate,
        "ci_low": ci.low,
        "ci_high": ci.high,
        "ci_method": ci.method,
        "mean_completion_tokens": float(series.tokens.mean()),
        "mean_flops": float(series.flops.mean()),
        "mean_seconds": float(series.seconds.mean()),
        "mean_cost_usd": float(series.cost.mean()),
        "mean_cached_prompt_tokens": float(series.cached.mean()),
        "mean_cache_saved_flops": float(series.saved_flops.mean()),
        "seconds_method": series.seconds_method,
        "derived": list(series.derived),
        "truncated_rate": float(series.truncated.mean()),
        "problems": int(series.values.size),
    }
    if series.coverage is not None:
        out["coverage"] = float(series.coverage.mean())
        out["selection_gap"] = out["coverage"] - ci.estimate if series.selection else 0.0
    return out


def difficulty_bins(pass1: np.ndarray) -> np.ndarray:
    """Quintiles of pass@1 (Snell et al. 2024): bin 0 is the hardest fifth; ties keep problem order."""
    order = np.argsort(pass1, kind="stable")
    bins = np.empty(len(pass1), dtype=np.int64)
    for b, chunk in enumerate(np.array_split(order, BINS)):
        bins[chunk] = b
    return bins


def coverage_law(pool: Pool) -> dict[str, Any] | None:
    """The law fitted on pass@k at every k = 1…n, with its residuals and held-out check."""
    n = pool.correct.shape[1]
    ks = list(range(1, n + 1))
    cov = est.pass_at_k_curve(pool.correct, ks).mean(axis=0)
    law = stats.fit_coverage_law(ks, list(map(float, cov)))
    if law is None:
        return None
    return {
        "a": law.a,
        "b": law.b,
        "r2": law.r2,
        "points": law.points,
        "ks": list(law.ks),
        "residuals": list(law.residuals),
        "max_abs_residual": law.max_abs_residual,
        "holdout_k": law.holdout_k,
        "holdout_predicted": law.holdout_predicted,
        "holdout_observed": law.holdout_observed,
        "holdout_error": law.holdout_error,
    }


def analyse(config: StudyConfig, store: StudyStore) -> dict[str, Any]:
    items = store.problems()
    ids = [i.id for i in items]
    requests = {(r["model"], r["problem_id"], r["kind"]): r for r in store.requests()}
    calls = store.calls()
    series: list[Series] = []
    estimators: dict[str, Any] = {}
    pools: dict[str, Pool] = {}
    notes: list[str] = []
    for model in config.models:
        mine = [c for (m, _, _), r in requests.items() if m == model for c in calls.get(r["id"], [])]
        rate = prompt_rate(mine)
        if not mine:
            notes.append(
                f"{model}: this study was stored before its calls were; cached prompts add no seconds"
            )
        elif rate == 0.0:
            notes.append(
                f"{model}: the engine reported no prompt timings, so cached prompt tokens add no seconds"
            )
        if (
            model.startswith("openai:")
            and prices.load().token_cost(model.removeprefix("openai:"), 1, 0, 1) is None
        ):
            notes.append(f"{model}: dollars not counted (no price in PONDER_HOME/prices.toml): shown as 0")
        timing = load_timing(model, requests, calls, rate)
        if config.pool_size(model) > 0:
            pools[model] = load_pool(store, model, ids, requests, calls, rate)
        for spec in config.specs(model):
            if spec.name in POOL_STRATEGIES:
                made, info = pool_series(config, model, pools[model], spec, ids, timing, rate)
                if info:
                    estimators[f"{model} {_spec_name(spec)}"] = info
            else:
                made = run_series(config, model, ids, spec, requests, store, calls, rate)
            series += made
    rows = [row(s) for s in series]
    selection = [s for s in series if s.selection]
    frontier = stats.pareto_frontier([(float(s.flops.mean()), float(s.values.mean())) for s in selection])
    return {
        "rows": rows,
        "frontier": [
            {
                "model": selection[i].model,
                "strategy": selection[i].strategy,
                "budget": selection[i].budget,
                "accuracy": float(selection[i].values.mean()),
                "mean_flops": float(selection[i].flops.mean()),
            }
            for i in frontier
        ],
        "coverage_law": {model: coverage_law(pool) for model, pool in pools.items()},
        "difficulty": _difficulty(pools, selection),
        "headline": _headline(selection),
        "comparisons": [_compare(series, pair) for pair in config.compare],
        "estimators": estimators,
        "notes": notes,
    }


def _difficulty(pools: dict[str, Pool], selection: list[Series]) -> dict[str, Any]:
    """Per pass@1 quintile, each point's accuracy with its interval; a best point only where its
    interval clears every other's (with ~4 problems a bin, it rarely does)."""
    out: dict[str, Any] = {}
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
                {
                    "bin": b,
                    "problems": int(mask.sum()),
                    "pass1_low": float(pass1[mask].min()),
                    "pass1_high": float(pass1[mask].max()),
                    "best_strategy": top.strategy if clear else None,
                    "best_budget": top.budget if clear else None,
                    "best_accuracy": float(top.values[mask].mean()) if clear else None,
                    "accuracy": {name: ci.estimate for name, ci in cis.items()},
                    "ci_low": {name: ci.low for name, ci in cis.items()},
                    "ci_high": {name: ci.high for name, ci in cis.items()},
                }
            )
        out[model] = per_bin
    return out


def _sentence_point(s: Series) -> str:
    return f"{s.model} with {s.strategy}@{s.budget}"


def _headline(selection: list[Series]) -> dict[str, Any] | None:
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
    affordable = [s for s in ours if float(s.flops.mean()) <= limit] if small != large and limit > 0 else ours
    best = max(affordable, key=lambda s: (float(s.values.mean()), -float(s.flops.mean())))
    chosen_among = len(affordable)
    z = intervals.bonferroni_z(chosen_among)
    diff = intervals.paired_difference(best.values, baseline.values, z)
    ratio = float(best.flops.mean()) / limit if limit > 0 else None
    cost = f"using {ratio:.2f}x its FLOPs" if ratio is not None else "FLOPs unknown"
    scores = (
        f"scores {100 * best.values.mean():.0f}% against {100 * baseline.values.mean():.0f}% for "
        f"{_sentence_point(baseline)}, {cost}: a difference of "
        f"{100 * diff.estimate:+.1f} points (95% CI {100 * diff.low:+.1f} to {100 * diff.high:+.1f}"
    )
    if small == large or limit <= 0:
        sentence = (
            f"{_sentence_point(best)}, the best of its {chosen_among} points, {scores}, "
            f"adjusted for choosing the best of {chosen_among})."
        )
    else:
        sentence = (
            f"{_sentence_point(best)}, the best of its {chosen_among} points at no more FLOPs than "
            f"{_sentence_point(baseline)}, {scores}, adjusted for choosing the best of {chosen_among})."
        )
    return {
        "a": _point(best),
        "b": _point(baseline),
        "difference": diff.estimate,
        "ci_low": diff.low,
        "ci_high": diff.high,
        "ci_method": diff.method + (f", Bonferroni over {chosen_among}" if chosen_among > 1 else ""),
        "chosen_among": chosen_among,
        "flops_condition": (
            None if small == large or limit <= 0 else f"at no more FLOPs than {_sentence_point(baseline)}"
        ),
        "flops_ratio": ratio,
        "sentence": sentence,
    }


def _compare(series: list[Series], pair: str) -> dict[str, Any]:
    """A pair the user named in advance, with the paired interval of the accuracy difference."""
    found = []
    for model, strategy, budget in compare_points(pair):
        found.append(next(s for s in series if (s.model, s.strategy, s.budget) == (model, strategy, budget)))
    a, b = found
    diff = intervals.paired_difference(a.values, b.values)
    return {
        "pair": pair,
        "a": _point(a),
        "b": _point(b),
        "difference": diff.estimate,
        "ci_low": diff.low,
        "ci_high": diff.high,
        "ci_method": diff.method,
        "sentence": (
            f"{_sentence_point(a)} minus {_sentence_point(b)}: "
            f"{100 * diff.estimate:+.1f} points (95% CI {100 * diff.low:+.1f} to {100 * diff.high:+.1f})."
        ),
    }


def _point(s: Series) -> dict[str, Any]:
    return {
        "model": s.model,
        "strategy": s.strategy,
        "budget": s.budget,
        "accuracy": float(s.values.mean()),
        "mean_flops": float(s.flops.mean()),
    }
