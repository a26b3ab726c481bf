"""From the study store to the numbers: accuracy against compute, with intervals.

For each model, strategy and budget, one value per problem, then a bootstrap interval over problems:
- `sc@k` and `bon@k:scorer=vote`: maj@k, the expected majority vote over k-subsets of the pool;
- `bon@k` (logprob scorer): the exact expected correctness of the best-scored sample of a k-subset;
- `coverage@k`: pass@k (Chen et al. 2021), the chance that a k-subset holds a correct sample;
- `cot`, `direct`: the recorded run.
Compute at budget k is derived from the recorded pool request: its prompt is processed once, so a
k-subset costs the uncached prompt plus k samples' share of the completion tokens; FLOPs, seconds and
dollars are the recorded pool figures prorated by that token share. Runs report what they recorded.

Everything here is a function of the store and the seed: the same store gives the same summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ponder.lab import estimators as est
from ponder.lab import stats
from ponder.lab.study.config import POOL_STRATEGIES, StudyConfig, compare_points
from ponder.lab.study.store import StudyStore
from ponder.models import prices
from ponder.specs import Spec

BINS = 5


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
    prompt_uncached: np.ndarray  # (P,)
    prompt: np.ndarray  # (P,)
    cached: np.ndarray  # (P,)
    flops: np.ndarray  # (P,) recorded
    seconds: np.ndarray
    cost: np.ndarray


def _spec_name(spec: Spec) -> str:
    """A strategy without its budget: `bon:scorer=vote`."""
    return str(Spec(spec.name, None, spec.params, spec.inner))


def load_pool(
    store: StudyStore, model: str, ids: list[str], requests: dict[tuple[str, str, str], dict[str, Any]]
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
        prompt_uncached=np.array([r["prompt_tokens"] - r["cached_prompt_tokens"] for r in rows], dtype=float),
        prompt=np.array([r["prompt_tokens"] for r in rows], dtype=float),
        cached=np.array([r["cached_prompt_tokens"] for r in rows], dtype=float),
        flops=np.array([r["flops"] for r in rows]),
        seconds=np.array([r["wall_seconds"] for r in rows]),
        cost=np.array([r["cost_usd"] for r in rows]),
    )


def pool_series(
    config: StudyConfig, model: str, pool: Pool, spec: Spec
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
    whole = pool.prompt_uncached + n * mean_completion
    hosted = model.startswith("openai:")
    table = prices.load() if hosted else None
    out = []
    for j, k in enumerate(ks):
        share = np.divide(
            pool.prompt_uncached + k * mean_completion, whole, out=np.ones_like(whole), where=whole > 0
        )
        cost = pool.cost * share  # local: dollars follow the time on the cores, prorated like seconds
        if table is not None:  # hosted: price the subset's own tokens (input, cached, output differ)
            name = model.removeprefix("openai:")
            cost = np.array(
                [
                    table.token_cost(name, int(p), int(c), round(k * m)) or 0.0
                    for p, c, m in zip(pool.prompt, pool.cached, mean_completion, strict=True)
                ]
            )
        out.append(
            Series(
                model=model,
                strategy=_spec_name(spec),
                budget=k,
                values=values[:, j],
                tokens=k * mean_completion,
                flops=pool.flops * share,
                seconds=pool.seconds * share,
                cost=cost,
                truncated=pool.truncated,
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
) -> list[Series]:
    out = []
    for k in config.ladder(spec):
        at = spec if spec.name in ("cot", "direct") else Spec(spec.name, k, spec.params, spec.inner)
        rows = [requests[(model, pid, f"run:{at}")] for pid in ids]
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
                tokens=np.array([float(r["completion_tokens"]) for r in rows]),
                flops=np.array([r["flops"] for r in rows]),
                seconds=np.array([r["wall_seconds"] for r in rows]),
                cost=np.array([r["cost_usd"] for r in rows]),
                truncated=truncated,
            )
        )
    return out


def row(series: Series, seed: int) -> dict[str, Any]:
    mean, low, high = stats.bootstrap_ci(series.values, seed=seed)
    out: dict[str, Any] = {
        "model": series.model,
        "strategy": series.strategy,
        "budget": series.budget,
        "accuracy": mean,
        "ci_low": low,
        "ci_high": high,
        "mean_completion_tokens": float(series.tokens.mean()),
        "mean_flops": float(series.flops.mean()),
        "mean_seconds": float(series.seconds.mean()),
        "mean_cost_usd": float(series.cost.mean()),
        "truncated_rate": float(series.truncated.mean()),
        "problems": int(series.values.size),
    }
    if series.coverage is not None:
        out["coverage"] = float(series.coverage.mean())
        out["selection_gap"] = out["coverage"] - mean if series.selection else 0.0
    return out


def difficulty_bins(pass1: np.ndarray) -> np.ndarray:
    """Quintiles of pass@1 (Snell et al. 2024): bin 0 is the hardest fifth; ties keep problem order."""
    order = np.argsort(pass1, kind="stable")
    bins = np.empty(len(pass1), dtype=np.int64)
    for b, chunk in enumerate(np.array_split(order, BINS)):
        bins[chunk] = b
    return bins


def analyse(config: StudyConfig, store: StudyStore) -> dict[str, Any]:
    items = store.problems()
    ids = [i.id for i in items]
    requests = {(r["model"], r["problem_id"], r["kind"]): r for r in store.requests()}
    series: list[Series] = []
    estimators: dict[str, Any] = {}
    pools: dict[str, Pool] = {}
    for model in config.models:
        if config.pool_size(model) > 0:
            pools[model] = load_pool(store, model, ids, requests)
        for spec in config.specs(model):
            if spec.name in POOL_STRATEGIES:
                made, info = pool_series(config, model, pools[model], spec)
                if info:
                    estimators[f"{model} {_spec_name(spec)}"] = info
            else:
                made = run_series(config, model, ids, spec, requests, store)
            series += made
    rows = [row(s, config.seed) for s in series]
    selection = [s for s in series if s.selection]
    frontier = stats.pareto_frontier([(float(s.flops.mean()), float(s.values.mean())) for s in selection])
    laws: dict[str, Any] = {}
    for model, pool in pools.items():
        ks = [
            k for k in range(1, pool.correct.shape[1] + 1) if k & (k - 1) == 0 or k == pool.correct.shape[1]
        ]
        cov = est.pass_at_k_curve(pool.correct, ks).mean(axis=0)
        law = stats.fit_coverage_law(ks, list(map(float, cov)))
        laws[model] = None if law is None else {"a": law.a, "b": law.b, "r2": law.r2}
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
        "coverage_law": laws,
        "difficulty": _difficulty(config, pools, selection, items),
        "headline": _headline(config, selection),
        "comparisons": [_compare(config, series, pair) for pair in config.compare],
        "estimators": estimators,
    }


def _difficulty(
    config: StudyConfig, pools: dict[str, Pool], selection: list[Series], items: list[Any]
) -> dict[str, Any]:
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
            scored = sorted(mine, key=lambda s: (-float(s.values[mask].mean()), float(s.flops[mask].mean())))
            best = scored[0]
            per_bin.append(
                {
                    "bin": b,
                    "problems": int(mask.sum()),
                    "pass1_low": float(pass1[mask].min()),
                    "pass1_high": float(pass1[mask].max()),
                    "best_strategy": best.strategy,
                    "best_budget": best.budget,
                    "best_accuracy": float(best.values[mask].mean()),
                    "accuracy": {f"{s.strategy}@{s.budget}": float(s.values[mask].mean()) for s in mine},
                }
            )
        out[model] = per_bin
    return out


def _headline(config: StudyConfig, selection: list[Series]) -> dict[str, Any] | None:
    """The small model's best point against the large model's cheapest (answering once) at no more
    FLOPs; with one model, its best point against its own cheapest. Small and large are told apart
    by the FLOPs of their cheapest points."""
    if not selection:
        return None

    def cheapest(model: str) -> float:
        return min(float(s.flops.mean()) for s in selection if s.model == model)

    ranked = sorted({s.model for s in selection}, key=cheapest)
    small, large = ranked[0], ranked[-1]
    theirs = [s for s in selection if s.model == large]
    baseline = min(theirs, key=lambda s: (float(s.flops.mean()), s.budget))
    ours = [s for s in selection if s.model == small and s is not baseline]
    affordable = [s for s in ours if float(s.flops.mean()) <= float(baseline.flops.mean())] or ours
    if not affordable:
        return None
    best = max(affordable, key=lambda s: (float(s.values.mean()), -float(s.flops.mean())))
    diff, low, high = stats.paired_bootstrap_diff(best.values, baseline.values, seed=config.seed)
    ratio = float(best.flops.mean()) / max(float(baseline.flops.mean()), 1e-9)
    sentence = (
        f"{best.model} with {best.strategy}@{best.budget} scores {100 * best.values.mean():.0f}% against "
        f"{baseline.model} with {baseline.strategy}@{baseline.budget} at "
        f"{100 * baseline.values.mean():.0f}%, "
        f"using {ratio:.2f}x its FLOPs: a difference of {100 * diff:+.1f} points "
        f"(95% CI {100 * low:+.1f} to {100 * high:+.1f})."
    )
    return {
        "a": _point(best),
        "b": _point(baseline),
        "difference": diff,
        "ci_low": low,
        "ci_high": high,
        "flops_ratio": ratio,
        "sentence": sentence,
    }


def _compare(config: StudyConfig, series: list[Series], pair: str) -> dict[str, Any]:
    """A pair the user named, with the paired bootstrap interval of the accuracy difference."""
    found = []
    for model, strategy, budget in compare_points(pair):
        found.append(next(s for s in series if (s.model, s.strategy, s.budget) == (model, strategy, budget)))
    a, b = found
    diff, low, high = stats.paired_bootstrap_diff(a.values, b.values, seed=config.seed)
    return {
        "pair": pair,
        "a": _point(a),
        "b": _point(b),
        "difference": diff,
        "ci_low": low,
        "ci_high": high,
        "sentence": (
            f"{a.model} with {a.strategy}@{a.budget} minus {b.model} with {b.strategy}@{b.budget}: "
            f"{100 * diff:+.1f} points (95% CI {100 * low:+.1f} to {100 * high:+.1f})."
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
