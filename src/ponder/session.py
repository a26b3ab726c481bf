"""The one way to open the models a strategy runs on: `Session.open(roles, options)`.

A session maps roles to models: `policy` (the model that answers), `judge`, and any role a strategy
names (a `proposer` that writes test inputs, say). A role without its own model uses the policy
model; roles that name the same model share one backend. `tool` is not a model: it is the role of
calls such as a sandbox run (`Context.tool`).

Every setting is checked once, here, before any model loads; `ask`, the evaluator, the study and the
proxy all open their models through this module, and each question gets a fresh `Context` from
`Session.context` (its own ledger, seed and limit).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType

from ponder.backends.base import Backend
from ponder.backends.factory import DEFAULT_CTX, DEFAULT_THREADS, BackendOptions, open_backend
from ponder.backends.shared import Shared
from ponder.errors import PonderError
from ponder.ledger import TOOL, Ledger
from ponder.limits import Limit
from ponder.models import prices
from ponder.models.resolve import PRM_PREFIX, ModelRef
from ponder.models.resolve import parse as parse_model
from ponder.strategies.base import POLICY, SEED_MODULUS, Bound, Context
from ponder.types import SamplingParams

JUDGE = "judge"
MAX_TOKENS_LIMIT = 32768
_ROLE = re.compile(r"[a-z][a-z0-9_-]*")

# Opens one model for a session: (model reference, options, slots) → its backend and resolved ref.
# The default resolves (pulling a catalog model) and opens the engine; tests inject stand-ins.
Opener = Callable[[str, "Options", int], tuple[Backend, ModelRef]]


class _Default:
    """The session's own setting (a context argument left out)."""


DEFAULT = _Default()


@dataclass(frozen=True)
class Options:
    """How the models are run and sampled; one typed object instead of loose keyword arguments."""

    max_tokens: int = 512
    temperature: float | None = None  # None: each strategy's own default
    seed: int | None = None  # None: a random seed per request
    threads: int = DEFAULT_THREADS
    ctx: int = DEFAULT_CTX
    base_url: str | None = None
    api_key: str | None = None
    limit: Limit | None = None  # per question

    @property
    def backend(self) -> BackendOptions:
        """The settings that reach the backend, as one typed object."""
        return BackendOptions(
            threads=self.threads, ctx=self.ctx, base_url=self.base_url, api_key=self.api_key
        )

    def check(self) -> None:
        """Every setting, checked once; each error is one line naming the flag to fix."""
        if not 1 <= self.max_tokens <= MAX_TOKENS_LIMIT:
            raise PonderError(f"--max-tokens must be between 1 and {MAX_TOKENS_LIMIT}")
        if self.temperature is not None and not 0.0 <= self.temperature <= 2.0:
            raise PonderError("--temperature must be between 0 and 2")
        if self.seed is not None and not 0 <= self.seed < SEED_MODULUS:
            raise PonderError(
                f"--seed must be between 0 and {SEED_MODULUS - 1} (leave it out for a random one)"
            )
        if self.threads < 1:
            raise PonderError("--threads must be at least 1")
        if self.ctx < 64:
            raise PonderError("--ctx must be at least 64 tokens")


def parse_roles(policy: str, roles: Sequence[str] = (), judge: str | None = None) -> dict[str, str]:
    """`--model M`, `--role ROLE=MODEL` (repeatable) and `--judge MODEL` → {role: model}."""
    out = {POLICY: policy}
    pairs = [*roles, *([f"{JUDGE}={judge}"] if judge is not None else [])]
    for pair in pairs:
        role, eq, model = pair.partition("=")
        role, model = role.strip(), model.strip()
        if not eq or not _ROLE.fullmatch(role):
            raise PonderError(f"--role '{pair}': write ROLE=MODEL, e.g. judge=qwen2.5-1.5b")
        if not model:
            raise PonderError(f"--role '{pair}': name the model for {role}, e.g. {role}=qwen2.5-1.5b")
        if role in (POLICY, TOOL):
            raise PonderError(f"--role '{pair}': {role} cannot be named here (use --model for the policy)")
        if role in out:
            raise PonderError(f"--role names {role} twice")
        out[role] = model
    return out


@dataclass
class Session:
    """Open models by role, and the settings every question's context starts from."""

    bound: dict[str, Bound]
    options: Options = field(default_factory=Options)
    prices: prices.PriceTable = field(default_factory=prices.PriceTable)

    @classmethod
    def open(
        cls,
        roles: Mapping[str, str] | str,
        options: Options | None = None,
        *,
        slots: int = 1,
        quiet: bool = True,
        opener: Opener | None = None,
    ) -> Session:
        """Check everything, then open one backend per distinct model, sized for `slots` samples at
        once. A failure closes whatever was opened."""
        options = options or Options()
        options.check()
        roles = {POLICY: roles} if isinstance(roles, str) else dict(roles)
        if POLICY not in roles:
            raise PonderError("no policy model: name the model that answers (--model)")
        if roles[POLICY].startswith(PRM_PREFIX):
            raise PonderError(
                f"--model {roles[POLICY]}: a process reward model only scores steps; "
                "the policy must be a language model"
            )
        table = prices.load()
        if opener is None:  # every reference resolved before any engine loads
            resolved = {m: parse_model(m, quiet=quiet) for m in dict.fromkeys(roles.values())}
            opener = lambda m, o, k: (_open(resolved[m], o, k), resolved[m])  # noqa: E731
        opened: dict[str, tuple[Backend, ModelRef]] = {}
        try:
            for model in dict.fromkeys(roles.values()):
                opened[model] = opener(model, options, slots)
        except BaseException:
            for backend, _ in opened.values():
                backend.close()
            raise
        # A local engine is shared by the calls in flight on it: each is charged its share of the cores.
        backends = {m: Shared(b) if b.capabilities.local_cores > 0 else b for m, (b, _) in opened.items()}
        bound = {role: Bound(backends[m], m, opened[m][1].compute_parameters) for role, m in roles.items()}
        return cls(bound, options, table)

    @property
    def model(self) -> str:
        return self.bound[POLICY].model

    def context(
        self,
        *,
        seed: int | _Default | None = DEFAULT,
        temperature: float | _Default | None = DEFAULT,
        limit: Limit | _Default | None = DEFAULT,
    ) -> Context:
        """A fresh context for one question: its own ledger, seed and limit (each left out takes the
        session's option)."""
        o = self.options
        return Context.root(
            self.bound,
            params=SamplingParams(
                max_tokens=o.max_tokens, seed=o.seed if isinstance(seed, _Default) else seed
            ),
            temperature=o.temperature if isinstance(temperature, _Default) else temperature,
            ledger=Ledger(prices=self.prices),
            limit=o.limit if isinstance(limit, _Default) else limit,
        )

    def close(self) -> None:
        closed: set[int] = set()
        for b in self.bound.values():
            if id(b.backend) not in closed:
                closed.add(id(b.backend))
                b.backend.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _open(ref: ModelRef, options: Options, slots: int) -> Backend:
    return open_backend(ref, options.backend, slots=slots)
