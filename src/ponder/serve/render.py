"""A finished run as OpenAI's response objects, with the `ponder` extra field.

`usage` counts every internal call of the request (every role's, every sample's, a judge's and a
fallback scorer's): prompt tokens as each call processed them, completion tokens of every sample,
so `total_tokens` is what the request cost, not what the chosen text cost. The `ponder` field says
how it was spent (`usage`: the whole `Usage`, FLOPs and dollars included; `usage_by_role`), and what
was chosen from what (`answer`, `scorer`, `chosen`, `candidates`, `votes`, `notes`, `stopped`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from ponder.serve.runner import Outcome
from ponder.types import CallRecord, Usage


def openai_usage(u: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.prompt_tokens + u.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_prompt_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.thinking_tokens},
    }


def by_role(calls: Iterable[CallRecord]) -> dict[str, dict[str, Any]]:
    totals: dict[str, Usage] = {}
    for c in calls:
        totals[c.role] = totals.get(c.role, Usage()) + c.usage
    return {role: u.to_dict() for role, u in totals.items()}


def ponder_field(o: Outcome) -> dict[str, Any]:
    r = o.result
    return {
        "run_id": r.run_id,
        "strategy": r.strategy,
        "model": r.model,
        "answer": r.answer,
        "scorer": o.choice.scorer,
        "chosen": o.choice.index,
        "candidates": [c.to_dict() for c in r.candidates],
        "votes": dict(r.votes),
        "notes": list(r.notes),
        "stopped": r.stopped,
        "usage": r.usage.to_dict(),
        "usage_by_role": by_role(r.calls),
    }


def new_id(prefix: str, o: Outcome | None = None) -> str:
    run = o.result.run_id if o is not None else None
    return f"{prefix}-{run or uuid.uuid4().hex[:24]}"


def chat_response(o: Outcome, model: str, rid: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": o.text}
    if o.thoughts:
        message["reasoning_content"] = o.thoughts
    return {
        "id": rid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": o.finish_reason, "logprobs": None}],
        "usage": openai_usage(o.result.usage),
        "ponder": ponder_field(o),
    }


def completion_response(o: Outcome, model: str, rid: str) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "text": o.text, "finish_reason": o.finish_reason, "logprobs": None}],
        "usage": openai_usage(o.result.usage),
        "ponder": ponder_field(o),
    }
