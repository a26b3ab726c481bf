"""What every strategy shares: the context it runs in, the registry, and building one from a spec.

A strategy is a factory, registered by name, that takes the spec's budget and keys (and, for a
strategy that wraps another, the built inner strategy) and returns an async callable
`(problem, ctx) -> Result`. The registry records which keys a strategy accepts and of what type, so
`bon@8:scorer=vote` is checked before any model runs and a stored spec re-creates it; what its @N
counts (samples, rounds, tokens), so slots and limits ask it rather than reading @N as samples; and
whether a study can derive it from a pool of samples (`Pooling`), so the study never tests a name.

A context is opened by `ponder.session.Session.context` and nowhere else. It routes each call to the
model of its role, records it in its ledger, and holds the question's limit; `ctx.child()` gives an
inner strategy or a judge a sub-ledger, a seed of its own and, optionally, another role.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from ponder.backends.base import MAX_N, Backend
from ponder.errors import PonderError
from ponder.ledger import Ledger
from ponder.limits import Limit, LimitReached, Spend
from ponder.specs import Spec, parse_spec
from ponder.strategies.pooling import Pooling
from ponder.types import Candidate, Message, Problem, Result, Sample, SamplingParams

POLICY = "policy"
SEED_MODULUS = 2**31


@dataclass(frozen=True)
class Bound:
    """A role's model: its backend, the reference calls are recorded under, and its FLOPs size."""

    backend: Backend
    model: str
    compute_parameters: int | None


def child_seed(seed: int, index: int) -> int:
    """The seed of a context's index-th child: distinct, deterministic, below 2³¹."""
    digest = hashlib.sha256(f"{seed}\x1fchild\x1f{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % SEED_MODULUS


@dataclass
class Context:
    """What a strategy may use: models by role (only through `generate`), the base sampling
    settings, the ledger, and the question's limit. `temperature` is None unless the user (or a
    wrapping strategy) set it; each strategy then picks its own default."""

    roles: Mapping[str, Bound]
    params: SamplingParams = field(default_factory=SamplingParams)
    temperature: float | None = None
    ledger: Ledger = field(default_factory=Ledger)
    role: str = POLICY
    spend: Spend | None = None
    parent: Context | None = None
    children: list[Context] = field(default_factory=list)
    last: Result | None = None
    stopped: str | None = None  # why the limit refused or cut a call here or in a child
    kept: dict[str, Any] = field(default_factory=dict)  # the best answer so far (`keep`)

    @classmethod
    def root(
        cls,
        roles: Mapping[str, Bound],
        *,
        params: SamplingParams,
        temperature: float | None,
        ledger: Ledger,
        limit: Limit | None = None,
    ) -> Context:
        """A question's context (`Session.context` opens it; tests of strategy logic may too)."""
        if POLICY not in roles:
            raise PonderError("a context needs a policy model")
        spend = Spend(limit, ledger) if limit is not None else None
        return cls(roles, params, temperature, ledger, POLICY, spend)

    def bound(self, role: str | None = None) -> Bound:
        """The model serving a role (the policy model where the role has none of its own)."""
        return self.roles.get(role or self.role) or self.roles[POLICY]

    @property
    def model(self) -> str:
        return self.bound().model

    async def generate(
        self,
        messages: Sequence[Message],
        n: int = 1,
        *,
        temperature: float,
        role: str | None = None,
        seed_offset: int = 0,
        logprobs: bool = False,
        stop: Sequence[str] = (),
        max_tokens: int | None = None,
        top_logprobs: int = 0,
    ) -> list[Sample]:
        """Ask the role's model for n samples and record the call in the ledger.

        A final assistant message is continued, not answered (`Backend.generate`). `logprobs` asks
        for the model's token logprobs (`Sample.mean_logprob`); leave it off unless a scorer reads
        them, as they cost engine time; `top_logprobs` asks for the first token's likeliest
        alternatives too (`Sample.first_top`: a verifier's yes and no). Under a limit the call's
        `max_tokens` may be cut, or the call refused (`LimitReached`) before it is made.
        """
        bound = self.bound(role)
        seed = None if self.params.seed is None else (self.params.seed + seed_offset) % SEED_MODULUS
        cap = self.params.max_tokens if max_tokens is None else min(max_tokens, self.params.max_tokens)
        requests = -(-n // max(1, bound.backend.capabilities.max_n))
        allowed = cap if self.spend is None else await self.spend.admit(n, cap, requests)
        params = replace(
            self.params,
            max_tokens=allowed,
            temperature=temperature,
            seed=seed,
            logprobs=logprobs or top_logprobs > 0,
            top_logprobs=top_logprobs,
            stop=(*self.params.stop, *stop),
        )
        try:
            generation = await bound.backend.generate(messages, params, n)
            self.ledger.record(
                generation,
                role=role or self.role,
                model=bound.model,
                n=n,
                compute_parameters=bound.compute_parameters,
                local_cores=bound.backend.capabilities.local_cores,
            )
        finally:
            if self.spend is not None:
                await self.spend.release(n, allowed, requests)
        if self.spend is not None:
            if allowed < cap and any(s.finish_reason == "length" for s in generation.samples):
                self.stop(self.spend.cut())
            if (past := self.spend.passed()) is not None:
                self.stop(past)
        return generation.samples

    def keep(self, answer: str | None, candidates: Sequence[Candidate] = (), **fields: Any) -> None:
        """Record the best answer so far (a draft before its revision, say): where a limit refuses
        a later call, the strategy ends with this answer instead of none."""
        self.kept = {"answer": answer, "candidates": list(candidates), **fields}

    def stop(self, why: str) -> None:
        """Mark this context, and every context it runs within, as stopped by the limit."""
        ctx: Context | None = self
        while ctx is not None and ctx.stopped is None:
            ctx.stopped = why
            ctx = ctx.parent

    def tool(self, name: str, seconds: float, cores: int = 1) -> None:
        """Record a call that is not a model (a sandbox run) under the `tool` role."""
        self.ledger.record_tool(name, seconds, cores)

    def child(self, *, role: str | None = None, temperature: float | None = None) -> Context:
        """A scoped context for an inner strategy or a judge: a sub-ledger that rolls up into this
        one exactly once, its own deterministic seed, this context's limit, and optionally another
        role (whose model its calls then use) or temperature."""
        seed = None if self.params.seed is None else child_seed(self.params.seed, len(self.children))
        sub = Context(
            self.roles,
            replace(self.params, seed=seed),
            self.temperature if temperature is None else temperature,
            self.ledger.child(),
            role or self.role,
            self.spend,
            parent=self,
        )
        self.children.append(sub)
        return sub

    def result(self, **fields: Any) -> Result:
        """A Result carrying this context's calls (its children's included, once), their sum, and
        the children's own results as a tree."""
        for note in fields.pop("notes", []):
            self.ledger.note(note)  # so that they roll up into every parent's result too
        if fields.get("stopped"):
            self.stop(fields["stopped"])
        fields.pop("stopped", None)
        result = Result(
            model=self.model,
            usage=self.ledger.total(),
            calls=self.ledger.records,
            notes=self.ledger.notes,
            children=[c.last if c.last is not None else c.calls_only() for c in self.children],
            stopped=self.stopped,
            **fields,
        )
        self.last = result
        return result

    def calls_only(self) -> Result:
        """A child that made calls but returned no result of its own (a judge's verdicts), as a
        node of the tree: its role, usage and calls."""
        return Result(
            answer=None,
            strategy=f"{self.role} calls",
            model=self.model,
            candidates=[],
            votes={},
            usage=self.ledger.total(),
            calls=self.ledger.records,
            notes=self.ledger.notes,
            children=[c.last if c.last is not None else c.calls_only() for c in self.children],
            stopped=self.stopped,
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


Counts = Literal["samples", "rounds", "tokens"]


@dataclass(frozen=True)
class StrategyInfo:
    """A registered strategy.

    - `budget`: it takes @N, which counts `counts` (samples drawn, rounds of revision, tokens);
    - `wraps`: its factory receives `inner` (the built inner strategy) and `inner_spec`;
      `default_inner` is used where the spec names none; where `inner_optional`, it runs without
      one too (`bon@4` draws its own samples, `bon@4(revise@2)` runs its inner four times) and
      then receives `inner=None`;
    - `pooling(spec)`: how a study derives it from a pool of samples, or None (run as written);
    - `runs_code`: it runs model-written code itself (in `ponder.sandbox`); an inner strategy and a
      scoring pass that a key names declare their own. None is undeclared, which `ponder serve`
      treats as True (a plugin that says nothing is not trusted); ponder's own strategies all
      declare it (tests/test_code_flag.py).
    """

    name: str
    summary: str
    factory: Callable[..., Strategy]
    keys: dict[str, Key]
    budget: bool  # takes @N
    default_n: int = 1
    counts: Counts = "samples"
    wraps: bool = False
    default_inner: str | None = None
    inner_optional: bool = False
    pooling: Callable[[Spec], Pooling | None] | None = None
    roles: tuple[str, ...] = (POLICY,)  # the roles whose models it calls (a wrapper: its inner's too)
    runs_code: bool | None = None

    def n(self, spec: Spec) -> int:
        return spec.n if spec.n is not None else self.default_n

    def roles_for(self, spec: Spec) -> set[str]:
        """The roles this spec calls: the strategy's own, and those of a scoring pass a key names
        (`bon@8:scorer=verify` calls the judge), its default's included."""
        from ponder.strategies.pooling import SCORE_PASSES

        roles = set(self.roles)
        for key, meta in self.keys.items():
            value = spec.params.get(key, meta.default)
            if isinstance(value, str) and value in SCORE_PASSES:
                roles |= set(SCORE_PASSES[value].roles)
        return roles

    def inner_spec(self, spec: Spec) -> Spec | None:
        if not self.wraps:
            return None
        return spec.inner or (parse_spec(self.default_inner) if self.default_inner else None)


REGISTRY: dict[str, StrategyInfo] = {}


def register(info: StrategyInfo) -> StrategyInfo:
    REGISTRY[info.name] = info
    return info


_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


def _convert(spec: Spec, key: str, raw: str, meta: Key) -> Any:
    if meta.kind is bool:  # bool("false") is True: booleans are spelled out
        if raw.lower() not in (*_TRUE, *_FALSE):
            raise PonderError(f"'{spec}': {key}={raw} must be true or false: {meta.help}")
        return raw.lower() in _TRUE
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


def info_of(spec: Spec) -> StrategyInfo:
    load_plugins()
    info = REGISTRY.get(spec.name)
    if info is None:
        raise PonderError(f"unknown strategy '{spec.name}': use one of {', '.join(sorted(REGISTRY))}")
    return info


def _guarded(run: Strategy, spec: str) -> Strategy:
    """A strategy whose refused call (the limit spent) ends it with the best answer it has: none,
    when the refusal came before any answer."""

    async def guarded(problem: Problem, ctx: Context) -> Result:
        try:
            return await run(problem, ctx)
        except LimitReached as e:
            kept = {"answer": None, "candidates": [], "votes": {}, **ctx.kept}
            return ctx.result(strategy=spec, stopped=str(e), **kept)

    return guarded


def build(spec: Spec | str) -> Strategy:
    """A ready strategy for a spec; unknown names, keys, bad values and budgets are errors."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    info = info_of(spec)
    if spec.inner is not None and not info.wraps:
        raise PonderError(f"'{spec}': {spec.name} does not wrap another strategy")
    if spec.n is not None and not info.budget:
        raise PonderError(f"'{spec}': {spec.name} takes no @N budget; drop it")
    n = info.n(spec)
    if info.budget and info.counts != "tokens" and not 1 <= n <= MAX_N:
        raise PonderError(f"'{spec}': N must be between 1 and {MAX_N}")
    if info.budget and info.counts == "tokens" and not 1 <= n <= 1_000_000:
        raise PonderError(f"'{spec}': N (tokens) must be between 1 and 1000000")
    kwargs: dict[str, Any] = {}
    for key, raw in spec.params.items():
        meta = info.keys.get(key)
        if meta is None:
            known = ", ".join(sorted(info.keys)) or "none"
            raise PonderError(f"'{spec}': unknown key '{key}' for {spec.name} (keys: {known})")
        kwargs[key] = _convert(spec, key, raw, meta)
    if info.budget:
        kwargs["n"] = n
    inner = info.inner_spec(spec)
    if info.wraps and inner is None and info.inner_optional:
        kwargs["inner"] = kwargs["inner_spec"] = None
    elif info.wraps:
        if inner is None:
            raise PonderError(f"'{spec}': {spec.name} wraps a strategy: name it, e.g. {spec.name}@4(cot)")
        kwargs["inner"] = build(inner)
        kwargs["inner_spec"] = str(inner)
    if samples_needed(spec) > MAX_N:
        raise PonderError(
            f"'{spec}' may ask for {samples_needed(spec)} samples at once, more than {MAX_N}: lower a budget"
        )
    return _guarded(info.factory(spec=str(spec), **kwargs), str(spec))


def roles_used(spec: Spec | str) -> set[str]:
    """Every role the spec's strategies call, inner strategies' included."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    info = info_of(spec)
    inner = info.inner_spec(spec)
    return info.roles_for(spec) | (roles_used(inner) if inner is not None else set())


def check_roles(specs: Sequence[Spec | str], named: Sequence[str]) -> None:
    """A role given a model that no strategy calls is a mistake (a typo, a judge for `cot`): say so
    before any model loads."""
    used = set().union(*(roles_used(s) for s in specs)) if specs else set()
    for role in named:
        if role not in used:
            names, calls = ", ".join(str(s) for s in specs), ", ".join(sorted(used))
            raise PonderError(
                f"--role {role}: no strategy in {names} calls a {role} role (they call: {calls})"
            )


def samples_needed(spec: Spec | str) -> int:
    """How many samples the spec may ask for at once (a call's n, or concurrent inner runs):
    sizes the engine's slots."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    info = info_of(spec)
    inner = info.inner_spec(spec)
    within = samples_needed(inner) if inner is not None else 1
    if info.budget and info.counts == "samples":
        return info.n(spec) * within
    return within


_plugins_loaded = False
PLUGIN_GROUP = "ponder.strategies"


def load_plugins() -> list[str]:
    """Register strategies from other packages: each entry point in the `ponder.strategies` group
    names a module (registering on import) or a `StrategyInfo`. A broken plugin is reported on
    stderr in one line and skipped; it never stops ponder. Returns the names loaded."""
    global _plugins_loaded
    if _plugins_loaded:
        return []
    _plugins_loaded = True
    from importlib.metadata import entry_points

    loaded = []
    for ep in entry_points(group=PLUGIN_GROUP):
        try:
            obj = ep.load()
        except Exception as e:  # a plugin's own bug must not break ponder
            print(f"ponder: strategy plugin '{ep.name}' failed to load ({e}); skipped", file=sys.stderr)
            continue
        if isinstance(obj, StrategyInfo):
            register(obj)
        loaded.append(ep.name)
    return loaded
