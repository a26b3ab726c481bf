"""What every strategy shares: the context it runs in, the registry, and building one from a spec.

A strategy is a factory, registered by name, that takes the spec's budget and keys and returns an
async callable `(problem, ctx) -> Result`. The registry records which keys a strategy accepts and of
what type, so `bon@8:scorer=vote` is checked before any model runs, and a stored spec re-creates it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ponder.backends.base import MAX_N, Backend
from ponder.errors import PonderError
from ponder.ledger import Ledger
from ponder.specs import Spec, parse_spec
from ponder.types import Message, Problem, Result, Sample, SamplingParams


@dataclass
class Context:
    """What a strategy may use: the backend (only through `generate`), base sampling settings, ledger.

    `temperature` is None unless the user set it; each strategy then picks its own default.
    """

    backend: Backend
    model: str
    compute_parameters: int | None
    params: SamplingParams = field(default_factory=SamplingParams)
    temperature: float | None = None
    ledger: Ledger = field(default_factory=Ledger)

    async def generate(
        self,
        messages: Sequence[Message],
        n: int = 1,
        *,
        temperature: float,
        role: str = "policy",
        seed_offset: int = 0,
        logprobs: bool = False,
        stop: Sequence[str] = (),
    ) -> list[Sample]:
        """Ask the backend for n samples and record the call in the ledger.

        `logprobs` asks for the model's token logprobs (`Sample.mean_logprob`); leave it off unless a
        scorer reads them, as they cost engine time.
        """
        seed = None if self.params.seed is None else self.params.seed + seed_offset
        params = replace(
            self.params,
            temperature=temperature,
            seed=seed,
            logprobs=logprobs,
            stop=(*self.params.stop, *stop),
        )
        generation = await self.backend.generate(messages, params, n)
        self.ledger.record(
            generation,
            role=role,
            model=self.model,
            n=n,
            compute_parameters=self.compute_parameters,
            local_cores=self.backend.capabilities.local_cores,
        )
        return generation.samples

    def result(self, **fields: Any) -> Result:
        """A Result carrying the ledger's calls and their sum."""
        return Result(
            model=self.model,
            usage=self.ledger.total(),
            calls=list(self.ledger.records),
            notes=list(self.ledger.notes) + list(fields.pop("notes", [])),
            **fields,
        )


class Strategy(Protocol):
    def __call__(self, problem: Problem, ctx: Context) -> Coroutine[Any, Any, Result]: ...


@dataclass(frozen=True)
class Key:
    kind: type
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    low: float | None = None  # inclusive bounds for numbers
    high: float | None = None


@dataclass(frozen=True)
class StrategyInfo:
    name: str
    summary: str
    factory: Callable[..., Strategy]
    keys: dict[str, Key]
    budget: bool  # takes @N
    default_n: int = 1


REGISTRY: dict[str, StrategyInfo] = {}


def register(info: StrategyInfo) -> StrategyInfo:
    REGISTRY[info.name] = info
    return info


def _convert(spec: Spec, key: str, raw: str, meta: Key) -> Any:
    try:
        value = meta.kind(raw)
    except ValueError:
        raise PonderError(f"'{spec}': {key}={raw} is not a {meta.kind.__name__}: {meta.help}") from None
    if meta.choices and value not in meta.choices:
        raise PonderError(f"'{spec}': {key} must be one of {', '.join(meta.choices)}")
    out_of_range = (meta.low is not None and not value >= meta.low) or (
        meta.high is not None and not value <= meta.high
    )
    if out_of_range:  # written so that NaN is out of range too
        raise PonderError(f"'{spec}': {key} must be between {meta.low:g} and {meta.high:g}")
    return value


def build(spec: Spec | str) -> Strategy:
    """A ready strategy for a spec; unknown names, keys, bad values and budgets are errors."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    info = REGISTRY.get(spec.name)
    if info is None:
        raise PonderError(f"unknown strategy '{spec.name}': use one of {', '.join(sorted(REGISTRY))}")
    if spec.inner is not None:
        raise PonderError(f"'{spec}': {spec.name} does not wrap another strategy")
    if spec.n is not None and not info.budget:
        raise PonderError(f"'{spec}': {spec.name} takes no @N budget; drop it")
    n = spec.n if spec.n is not None else info.default_n
    if info.budget and not 1 <= n <= MAX_N:
        raise PonderError(f"'{spec}': N must be between 1 and {MAX_N}")
    kwargs: dict[str, Any] = {}
    for key, raw in spec.params.items():
        meta = info.keys.get(key)
        if meta is None:
            known = ", ".join(sorted(info.keys)) or "none"
            raise PonderError(f"'{spec}': unknown key '{key}' for {spec.name} (keys: {known})")
        kwargs[key] = _convert(spec, key, raw, meta)
    if info.budget:
        kwargs["n"] = n
    return info.factory(spec=str(spec), **kwargs)


def samples_needed(spec: Spec | str) -> int:
    """How many samples the spec asks for in one call: sizes the engine's slots."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    info = REGISTRY.get(spec.name)
    if info is None or not info.budget:
        return 1
    return spec.n if spec.n is not None else info.default_n
