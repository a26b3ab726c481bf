"""`ponder.ask`: one question, one strategy, one recorded run."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from ponder.answers.extract import FORMATS
from ponder.backends.base import MAX_N
from ponder.backends.factory import DEFAULT_CTX, DEFAULT_THREADS, open_backend
from ponder.errors import PonderError
from ponder.ledger import Ledger
from ponder.models import prices
from ponder.models.catalog import DEFAULT_MODEL
from ponder.models.resolve import parse as parse_model
from ponder.specs import parse_spec
from ponder.store import open_store
from ponder.strategies import Context, build, samples_needed
from ponder.types import Problem, Result, SamplingParams

MAX_TOKENS_LIMIT = 32768


def _check(max_tokens: int, temperature: float | None, threads: int, ctx: int, seed: int | None) -> None:
    if not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
        raise PonderError(f"--max-tokens must be between 1 and {MAX_TOKENS_LIMIT}")
    if temperature is not None and not 0.0 <= temperature <= 2.0:
        raise PonderError("--temperature must be between 0 and 2")
    if threads < 1:
        raise PonderError("--threads must be at least 1")
    if ctx < 64:
        raise PonderError("--ctx must be at least 64 tokens")
    if seed is not None and not 0 <= seed < 2**32:
        raise PonderError("--seed must be between 0 and 4294967295 (leave it out for a random one)")


P = ParamSpec("P")
R = TypeVar("R")


def _blocking(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, R]:
    """The same function, run to completion in a new event loop (not inside a running one)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return asyncio.run(fn(*args, **kwargs))

    return run


async def ask_async(
    question: str,
    *,
    model: str = DEFAULT_MODEL,
    strategy: str = "cot",
    max_tokens: int = 512,
    temperature: float | None = None,
    seed: int | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    threads: int = DEFAULT_THREADS,
    ctx: int = DEFAULT_CTX,
    answer_format: str = "auto",
    record: bool = True,
    quiet: bool = True,
) -> Result:
    """Answer `question` with `strategy` on `model`; record the run unless `record` is False.

    Everything is checked before the model loads, and the run is written only once it has finished,
    so a bad argument or a failed call leaves nothing in the store.
    """
    if not question.strip():
        raise PonderError("the question is empty: give the question to answer")
    _check(max_tokens, temperature, threads, ctx, seed)
    if answer_format not in FORMATS:
        raise PonderError(f"unknown answer format '{answer_format}': use one of {', '.join(FORMATS)}")
    spec = parse_spec(strategy)
    run_strategy = build(spec)
    n = samples_needed(spec)
    assert n <= MAX_N
    table = prices.load()
    if record:  # a store that cannot be opened fails now, before the model spends anything
        open_store().close()
    ref = parse_model(model, quiet=quiet)
    backend = open_backend(ref, n=n, threads=threads, n_ctx=ctx, base_url=base_url, api_key=api_key)
    context = Context(
        backend=backend,
        model=ref.ref,
        compute_parameters=ref.compute_parameters,
        params=SamplingParams(max_tokens=max_tokens, seed=seed),
        temperature=temperature,
        ledger=Ledger(prices=table),
    )
    problem = Problem(question=question, answer_format=answer_format)
    try:
        result = await run_strategy(problem, context)
    finally:
        backend.close()
    if record:
        settings: dict[str, Any] = {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": seed,
            "threads": threads,
            "ctx": ctx,
            "answer_format": answer_format,
            "base_url": base_url,
        }
        store = open_store()
        try:
            result.run_id = store.save(result, kind="ask", question=question, settings=settings)
        finally:
            store.close()
    return result


ask = _blocking(ask_async)
