"""`ponder.ask`: one question, one strategy, one recorded run."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from ponder.answers.extract import FORMATS
from ponder.backends.factory import DEFAULT_CTX, DEFAULT_THREADS
from ponder.errors import PonderError
from ponder.limits import Limit
from ponder.models.catalog import DEFAULT_MODEL
from ponder.rubric import Rubric
from ponder.rubric import load as load_rubric
from ponder.session import Options, Session, parse_roles
from ponder.specs import parse_spec
from ponder.store import open_store
from ponder.strategies import build, check_roles, samples_needed
from ponder.types import Problem, Result

TEXT_INSTRUCTION = "Reply with the text only: no title, no notes before or after it."
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
    judge: str | None = None,
    roles: Mapping[str, str] | Sequence[str] = (),
    limit: str | Limit | None = None,
    rubric: Rubric | Path | None = None,
    record: bool = True,
    quiet: bool = True,
) -> Result:
    """Answer `question` with `strategy` on `model`; record the run unless `record` is False.

    `judge` names the judge role's model (`roles` any other role's, as {role: model} or
    ["role=model"]); `limit` caps the question's compute ("tokens=4000,usd=0.01"); `rubric` is what
    a judge reads the answer against (`bon@4:scorer=rubric`, `revise@2:rubric=true`), a `Rubric` or
    the path of a TOML file (`ponder.rubric`); without one, `ponder.rubric.DEFAULT`.
    Everything is checked before the model loads, and the run is written only once it has finished,
    so a bad argument or a failed call leaves nothing in the store.
    """
    if not question.strip():
        raise PonderError("the question is empty: give the question to answer")
    if answer_format not in FORMATS:
        raise PonderError(f"unknown answer format '{answer_format}': use one of {', '.join(FORMATS)}")
    pairs = [f"{r}={m}" for r, m in roles.items()] if isinstance(roles, Mapping) else list(roles)
    options = Options(
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
        threads=threads,
        ctx=ctx,
        base_url=base_url,
        api_key=api_key,
        limit=limit if isinstance(limit, Limit) or limit is None else Limit.parse(limit),
    )
    options.check()
    role_models = parse_roles(model, pairs, judge)
    spec = parse_spec(strategy)
    run_strategy = build(spec)
    check_roles([spec], [r for r in role_models if r != "policy"])
    if record:  # a store that cannot be opened fails now, before the model spends anything
        open_store().close()
    criteria = load_rubric(rubric) if isinstance(rubric, Path) else rubric
    problem = Problem(question=question, answer_format=answer_format, rubric=criteria)
    if answer_format == "text":  # the whole reply is the answer: no answer line to ask for
        problem = replace(problem, instruction=TEXT_INSTRUCTION)
    with Session.open(role_models, options, slots=samples_needed(spec), quiet=quiet) as session:
        result = await run_strategy(problem, session.context())
    if record:
        settings: dict[str, Any] = {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": seed,
            "threads": threads,
            "ctx": ctx,
            "answer_format": answer_format,
            "base_url": base_url,
            "roles": role_models,
            "limit": str(options.limit) if options.limit else None,
            "rubric": criteria.to_dict() if criteria is not None else None,
        }
        store = open_store()
        try:
            result.run_id = store.save(result, kind="ask", question=question, settings=settings)
        finally:
            store.close()
    return result


ask = _blocking(ask_async)
