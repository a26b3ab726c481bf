"""Read an OpenAI-shaped chat or text completion (a plain dict) into samples and token counts.

Both backends speak this shape: the embedded engine returns it as a dict, and the HTTP backend dumps
the `openai` client's objects to one. Parsing is defensive: servers differ in which fields they fill.
Each choice's completion tokens are counted from its own logprobs (one entry per token), because
llama.cpp's server reports `usage.completion_tokens` of the first choice only when n > 1.

A continuation (`prefix` given: the final assistant message's text) keeps the new text exactly as
generated. Servers differ on whether the reply repeats the prefix (llama.cpp's chat endpoint does,
vLLM's does not): the repetition is removed, and where the choice's tokens are known they decide, so
a model that itself writes the prefix again keeps what it wrote.
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


def _entries(logprobs: dict[str, Any]) -> list[dict[str, Any]] | None:
    """One entry per generated token: the chat shape (`content`, also llama.cpp's text completions),
    or the text completion's older parallel lists (`tokens`, `token_logprobs`: vLLM, OpenAI)."""
    content = logprobs.get("content")
    if isinstance(content, list):
        return content
    tokens = logprobs.get("tokens")
    if not isinstance(tokens, list):
        return None
    values = logprobs.get("token_logprobs") or []
    tops = logprobs.get("top_logprobs") or []  # one {token: logprob} per token
    return [
        {
            "token": token,
            "logprob": values[i] if i < len(values) else None,
            "top_logprobs": [
                {"token": t, "logprob": v} for t, v in (tops[i] if i < len(tops) and tops[i] else {}).items()
            ],
        }
        for i, token in enumerate(tokens)
    ]


def strip_echo(raw: str, prefix: str, generated: str | None) -> str:
    """The new text of a continuation whose reply may repeat the prefix (`generated`: the tokens' text)."""
    if not prefix or not raw.startswith(prefix):
        return raw
    if generated is not None and len(raw) <= len(generated):
        return raw  # the generated tokens alone spell all of it: the model wrote the prefix again
    return raw[len(prefix) :]


def _choice(choice: dict[str, Any], latency_s: float, prefix: str | None) -> tuple[Sample, bool]:
    message = choice.get("message") or {}
    raw = message.get("content") if message else choice.get("text")
    raw = raw or ""
    reasoning = message.get("reasoning_content") or "" if message else ""
    entries = _entries(choice.get("logprobs") or {})
    counted = isinstance(entries, list)
    tokens = entries if isinstance(entries, list) else []
    logprobs = [float(e["logprob"]) for e in tokens if isinstance(e.get("logprob"), int | float)]
    token_bytes = [bytes(e.get("bytes") or str(e.get("token", "")).encode()) for e in tokens]
    if prefix is not None:
        generated = b"".join(token_bytes).decode(errors="replace") if counted else None
        text = strip_echo(raw, prefix, generated)
        thoughts = reasoning.strip()
        # Counted over the whole message, the prefix as one leading piece that is then taken off: a
        # thinking block the prefix opened goes on in the new text.
        whole = thinking_token_count([prefix.encode(), *token_bytes], prefix + text)
        thinking = 0 if reasoning else max(0, whole - 1)
    elif reasoning:
        thoughts, text = reasoning.strip(), raw.strip()
        thinking = 0
    else:
        thoughts, text = split_thinking(raw)
        thinking = thinking_token_count(token_bytes, raw)
    top = tokens[0].get("top_logprobs") if tokens else None
    first_top = tuple(
        (str(t.get("token", "")), float(t["logprob"]))
        for t in (top if isinstance(top, list) else [])
        if isinstance(t, dict) and isinstance(t.get("logprob"), int | float)
    )
    sample = Sample(
        text=text,
        thoughts=thoughts,
        finish_reason=str(choice.get("finish_reason") or "stop"),
        completion_tokens=len(tokens),
        thinking_tokens=thinking,
        mean_logprob=sum(logprobs) / len(logprobs) if logprobs else None,
        latency_s=latency_s,
        first_top=first_top,
    )
    return sample, counted


def parse_response(response: dict[str, Any], latency_s: float, prefix: str | None = None) -> ParsedResponse:
    """`prefix`: the text a continuation continues (None for a new turn)."""
    choices = sorted(response.get("choices") or [], key=lambda c: _int(c.get("index")))
    parsed = [_choice(c, latency_s, prefix) for c in choices]
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
