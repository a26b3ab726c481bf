"""Read an OpenAI-shaped chat or text completion (a plain dict) into samples and token counts.

Both backends speak this shape: the embedded engine returns it as a dict, and the HTTP backend dumps
the `openai` client's objects to one. Parsing is defensive: servers differ in which fields they fill.
Each choice's completion tokens are counted from its own logprobs (one entry per token), because
llama.cpp's server reports `usage.completion_tokens` of the first choice only when n > 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ponder.backends.thinking import split_thinking, thinking_token_count
from ponder.types import Sample


@dataclass(frozen=True)
class ParsedResponse:
    samples: list[Sample]
    prompt_tokens: int
    cached_prompt_tokens: int
    reported_completion_tokens: int  # what the server's usage says, whatever it means
    reported_reasoning_tokens: int  # usage.completion_tokens_details.reasoning_tokens, if given
    counted: bool  # every choice's tokens were counted from its logprobs
    prompt_seconds: float = 0.0  # the engine's time on the uncached prompt (timings.prompt_ms), if given


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _choice(choice: dict[str, Any], latency_s: float) -> tuple[Sample, bool]:
    message = choice.get("message") or {}
    raw = message.get("content") if message else choice.get("text")
    raw = raw or ""
    reasoning = message.get("reasoning_content") or "" if message else ""
    if reasoning:
        thoughts, text = reasoning.strip(), raw.strip()
    else:
        thoughts, text = split_thinking(raw)
    entries = (choice.get("logprobs") or {}).get("content")
    counted = isinstance(entries, list)
    tokens = entries if isinstance(entries, list) else []
    logprobs = [float(e["logprob"]) for e in tokens if isinstance(e.get("logprob"), int | float)]
    token_bytes = [bytes(e.get("bytes") or str(e.get("token", "")).encode()) for e in tokens]
    thinking = thinking_token_count(token_bytes, raw) if not reasoning else 0
    sample = Sample(
        text=text,
        thoughts=thoughts,
        finish_reason=str(choice.get("finish_reason") or "stop"),
        completion_tokens=len(tokens),
        thinking_tokens=thinking,
        mean_logprob=sum(logprobs) / len(logprobs) if logprobs else None,
        latency_s=latency_s,
    )
    return sample, counted


def parse_response(response: dict[str, Any], latency_s: float) -> ParsedResponse:
    choices = sorted(response.get("choices") or [], key=lambda c: _int(c.get("index")))
    parsed = [_choice(c, latency_s) for c in choices]
    usage = response.get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return ParsedResponse(
        samples=[s for s, _ in parsed],
        prompt_tokens=_int(usage.get("prompt_tokens")),
        cached_prompt_tokens=_int(details.get("cached_tokens")),
        reported_completion_tokens=_int(usage.get("completion_tokens")),
        reported_reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
        counted=bool(parsed) and all(c for _, c in parsed),
        prompt_seconds=_prompt_seconds(response),
    )


def _prompt_seconds(response: dict[str, Any]) -> float:
    timings = response.get("timings")
    if not isinstance(timings, dict):
        return 0.0
    ms = timings.get("prompt_ms")
    return float(ms) / 1000.0 if isinstance(ms, int | float) and ms >= 0 else 0.0
