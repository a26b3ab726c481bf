"""A scripted backend for strategy logic: it replays given completions and records each request.

It stands in for a model only where the model's words do not matter (votes, scorers, accounting);
integration tests use the real small model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ponder.backends.base import Backend, Capabilities
from ponder.models.resolve import ModelRef
from ponder.session import Options, Session
from ponder.types import Generation, Message, Sample, SamplingParams


def session(
    backends: Backend | Mapping[str, Backend],
    parameters: int | Mapping[str, int | None] | None = 1000,
    roles: Mapping[str, str] | None = None,
    **options: Any,
) -> Session:
    """A session on stand-in backends, opened the one way every session is (`Session.open`).

    `backends` maps model names to backends (one backend: the model "scripted"); `roles` maps roles
    to those names (default: the first model is the policy)."""
    models = {"scripted": backends} if not isinstance(backends, Mapping) else dict(backends)
    sizes = parameters if isinstance(parameters, Mapping) else dict.fromkeys(models, parameters)
    roles = roles or {"policy": next(iter(models))}

    def opener(model: str, o: Options, slots: int) -> tuple[Backend, ModelRef]:
        return models[model], ModelRef(model, "embedded", model, None, sizes[model])

    return Session.open(roles, Options(**options), opener=opener)


@dataclass
class Request:
    messages: list[Message]
    params: SamplingParams
    n: int


@dataclass
class ScriptedBackend:
    texts: list[str]
    logprobs: list[float | None] | None = None
    tokens_each: int = 10
    prompt_tokens: int = 20
    model: str = "scripted"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(max_n=64, logprobs=True, prefix_sharing=True)
    )
    requests: list[Request] = field(default_factory=list)
    delay: float = 0.0  # seconds each call takes: concurrent callers then really overlap
    cost_seconds: float = 0.5
    _next: int = 0

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        import asyncio

        self.requests.append(Request(list(messages), params, n))
        if self.delay:
            await asyncio.sleep(self.delay)
        samples = []
        for _ in range(n):
            i = self._next % len(self.texts)
            self._next += 1
            lp = self.logprobs[i] if self.logprobs is not None and params.logprobs else None
            tokens = min(self.tokens_each, params.max_tokens)  # an engine stops at max_tokens
            finish = "length" if tokens < self.tokens_each else "stop"
            samples.append(
                Sample(text=self.texts[i], completion_tokens=tokens, mean_logprob=lp, finish_reason=finish)
            )
        return Generation(
            samples=samples,
            prompt_tokens=self.prompt_tokens,
            cached_prompt_tokens=0,
            completion_tokens=sum(s.completion_tokens for s in samples),
            wall_seconds=self.cost_seconds,
        )

    def close(self) -> None:
        pass


@dataclass
class SeededBackend:
    """A deterministic stand-in for a model: each sample depends only on (prompt, seed, index), never
    on the order of calls, so a killed-and-resumed study can be compared with an uninterrupted one."""

    model: str = "seeded"
    answers: tuple[str, ...] = ("1", "2", "3")
    delay: float = 0.0
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(max_n=64, logprobs=True, prefix_sharing=True, local_cores=2)
    )

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        import asyncio
        import hashlib

        if self.delay:
            await asyncio.sleep(self.delay)
        prompt = "".join(m.content for m in messages)
        samples = []
        for i in range(n):
            h = int.from_bytes(hashlib.sha256(f"{prompt}|{params.seed}|{i}".encode()).digest()[:8], "big")
            answer = self.answers[h % len(self.answers)] if h % 7 else None
            tokens = 5 + h % 20
            text = f"thinking {h % 1000}\nAnswer: {answer}" if answer else "no idea"
            samples.append(
                Sample(
                    text=text,
                    completion_tokens=tokens,
                    mean_logprob=-(h % 100) / 100 if params.logprobs else None,
                    finish_reason="length" if tokens >= params.max_tokens else "stop",
                )
            )
        return Generation(samples, 30, 0, sum(s.completion_tokens for s in samples), 0.01 * n)

    def close(self) -> None:
        pass


@dataclass
class CachingBackend:
    """A stand-in engine with a prompt cache and a batching curve, whose every figure is a formula:
    a prompt seen before is cached but for its last token; a request takes PROMPT_RATE seconds per
    uncached prompt token plus, per decode step of its longest sample, STEP × (1 + (n − 1) / 4).
    Samples are SeededBackend's, so `fresh_seconds` can say what any request costs run alone."""

    model: str = "caching"
    prompt_tokens: int = 40
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(max_n=64, logprobs=True, prefix_sharing=True, local_cores=2)
    )
    seen: set[str] = field(default_factory=set)

    PROMPT_RATE = 0.01
    STEP = 0.02

    def step(self, n: int) -> float:
        return self.STEP * (1 + (n - 1) / 4)

    def fresh_seconds(self, samples: Sequence[Sample]) -> float:
        longest = max(s.completion_tokens for s in samples)
        return self.prompt_tokens * self.PROMPT_RATE + longest * self.step(len(samples))

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        drawn = await SeededBackend(model=self.model).generate(messages, params, n)
        prompt = "".join(m.content for m in messages)
        cached = self.prompt_tokens - 1 if prompt in self.seen else 0
        self.seen.add(prompt)
        prompt_seconds = (self.prompt_tokens - cached) * self.PROMPT_RATE
        longest = max(s.completion_tokens for s in drawn.samples)
        return Generation(
            samples=drawn.samples,
            prompt_tokens=self.prompt_tokens,
            cached_prompt_tokens=cached,
            completion_tokens=drawn.completion_tokens,
            wall_seconds=prompt_seconds + longest * self.step(n),
            prompt_seconds=prompt_seconds,
        )

    def close(self) -> None:
        pass
