"""A small OpenAI-compatible app around the embedded engine.

(No `from __future__ import annotations` here: FastAPI reads the handlers' annotations at runtime.)

It answers `/v1/chat/completions` and `/v1/models` the way llama.cpp's own server does (usage
included: with n > 1 it counts the first choice's tokens only), so the HTTP backend is tested against
a real model served over HTTP. Two knobs imitate other servers for tests: `max_n` refuses larger n
with a 400, as some servers do, `fail_first` answers the first requests with a 503, to exercise
the client's retries, and `logprobs=False` drops logprobs from replies, as servers without them do.
"""

import asyncio
import json
import time
from typing import Any

from ponder.backends.embedded import EmbeddedBackend
from ponder.errors import missing_extra


def _error(status: int, message: str, kind: str = "invalid_request_error") -> Any:
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": {"code": status, "message": message, "type": kind}}, status_code=status)


def create_app(
    engine: EmbeddedBackend, *, max_n: int | None = None, fail_first: int = 0, logprobs: bool = True
) -> Any:
    try:
        from fastapi import FastAPI, Request
    except ImportError:
        raise missing_extra("fastapi", "serve") from None

    app = FastAPI(title="ponder", docs_url=None, redoc_url=None)
    state = {"failures_left": fail_first, "requests": 0}
    app.state.counters = state

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": engine.model, "object": "model", "owned_by": "ponder"}],
        }

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        state["requests"] += 1
        if state["failures_left"] > 0:
            state["failures_left"] -= 1
            return _error(503, "the server is warming up: retry", "server_error")
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "the body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "the body needs a 'messages' list")
        if body.get("model") not in (None, engine.model):
            return _error(404, f"no model '{body.get('model')}': this server has {engine.model}")
        if body.get("stream"):
            return _error(400, "streaming is not supported yet: send stream=false")
        n = body.get("n", 1)
        if max_n is not None and isinstance(n, int) and n > max_n:
            return _error(400, f"'n' must be at most {max_n}")
        body.pop("model", None)
        response = await asyncio.to_thread(engine.handle_chat, body)
        if "error" in response:
            err = response["error"]
            return _error(int(err.get("code", 400)), str(err.get("message")), str(err.get("type")))
        response["model"] = engine.model
        if not logprobs:
            for choice in response.get("choices", []):
                choice.pop("logprobs", None)
        response.setdefault("created", int(time.time()))
        return response

    return app
