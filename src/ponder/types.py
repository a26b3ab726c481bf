"""The plain data that flows through ponder: problems, samples, usage and results.

Invariants:
- `Usage` is additive: the usage of a result is the sum of the usages of its calls, never an estimate
  made apart from them.
- `thinking_tokens` is a part of `completion_tokens`, as OpenAI's `reasoning_tokens` is.
- A `Problem` has no gold answer at all: the gold stays with the task's `Item`, which only oracles
  see (tests/test_no_gold.py proves no strategy can reach it).
- A `Result`'s usage is its own calls plus its children's, each counted once; `children` keeps the
  inner strategies' results (a vote's runs, a judge's verdicts) as a tree.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ponder.rubric import Rubric

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Problem:
    """A question to answer, as a strategy sees it: there is no gold answer here to read."""

    question: str
    id: str = ""
    answer_format: str = "auto"
    instruction: str = "Give the final answer on its own last line, in the form 'Answer: <answer>'."
    stop: tuple[str, ...] = ()  # where an answer is complete (a closed code block), to spend no more
    # What a judge reads the answer against (a writing task's rules and a reader's criteria); None:
    # the judges use `ponder.rubric.DEFAULT`. The task's stated criteria, never its gold.
    rubric: Rubric | None = None


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    logprobs: bool = False  # the model's token logprobs, for scorers that read them
    # The most likely alternatives to report at each token (a verifier's P(yes) reads the first
    # token's); 0: none. Implies logprobs.
    top_logprobs: int = 0
    stop: tuple[str, ...] = ()
    ignore_eos: bool = False
    # Sampling a server must be told about (`ponder.backends.openai_compat`: sent only to a server
    # named vllm+ or sglang+; the embedded engine takes them too). None: not sent, the engine's own
    # default applies (llama.cpp: top_k 40, min_p 0.05; vLLM and SGLang: the model's
    # generation_config.json, else off). Last, so that positional calls keep their meaning.
    top_k: int | None = None
    min_p: float | None = None


@dataclass(frozen=True)
class Sample:
    """One completion. `text` is the answer part; `thoughts` the thinking block, if any."""

    text: str
    thoughts: str = ""
    finish_reason: str = "stop"
    completion_tokens: int = 0
    thinking_tokens: int = 0
    mean_logprob: float | None = None
    latency_s: float = 0.0
    # The first generated token's most likely alternatives, (token, logprob), most likely first:
    # filled where the call asked for `top_logprobs` and the backend reports them.
    first_top: tuple[tuple[str, float], ...] = ()


@dataclass
class Usage:
    """What one or more model calls spent. Add usages with `+`."""

    calls: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    completion_tokens: int = 0
    thinking_tokens: int = 0
    wall_seconds: float = 0.0
    flops: float = 0.0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            cached_prompt_tokens=self.cached_prompt_tokens + other.cached_prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            thinking_tokens=self.thinking_tokens + other.thinking_tokens,
            wall_seconds=self.wall_seconds + other.wall_seconds,
            flops=self.flops + other.flops,
            cost_usd=self.cost_usd + other.cost_usd,
        )

    @property
    def uncached_tokens(self) -> int:
        """Tokens the model actually processed: uncached prompt plus everything generated."""
        return self.prompt_tokens - self.cached_prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Generation:
    """What a backend returns for one call: n samples of one prompt and the call's raw token counts."""

    samples: list[Sample]
    prompt_tokens: int
    cached_prompt_tokens: int
    completion_tokens: int  # the call's total; ≥ the samples' sum where a server hides reasoning
    wall_seconds: float
    requests: int = 1
    # Seconds the engine says it spent on the uncached prompt (llama.cpp's `timings.prompt_ms`);
    # 0 where the server does not say. The study charges cached prompt tokens at this rate.
    prompt_seconds: float = 0.0
    # The first engine request's own prompt figures (a call of several requests: chunks of a large
    # n, or one request per sample where a server refuses n). None: the same as the totals.
    first_prompt_tokens: int | None = None
    first_cached_prompt_tokens: int | None = None
    # The fraction of its wall time this call held a local engine's cores: 1 alone, less when calls
    # overlapped on the engine (`backends/shared.py`). Local dollars are wall × share × cores × price.
    core_share: float = 1.0


@dataclass(frozen=True)
class CallRecord:
    """One model call as the ledger recorded it."""

    role: str
    model: str
    n: int
    usage: Usage
    prompt_seconds: float = 0.0  # the engine's own figure for the uncached prompt; 0 when unknown
    requests: int = 1  # engine requests behind the call
    first_prompt_tokens: int = 0  # the first request's prompt tokens: what one independent request reads
    first_cached_prompt_tokens: int = 0  # and its cache hits (later requests extend the call's own prefix)


@dataclass(frozen=True)
class Candidate:
    text: str
    answer: str | None
    score: float | None
    completion_tokens: int
    thoughts: str = ""
    finish_reason: str = "stop"
    thinking_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.score is not None and not math.isfinite(self.score):
            out["score"] = None  # JSON has no infinities
        return out


@dataclass
class Result:
    """What a strategy returns: the chosen answer, every candidate, and the sum of its calls."""

    answer: str | None
    strategy: str
    model: str
    candidates: list[Candidate]
    votes: dict[str, int]
    usage: Usage
    calls: list[CallRecord] = field(default_factory=list)
    scorer: str | None = None
    notes: list[str] = field(default_factory=list)
    run_id: str | None = None
    children: list[Result] = field(default_factory=list)  # inner strategies' results, in run order
    stopped: str | None = None  # why a limit stopped it early; None when it ran to the end

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "answer": self.answer,
            "strategy": self.strategy,
            "model": self.model,
            "scorer": self.scorer,
            "candidates": [c.to_dict() for c in self.candidates],
            "votes": dict(self.votes),
            "usage": self.usage.to_dict(),
            "calls": [{"role": c.role, "model": c.model, "n": c.n, **c.usage.to_dict()} for c in self.calls],
            "notes": list(self.notes),
            "stopped": self.stopped,
            "children": [c.to_dict() for c in self.children],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """The inverse of `to_dict` (a stored run read back)."""
        usage_keys = set(Usage.__dataclass_fields__)
        calls = [
            CallRecord(
                role=c["role"],
                model=c["model"],
                n=c["n"],
                usage=Usage(**{k: v for k, v in c.items() if k in usage_keys}),
            )
            for c in data.get("calls", [])
        ]
        candidates = [
            Candidate(**{k: v for k, v in c.items() if k in Candidate.__dataclass_fields__})
            for c in data.get("candidates", [])
        ]
        return cls(
            answer=data.get("answer"),
            strategy=data.get("strategy", ""),
            model=data.get("model", ""),
            candidates=candidates,
            votes=dict(data.get("votes", {})),
            usage=Usage(**{k: v for k, v in data.get("usage", {}).items() if k in usage_keys}),
            calls=calls,
            scorer=data.get("scorer"),
            notes=list(data.get("notes", [])),
            run_id=data.get("run_id"),
            children=[cls.from_dict(c) for c in data.get("children", [])],
            stopped=data.get("stopped"),
        )
