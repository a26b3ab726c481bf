"""What a point on a compute axis is charged, derived from the calls the study recorded.

The rule: a strategy is charged what it would cost run alone on a fresh problem. The study measures
on one engine, problem after problem, so a request often finds its prompt in the engine's cache (the
`cot` run right after the pool, with the same prompt). What the engine did is stored as recorded;
what a point is charged is derived here, and labelled so:

1. An independent request (the first engine request of a strategy's run: one it makes on its own)
   pays for its whole prompt, uncached: its recorded cached tokens are charged as processed.
2. Later engine requests of the same run (chunks of a large n, one request per sample where a server
   refuses n, a strategy's own follow-up calls that extend its own prefix) are charged as the engine
   charged them within that run. A pool budget k is charged one request's prompt (the first
   request's), as an engine that takes n ≥ k would charge it.
3. FLOPs follow tokens: 2 × parameters × tokens, the factor read off the recorded figures.
4. Seconds add the cached prompt's processing time, at the engine's own prompt rate on this model
   (llama.cpp's `timings.prompt_ms` over the prompts it processed uncached); where the server
   reports no timings, nothing is added and the summary notes it.
5. Dollars follow seconds for a local model (cores × time) and tokens for a hosted one (the cached
   tokens priced as input).
The cache's real savings stay visible: charged minus recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ponder.models.prices import PriceTable

MIN_TIMED_PROMPT = 16  # prompts shorter than this are dominated by per-request overhead in timings


@dataclass(frozen=True)
class Charge:
    """One request: recorded figures and the charged ones derived from them."""

    completion_tokens: float
    thinking_tokens: float  # the part of completion_tokens spent in thinking blocks, as recorded
    prompt_tokens: float  # the first call's prompt: what one independent request reads
    cached_first: float  # the first call's cached prompt tokens: charged as processed
    flops: float
    flops_recorded: float
    seconds: float
    seconds_recorded: float
    cost: float
    cost_recorded: float
    per_token_flops: float  # 2 × parameters, read off the record (0 where FLOPs are unknown)
    cost_per_second: float  # a local model's dollars per wall second (0 for hosted)


def prompt_rate(calls: Sequence[dict[str, Any]]) -> float:
    """Seconds per uncached prompt token on this engine: Σ prompt seconds / Σ uncached prompt tokens,
    over the calls that processed a prompt of at least MIN_TIMED_PROMPT tokens and timed it."""
    seconds = tokens = 0.0
    for c in calls:
        uncached = c["prompt_tokens"] - c["cached_prompt_tokens"]
        if c["prompt_seconds"] > 0 and uncached >= MIN_TIMED_PROMPT:
            seconds += c["prompt_seconds"]
            tokens += uncached
    return seconds / tokens if tokens > 0 else 0.0


def charge(
    request: dict[str, Any],
    calls: Sequence[dict[str, Any]],
    rate: float,
    hosted_price: tuple[PriceTable, str] | None = None,
) -> Charge:
    """The charged figures of one stored request (`calls` empty: a store older than calls, whose
    cached tokens are then all taken to come from outside the request)."""
    r = request
    if calls:
        cached_first = float(calls[0]["first_cached_prompt_tokens"])
        prompt_first = float(calls[0]["first_prompt_tokens"])
    else:
        cached_first = float(r["cached_prompt_tokens"])
        prompt_first = r["prompt_tokens"] / max(r["calls"], 1)
    uncached = r["prompt_tokens"] - r["cached_prompt_tokens"] + r["completion_tokens"]
    per_token = r["flops"] / uncached if uncached > 0 else 0.0
    seconds = r["wall_seconds"] + cached_first * rate
    if hosted_price is not None:
        table, name = hosted_price
        priced = table.token_cost(
            name, r["prompt_tokens"], int(r["cached_prompt_tokens"] - cached_first), r["completion_tokens"]
        )
        cost = r["cost_usd"] if priced is None else priced
        per_second = 0.0
    else:
        per_second = r["cost_usd"] / r["wall_seconds"] if r["wall_seconds"] > 0 else 0.0
        cost = seconds * per_second
    return Charge(
        completion_tokens=float(r["completion_tokens"]),
        thinking_tokens=float(r["thinking_tokens"]),
        prompt_tokens=prompt_first,
        cached_first=cached_first,
        flops=r["flops"] + per_token * cached_first,
        flops_recorded=float(r["flops"]),
        seconds=seconds,
        seconds_recorded=float(r["wall_seconds"]),
        cost=cost,
        cost_recorded=float(r["cost_usd"]),
        per_token_flops=per_token,
        cost_per_second=per_second,
    )
