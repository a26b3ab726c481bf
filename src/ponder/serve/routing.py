"""Which strategy and which model a request names.

The strategy comes from the model name, `<strategy-spec>/<model>` (`sc@8/qwen2.5-coder-0.5b`), or
from `extra_body={"ponder": {"strategy": "sc@8"}}`; naming it both ways is an error. The rules for a
model name, in order:

1. a name that is itself a served model is that model, without a strategy (`org/model` upstream);
2. a prefix before the first `/` that parses as a spec of a registered strategy is the strategy;
3. a prefix that starts as a registered strategy's name followed by `@`, `(` or `:` but does not
   parse or build (`sc@x/…`, `bon@4:scorer=nope/…`) is a 400: it was meant as a spec;
4. anything else is passed through whole as a plain model name (404 where it is not served).

Strategies that run model-written code (in the sandbox) are refused unless the operator allowed
code (`--allow-code`). Each strategy and scoring pass declares it (`StrategyInfo.runs_code`,
`ScorePassInfo.runs_code`); the spec tree is walked, inner strategies and the scoring passes its
keys name, so `vote@4(pot@2)` is caught. One that does not declare it (a plugin's: None) is treated
as running code, since ponder cannot see what it does; ponder's own all declare it, and a test
checks each declaration against whether its module imports the sandbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from ponder.errors import PonderError
from ponder.limits import Limit
from ponder.serve.errors import ApiError
from ponder.specs import Spec, parse_spec
from ponder.strategies import REGISTRY, Strategy, build, info_of, samples_needed
from ponder.strategies.base import load_plugins
from ponder.strategies.pooling import SCORE_PASSES

_LOOKS_LIKE_SPEC = re.compile(r"([a-z][a-z0-9_-]*)[@(:]")


@dataclass(frozen=True)
class Route:
    """A request's model (a served name) and its strategy (None: the messages go as they are)."""

    model: str
    spec: Spec | None
    strategy: Strategy | None
    limit: Limit | None


def split_model(name: str, served: tuple[str, ...]) -> tuple[Spec | None, str]:
    """`sc@8/m` → (sc@8, m); a plain name → (None, name). A malformed spec prefix is a 400."""
    if name in served or "/" not in name:
        return None, name
    prefix, rest = name.split("/", 1)
    load_plugins()
    try:
        spec = parse_spec(prefix)
    except PonderError as e:
        m = _LOOKS_LIKE_SPEC.match(prefix)
        if m and m.group(1) in REGISTRY:
            raise ApiError(400, f"model '{name}': {e}", param="model", code="invalid_strategy") from None
        return None, name
    if spec.name not in REGISTRY:
        return None, name
    return spec, rest


def route(
    name: str,
    strategy: str | None,
    limit: str | None,
    *,
    served: tuple[str, ...],
    max_n: int,
    allow_code: bool,
) -> Route:
    """Check everything a request names before any model runs."""
    spec, model = split_model(name, served)
    param = "model"
    if strategy is not None:
        if spec is not None:
            raise ApiError(
                400,
                f"two strategies: '{spec}' in the model name and '{strategy}' in ponder.strategy; name one",
                param="ponder.strategy",
                code="invalid_strategy",
            )
        param = "ponder.strategy"
        try:
            spec = parse_spec(strategy)
        except PonderError as e:
            raise ApiError(400, str(e), param=param, code="invalid_strategy") from None
    if model not in served:
        raise ApiError(
            404,
            f"the model '{model}' is not served here: GET /v1/models lists those that are",
            param="model",
            code="model_not_found",
        )
    try:
        parsed_limit = Limit.parse(limit)
    except PonderError as e:
        raise ApiError(400, str(e), param="ponder.limit", code="invalid_limit") from None
    if spec is None:
        return Route(model, None, None, parsed_limit)
    try:
        built = build(spec)
        needed = samples_needed(spec)
    except PonderError as e:
        raise ApiError(400, str(e), param=param, code="invalid_strategy") from None
    if needed > max_n:
        raise ApiError(
            400,
            f"'{spec}' may draw {needed} samples at once, and this server allows at most {max_n} "
            f"(--max-n): lower N until it draws at most {max_n} (nested budgets multiply), or ask "
            "the operator to raise --max-n; the same request will fail again",
            param=param,
            code="max_n_exceeded",
        )
    if not allow_code and (code := runs_code(spec)) is not None:
        how = "runs" if code.declared else "may run (it does not declare runs_code=False)"
        raise ApiError(
            400,
            f"'{code.part}' {how} model-written code, which this server does not allow "
            "(the operator can start it with --allow-code)",
            param=param,
            code="code_execution_disabled",
        )
    return Route(model, spec, built, parsed_limit)


class Code(NamedTuple):
    """The first part of a spec tree that runs model-written code, and whether it says so."""

    part: str  # `pot`, or `bon:scorer=exec` for a scoring pass a key names
    declared: bool  # False: it does not declare `runs_code`, so it is taken to run code


def runs_code(spec: Spec) -> Code | None:
    """The first part of the spec tree that runs code (a strategy or a scoring pass), or None."""
    info = info_of(spec)
    if info.runs_code is not False:
        return Code(spec.name, info.runs_code is not None)
    for key, meta in info.keys.items():
        value = spec.params.get(key, meta.default)
        if (
            isinstance(value, str)
            and value in SCORE_PASSES
            and (flag := SCORE_PASSES[value].runs_code) is not False
        ):
            return Code(f"{spec.name}:{key}={value}", flag is not None)
    inner = info.inner_spec(spec)
    return runs_code(inner) if inner is not None else None
