"""The sessions a server holds open, and one request run on them and recorded.

One `Session` per served model, opened when the server starts and closed when it stops; every
request gets a fresh context from it (`Session.context`: its own ledger, seed and limit), so
concurrent requests share the engines and never each other's accounting. A model that two sessions
name (one `--judge` for every served model) is opened once and closed once.

A failure of the model or the upstream while a strategy runs (a `PonderError` from the backend:
the connection dropped, HTTP 5xx after retries) is a 502; the prompt not fitting the context is a
400. Anything else is a bug and reaches the 500 handler, which logs it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ponder.backends.base import Backend, Capabilities
from ponder.backends.factory import MAX_SLOTS
from ponder.errors import PonderError
from ponder.models.resolve import ModelRef
from ponder.models.resolve import parse as parse_model
from ponder.serve.choose import Choice, choose
from ponder.serve.config import ServeConfig
from ponder.serve.errors import ApiError
from ponder.serve.routing import Route
from ponder.session import Options, Session
from ponder.store import open_store
from ponder.strategies.base import Context
from ponder.strategies.sampling import to_candidate
from ponder.types import Generation, Message, Problem, Result, SamplingParams

SessionFactory = Callable[[str], Session]  # a served model's name → its open session
CHAT = "chat"  # the strategy recorded for a request that names none: its messages, as they are
CHAT_TEMPERATURE = 1.0  # OpenAI's default where a plain request names none


class _Once:
    """A backend that more than one session holds: closed once, by the server, at the end."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.model = inner.model
        self.capabilities: Capabilities = inner.capabilities

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        return await self.inner.generate(messages, params, n)

    def close(self) -> None:
        pass  # `default_factory(...).close_all` closes the real one


class DefaultFactory:
    """Sessions on the embedded engine, or on `openai:NAME` in front of `--upstream`; each distinct
    model reference opened once for every session, with slots for the server's concurrency."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.opened: dict[str, tuple[Backend, ModelRef]] = {}
        self.slots = max(1, min(MAX_SLOTS, max(config.max_n, config.max_concurrency)))

    def _open(self, reference: str, options: Options, slots: int) -> tuple[Backend, ModelRef]:
        if reference not in self.opened:
            ref = parse_model(reference, quiet=True)
            if ref.kind == "openai":
                from ponder.backends.openai_compat import OpenAIBackend

                backend: Backend = OpenAIBackend(
                    ref.name,
                    base_url=self.config.upstream,
                    api_key=self.config.upstream_key,
                    max_retries=self.config.upstream_retries,
                )
            else:
                from ponder.backends.factory import open_backend

                backend = open_backend(ref, options.backend, slots=self.slots)
            self.opened[reference] = (backend, ref)
        backend, ref = self.opened[reference]
        return _Once(backend), ref

    def __call__(self, model: str) -> Session:
        c = self.config
        options = Options(max_tokens=c.max_tokens, threads=c.threads, ctx=c.ctx, base_url=c.upstream)
        return Session.open(c.roles_of(model), options, slots=self.slots, opener=self._open)

    def close_all(self) -> None:
        for backend, _ in self.opened.values():
            backend.close()
        self.opened.clear()


@dataclass(frozen=True)
class Outcome:
    """A finished request: the run (with every call), the candidate chosen, and its id in the store."""

    result: Result
    choice: Choice
    question: str

    @property
    def text(self) -> str:
        i = self.choice.index
        return self.result.candidates[i].text if i is not None else ""

    @property
    def thoughts(self) -> str:
        i = self.choice.index
        return self.result.candidates[i].thoughts if i is not None else ""

    @property
    def finish_reason(self) -> str:
        i = self.choice.index
        reason = self.result.candidates[i].finish_reason if i is not None else "stop"
        return "length" if reason == "length" else "stop"


@dataclass(frozen=True)
class Ask:
    """What one request asks, after validation."""

    route: Route
    messages: list[Message]
    question: str
    max_tokens: int
    temperature: float | None
    seed: int | None
    endpoint: str


async def _chat(messages: list[Message], ctx: Context, temperature: float | None) -> Result:
    """A request without a strategy: its messages, as they are, one sample."""
    t = CHAT_TEMPERATURE if temperature is None else temperature
    (sample,) = await ctx.generate(messages, 1, temperature=t)
    return ctx.result(answer=None, strategy=CHAT, candidates=[to_candidate(sample, None, None)], votes={})


def context_for(session: Session, ask: Ask) -> Context:
    options = replace(session.options, max_tokens=ask.max_tokens)
    view = replace(session, options=options)  # the same open models, this request's settings
    return view.context(seed=ask.seed, temperature=ask.temperature, limit=ask.route.limit)


async def run(session: Session, ask: Ask, ctx: Context, config: ServeConfig) -> Outcome:
    """Run the request's strategy in `ctx`, choose the text to answer with, record the run."""
    problem = Problem(question=ask.question)
    try:
        if ask.route.strategy is None:
            result = await _chat(ask.messages, ctx, ask.temperature)
        else:
            result = await ask.route.strategy(problem, ctx)
        choice = await choose(result, problem, ctx)
    except PonderError as e:
        text = str(e)
        if "context" in text and ("more than" in text or "does not fit" in text):
            raise ApiError(400, text, param="messages", code="context_length_exceeded") from None
        raise ApiError(502, f"the model failed: {text}", code="upstream_error") from None
    result = choice.result
    if config.record:
        result.run_id = await asyncio.to_thread(_record, result, ask, config)
    return Outcome(result, choice, ask.question)


def _record(result: Result, ask: Ask, config: ServeConfig) -> str:
    settings: dict[str, Any] = {
        "endpoint": ask.endpoint,
        "max_tokens": ask.max_tokens,
        "temperature": ask.temperature,
        "seed": ask.seed,
        "limit": str(ask.route.limit) if ask.route.limit else None,
        "roles": config.roles_of(ask.route.model),
        "base_url": config.upstream,
    }
    store = open_store()
    try:
        return store.save(result, kind="serve", question=ask.question, settings=settings)
    finally:
        store.close()
