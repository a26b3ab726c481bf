"""Server-sent events for a streamed request.

A strategy gives no hook per sample, but every model call goes through the context's ledger, so
the stream reports each call as it finishes. The events, in order:

1. at once, a chunk with `delta.role = "assistant"` (chat) or empty text (completions);
2. while the strategy runs: a progress chunk each time an internal call finishes, with an empty
   delta and `ponder.progress = {"calls", "samples", "completion_tokens", "role"}` (totals so far;
   plain clients ignore the field), and a comment line `: keep-alive` after each quiet interval;
3. the chosen candidate's thoughts as `delta.reasoning_content`, then its text as `delta.content`,
   in pieces;
4. a last choice chunk with `finish_reason` and the `ponder` field of a non-streamed response;
5. with `stream_options.include_usage`, a chunk with no choices and `usage` (every internal call);
6. `data: [DONE]`.

An error after the stream began (the upstream failed: a 502) is sent as an event
`{"error": {...}}` in OpenAI's shape, then `[DONE]`; OpenAI's clients raise it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from ponder.serve.errors import ApiError, log
from ponder.serve.render import openai_usage, ponder_field
from ponder.serve.runner import Outcome
from ponder.strategies.base import Context

PIECE = 48  # characters of text per content chunk
POLL = 0.1  # seconds between looks at the ledger


def _sse(data: dict[str, Any] | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"


def _pieces(text: str) -> list[str]:
    return [text[i : i + PIECE] for i in range(0, len(text), PIECE)]


async def events(
    task: asyncio.Task[Outcome],
    ctx: Context,
    *,
    rid: str,
    model: str,
    chat: bool,
    include_usage: bool,
    keepalive: float,
    on_end: Callable[[], None],
) -> AsyncIterator[str]:
    created = int(time.time())
    obj = "chat.completion.chunk" if chat else "text_completion"

    def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
        if chat:
            choice: dict[str, Any] = {"index": 0, "delta": delta or {}, "finish_reason": finish}
        else:
            choice = {"index": 0, "text": (delta or {}).get("content", ""), "finish_reason": finish}
            choice["logprobs"] = None
        out = {"id": rid, "object": obj, "created": created, "model": model, "choices": [choice], **extra}
        if include_usage:
            out.setdefault("usage", None)
        return out

    try:
        # 1. The role at once, so the client knows the request was taken.
        yield _sse(chunk({"role": "assistant", "content": ""} if chat else {}))
        # 2. Progress while the strategy runs.
        seen, quiet = 0, 0.0
        while not task.done():
            await asyncio.wait({task}, timeout=POLL)
            calls = ctx.ledger.records
            if len(calls) > seen:
                seen, quiet = len(calls), 0.0
                total = ctx.ledger.total()
                progress = {
                    "calls": total.calls,
                    "samples": sum(c.n for c in calls),
                    "completion_tokens": total.completion_tokens,
                    "role": calls[-1].role,
                }
                yield _sse(chunk({}, ponder={"progress": progress}))
            else:
                quiet += POLL
                if quiet >= keepalive:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
        try:
            outcome = task.result()
        except ApiError as e:
            yield _sse(e.body())
            yield _sse("[DONE]")
            return
        except Exception:
            log.exception("ponder serve: an error in the server while streaming")
            yield _sse(ApiError(500, "the server failed on this request (a bug: see its log)").body())
            yield _sse("[DONE]")
            return
        # 3. The thoughts, then the text.
        if chat:
            for piece in _pieces(outcome.thoughts):
                yield _sse(chunk({"reasoning_content": piece}))
        for piece in _pieces(outcome.text):
            yield _sse(chunk({"content": piece}))
        # 4.-6. The end, the extra field, usage, done.
        yield _sse(chunk({}, outcome.finish_reason, ponder=ponder_field(outcome)))
        if include_usage:
            last = chunk({}, usage=openai_usage(outcome.result.usage))
            last["choices"] = []
            yield _sse(last)
        yield _sse("[DONE]")
    finally:
        if not task.done():
            task.cancel()  # the client went away: stop spending on its behalf
        on_end()
