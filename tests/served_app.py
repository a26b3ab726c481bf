"""A small OpenAI-compatible app around the embedded engine, for tests of the HTTP backend.

(No `from __future__ import annotations` here: FastAPI reads the handlers' annotations at runtime.)

It answers `/v1/chat/completions`, `/v1/completions` and `/v1/models` the way llama.cpp's own server
does (usage included: with n > 1 it counts the first choice's tokens only; a final assistant message
is prefilled and its text repeated at the head of the reply), so the HTTP backend is tested against a
real model served over HTTP. Knobs imitate other servers:

- `max_n` refuses larger n with a 400, as some servers do;
- `fail_first` answers the first requests with a 503, to exercise the client's retries;
- `logprobs=False` drops logprobs from replies, as servers without them do;
- `strict=True` refuses fields outside OpenAI's API (vLLM's continuation fields, `ignore_eos`) with a
  400, as OpenAI's API does.

A request with vLLM's `continue_final_message=True` is answered as vLLM answers it: the new text
only, without the prefix.
"""

import asyncio
import json
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ponder.backends.embedded import EmbeddedBackend

NOT_OPENAI = ("continue_final_message", "add_generation_prompt", "ignore_eos")


def _error(status: int, message: str, kind: str = "invalid_request_error") -> Any:
    return JSONResponse({"error": {"code": status, "message": message, "type": kind}}, status_code=status)


def create_app(
    engine: EmbeddedBackend,
    *,
    max_n: int | None = None,
    fail_first: int = 0,
    logprobs: bool = True,
    strict: bool = False,
) -> Any:
    app = FastAPI(title="ponder test server", docs_url=None, redoc_url=None)
    state = {"failures_left": fail_first, "requests": 0}
    app.state.counters = state
    app.state.bodies = []  # every request body, as received

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": engine.model, "object": "model", "owned_by": "ponder"}],
        }

    async def body_or_error(request: Request, field: str) -> Any:
        """The request's body, or the error response a server would give it."""
        state["requests"] += 1
        if state["failures_left"] > 0:
            state["failures_left"] -= 1
            return _error(503, "the server is warming up: retry", "server_error")
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "the body is not JSON")
        if not isinstance(body, dict) or field not in body:
            return _error(400, f"the body needs '{field}'")
        app.state.bodies.append(dict(body))
        if body.get("model") not in (None, engine.model):
            return _error(404, f"no model '{body.get('model')}': this server has {engine.model}")
        if body.get("stream"):
            return _error(400, "streaming is not supported: send stream=false")
        n = body.get("n", 1)
        if max_n is not None and isinstance(n, int) and n > max_n:
            return _error(400, f"'n' must be at most {max_n}")
        unknown = [k for k in NOT_OPENAI if k in body]
        if strict and unknown:
            return _error(400, f"Unrecognized request argument supplied: {unknown[0]}")
        body.pop("model", None)
        return body

    def finish(response: dict[str, Any]) -> Any:
        if "error" in response:
            err = response["error"]
            return _error(int(err.get("code", 400)), str(err.get("message")), str(err.get("type")))
        response["model"] = engine.model
        if not logprobs:
            for choice in response.get("choices", []):
                choice.pop("logprobs", None)
        response.setdefault("created", int(time.time()))
        return response

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body = await body_or_error(request, "messages")
        if not isinstance(body, dict):
            return body
        response = await asyncio.to_thread(engine.handle_chat, body)
        last = body["messages"][-1] if body["messages"] else {}
        if body.get("continue_final_message") and last.get("role") == "assistant":
            prefix = str(last.get("content") or "")
            for choice in response.get("choices", []):
                message = choice.get("message") or {}
                content = str(message.get("content") or "")
                if content.startswith(prefix):  # llama.cpp repeats it; vLLM does not
                    message["content"] = content[len(prefix) :]
        return finish(response)

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        body = await body_or_error(request, "prompt")
        if not isinstance(body, dict):
            return body
        return finish(await asyncio.to_thread(engine.handle_completions, body))

    return app
