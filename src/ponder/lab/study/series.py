"""One series per model, strategy and budget: per-problem values and charged compute.

Pool strategies are derived from one pool of samples per problem with the unbiased estimators of
`ponder.lab.estimators`; runs (`cot`, `direct`) report their recorded request. Compute is charged as
the strategy would cost run alone on a fresh problem (`charges.py`). At a pool budget k: FLOPs are
2·parameters·(prompt + k × the pool's mean completion), an estimate from the pool; seconds come from
the engine's batching curve measured on the study's own prompts (`timing:k` requests), or are
measured for real where every problem was timed, or, without timing requests, prorated by token
share. Each series names its derived figures and its seconds method.

Score axes (`scores.py`) ride along: a pool's per-sample values give each budget's expected value
through the strategy's own estimator (`scores.score_estimate`), a run's are its answer's.

Thinking tokens (a part of completion tokens) are kept apart, summed per problem as tokens are: a
run's are its requests' recorded ones; a pool budget k's are k times the pool's mean per sample
(derived, as its tokens are). A scoring pass's are split between its whole part and its per-sample
part in proportion to its completion tokens (its calls record no thinking of their own).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ponder.errors import PonderError
from ponder.lab import estimators as est
from ponder.lab.study.charges import Charge, charge
from ponder.lab.study.config import StudyConfig, pooling
from ponder.lab.study.scores import score_estimate
from ponder.lab.study.store import StudyStore
from ponder.models import prices
from ponder.specs import Spec, parse_spec
from ponder.strategies.base import info_of
from ponder.strategies.pooling import SCORE_PASSES, PoolView, score_kind

Hosted = tuple[prices.PriceTable, str] | None  # a hosted model's price table and server name
MEASURED = "measured: each budget requested for real on every problem"
PRORATED = "prorated from the pool by token share (estimate; no timing requests)"
POOL_DERIVED = (
    "mean_completion_tokens",
    "mean_thinking_tokens",
    "mean_flops",
    "mean_seconds",
    "mean_cost_usd",
)
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
    thinking: np.ndarray | None = None  # per problem, the part of `tokens` spent thinking
    pooled: bool = False  # derived from a pool at budget k; False: the strategy ran as written
    seconds_method: str = RUN_SECONDS
    derived: tuple[str, ...] = ("mean_flops", "mean_seconds", "mean_cost_usd")
    coverage: np.ndarray | None = None
    selection: bool = True  # False for coverage: an oracle picks, not the model
    extra: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, np.ndarray] = field(default_factory=dict)  # per axis, per problem, in [0, 1]


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


@dataclass
class ScorePass:
    """A scoring pass over one model's pool: per-sample scores (and behaviour groups), and what it
    is charged per problem: a whole part (calls made once per problem, a proposer's) and a part per
    sample scored (every other call, the pass's charged total less the whole part, over n)."""

    name: str
    scores: np.ndarray  # (P, n), −inf where unscored
    labels: np.ndarray | None  # (P, n) behaviour groups, −1 for none; None: the pool's answers
    methods: list[str]  # how each problem's pool was scored (one entry per distinct method)
    whole: Charge3
    per_sample: Charge3


@dataclass
class Charge3:
    flops: np.ndarray  # (P,)
    seconds: np.ndarray
    cost: np.ndarray
    completion: np.ndarray
    thinking: np.ndarray


def _share(key: str, calls: list[dict[str, Any]], fixed: list[dict[str, Any]]) -> float:
    """The part of a request's recorded figure made by its once-per-problem calls, as a share of all
    its calls' (a score request's own seconds are its elapsed time, less than its overlapping calls'
    sum). Each figure is split by its own record: a sandbox run has seconds and dollars, no FLOPs."""
    total = sum(c[key] for c in calls)
    return sum(c[key] for c in fixed) / total if total > 0 else 0.0


def load_score_pass(
    store: StudyStore,
    model: str,
    ids: list[str],
    requests: dict[tuple[str, str, str], dict[str, Any]],
    calls: dict[int, list[dict[str, Any]]],
    rate: float,
    hosted: Hosted,
    scorer: str,
    pool: str,
) -> ScorePass:
    rows = [requests[(model, pid, score_kind(scorer, pool))] for pid in ids]
    stored = [store.scores(r["id"]) for r in rows]
    n = len(stored[0])
    P = len(ids)
    scores = np.full((P, n), -np.inf)
    labels = np.full((P, n), -1, dtype=np.int64)
    grouped = False
    methods: set[str] = set()
    once = set(SCORE_PASSES[scorer].per_problem_roles) if scorer in SCORE_PASSES else set()
    whole = Charge3(np.zeros(P), np.zeros(P), np.zeros(P), np.zeros(P), np.zeros(P))
    each = Charge3(np.zeros(P), np.zeros(P), np.zeros(P), np.zeros(P), np.zeros(P))
    for i, (r, samples) in enumerate(zip(rows, stored, strict=True)):
        ids_of: dict[str, int] = {}
        for j, x in enumerate(samples):
            if x.score is not None:
                scores[i, j] = x.score
            if x.group is not None:
                grouped = True
                labels[i, j] = ids_of.setdefault(x.group, len(ids_of))
            methods.add(x.method)
        mine = calls.get(r["id"], [])
        total = charge(r, mine, rate, hosted)
        fixed = [c for c in mine if c["role"] in once]
        whole.flops[i] = _share("flops", mine, fixed) * total.flops
        whole.seconds[i] = _share("wall_seconds", mine, fixed) * total.seconds
        whole.cost[i] = _share("cost_usd", mine, fixed) * total.cost
        whole.completion[i] = sum(c["completion_tokens"] for c in fixed)
        part = whole.completion[i] / total.completion_tokens if total.completion_tokens > 0 else 0.0
        whole.thinking[i] = part * total.thinking_tokens
        each.flops[i] = (total.flops - whole.flops[i]) / max(n, 1)
        each.seconds[i] = (total.seconds - whole.seconds[i]) / max(n, 1)
        each.cost[i] = (total.cost - whole.cost[i]) / max(n, 1)
        each.completion[i] = (total.completion_tokens - whole.completion[i]) / max(n, 1)
        each.thinking[i] = (total.thinking_tokens - whole.thinking[i]) / max(n, 1)
    return ScorePass(scorer, scores, labels if grouped else None, sorted(methods), whole, each)


def run_spec(spec: Spec) -> Spec:
    """A strategy that runs as written, with its budget spelled out (`cot` stays `cot`)."""
    info = info_of(spec)
    return spec.at(info.n(spec)) if info.budget else spec


def spec_name(spec: Spec) -> str:
    """A strategy without its budget: `bon:scorer=vote`."""
    return str(spec.at(None))


def spec_at(strategy: str, budget: int) -> str:
    """A point's spec as written: `sc` at 4 → `sc@4`, `vote(revise@1)` at 4 → `vote@4(revise@1)`,
    `cot` (no budget) → `cot`."""
    spec = parse_spec(strategy)
    try:
        counted = info_of(spec).budget
    except PonderError:  # a pool estimator (`coverage`) or a plugin not loaded here
        counted = True
    return str(spec.at(budget)) if counted else str(spec)


def load_pool(
    store: StudyStore,
    model: str,
    ids: list[str],
    requests: dict[tuple[str, str, str], dict[str, Any]],
    calls: dict[int, list[dict[str, Any]]],
    rate: float,
    hosted: Hosted,
    kind: str = "pool",
) -> Pool:
    rows = [requests[(model, pid, kind)] for pid in ids]
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
        charges=[charge(r, calls.get(r["id"], []), rate, hosted) for r in rows],
        prompt_seconds=np.array([sum(c["prompt_seconds"] for c in calls.get(r["id"], [])) for r in rows]),
    )


def hosted_price(model: str) -> Hosted:
    """The price table and server name of a hosted model (read once per model), None for a local one."""
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
    hosted: Hosted,
    prefix: str = "timing:",
) -> Timing:
    """A pool's timing requests (`timing:k` for the chain-of-thought pool, `timing:NAME:k` else)."""
    seconds: dict[tuple[str, int], float] = {}
    decode: dict[tuple[str, int], float] = {}
    for (m, pid, kind), r in requests.items():
        if m != model or not kind.startswith(prefix) or not kind.removeprefix(prefix).isdigit():
            continue
        k = int(kind.removeprefix(prefix))
        mine = calls.get(r["id"], [])
        seconds[(pid, k)] = charge(r, mine, rate, hosted).seconds
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
    config: StudyConfig,
    model: str,
    pool: Pool,
    spec: Spec,
    ids: list[str],
    timing: Timing,
    rate: float,
    hosted: Hosted,
    scored: ScorePass | None = None,
    axes: dict[str, np.ndarray] | None = None,
) -> tuple[list[Series], dict[str, Any]]:
    """A pooled strategy's series at each budget. Where it reads a scoring pass (`scored`), the
    pass's scores (and groups) replace the pool's, and each budget k is charged the pass's whole
    part plus k samples' worth (derived, labelled). Where the estimate says how many samples a
    budget draws in expectation (adaptive sampling), tokens, FLOPs, seconds and dollars follow
    those, not k. `axes`: the pool's per-sample values on each score axis, (P, n)."""
    ks = config.ladder(spec)
    n = pool.correct.shape[1]
    how = pooling(spec)
    assert how is not None, f"{spec} is not pooled"
    labels, scores = pool.labels, pool.scores
    if scored is not None:
        scores = scored.scores
        labels = scored.labels if scored.labels is not None else labels
    view = PoolView(pool.correct, labels, scores, labels >= 0, seed=config.seed)
    estimate = how.estimate(view, ks)
    values, info = estimate.values, dict(estimate.info)
    if scored is not None:
        info["scoring"] = {"pass": scored.name, "methods": scored.methods}
    graded = {name: score_estimate(how.estimate, view, v, ks) for name, v in (axes or {}).items()}
    if graded:
        info["scores"] = {name: g.info for name, g in graded.items()}
    coverage = est.pass_at_k_curve(pool.correct, ks)
    mean_completion = pool.completion.mean(axis=1)
    mean_thinking = np.array([c.thinking_tokens / n for c in pool.charges])  # per sample, recorded
    prompt = np.array([c.prompt_tokens for c in pool.charges])
    per_token = np.array([c.per_token_flops for c in pool.charges])
    cached = np.array([c.cached_first for c in pool.charges])
    out = []
    for j, k in enumerate(ks):
        seconds, method = _pool_seconds(pool, ids, timing, rate, k, n)
        drawn = np.full(len(ids), float(k)) if estimate.samples is None else estimate.samples[:, j]
        if estimate.samples is not None:
            seconds = seconds * drawn / k
            method = f"{method}; prorated to the expected samples drawn (estimate)"
        if hosted is not None:  # hosted: price the request's own tokens, its prompt uncached
            table, name = hosted
            cost = np.array(
                [table.token_cost(name, int(p), 0, round(d * m)) or 0.0
                 for p, m, d in zip(prompt, mean_completion, drawn, strict=True)]
            )  # fmt: skip
        else:  # local: dollars follow the time on the cores
            cost = seconds * np.array([c.cost_per_second for c in pool.charges])
        tokens = drawn * mean_completion
        thinking = drawn * mean_thinking
        flops = per_token * (prompt + drawn * mean_completion)
        if scored is not None:  # the scoring pass: its whole part, and k samples' worth
            tokens = tokens + scored.whole.completion + drawn * scored.per_sample.completion
            thinking = thinking + scored.whole.thinking + drawn * scored.per_sample.thinking
            flops = flops + scored.whole.flops + drawn * scored.per_sample.flops
            seconds = seconds + scored.whole.seconds + drawn * scored.per_sample.seconds
            cost = cost + scored.whole.cost + drawn * scored.per_sample.cost
            method = f"{method}; plus the {scored.name} pass per sample scored (derived)"
        out.append(
            Series(
                model=model,
                strategy=spec_name(spec),
                budget=k,
                values=values[:, j],
                tokens=tokens,
                flops=flops,
                seconds=seconds,
                cost=cost,
                truncated=pool.truncated,
                cached=cached,
                saved_flops=per_token * cached,
                thinking=thinking,
                pooled=True,
                seconds_method=method,
                derived=POOL_DERIVED,
                coverage=coverage[:, j],
                selection=how.selection,
                extra={"mean_samples": float(drawn.mean())} if estimate.samples is not None else {},
                scores={name: g.values[:, j] for name, g in graded.items()},
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
    hosted: Hosted,
    axes: Callable[[str], dict[str, np.ndarray]] | None = None,
) -> list[Series]:
    """A run-as-written strategy's series; `axes(kind)` gives its runs' values on each score axis."""
    out = []
    for k in config.ladder(spec):
        at = run_spec(spec)
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
                strategy=spec_name(spec),
                budget=k,
                values=np.array([float(r["correct"]) for r in rows]),
                tokens=np.array([c.completion_tokens for c in charges]),
                flops=np.array([c.flops for c in charges]),
                seconds=np.array([c.seconds for c in charges]),
                cost=np.array([c.cost for c in charges]),
                truncated=truncated,
                cached=np.array([c.cached_first for c in charges]),
                saved_flops=np.array([c.flops - c.flops_recorded for c in charges]),
                thinking=np.array([c.thinking_tokens for c in charges]),
                scores=axes(f"run:{at}") if axes is not None else {},
            )
        )
    return out
