"""`create_app(config, session_factory=None)`: the FastAPI app of `ponder serve`.

(No `from __future__ import annotations` here: FastAPI reads the handlers' annotations at runtime.)

A request, in order: the API key (constant-time compare); a place under the concurrency cap (else
429 with Retry-After); the body, read up to the size cap (else 413) and validated (400); the route
(strategy and model: 400, 404); then the strategy runs as a task on the server's event loop, in a
fresh context of the model's session. Sessions open when the server starts (`session_factory`, by
default the embedded engine or the upstream) and close when it stops.

A request over a cap that a retry cannot pass (N over `--max-n`) is a 400, not a 429: OpenAI's
clients retry a 429 by themselves, and each retry would fail the same way. Only the concurrency cap,
which frees up, is a 429.

The handlers read the raw body, so the OpenAPI document is completed by hand: the request bodies'
schemas (`schema.components`), the error shape as every route's `default` response, and no 422,
which this app never answers.
"""

import asyncio
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from ponder.serve.config import ServeConfig
from ponder.serve.errors import ERROR_SCHEMA, ApiError, install
from ponder.serve.render import chat_response, completion_response, new_id
from ponder.serve.routing import Route, route
from ponder.serve.runner import Ask, DefaultFactory, SessionFactory, context_for, run
from ponder.serve.schema import ChatRequest, CompletionRequest, components, request_body
from ponder.serve.stream import events
from ponder.session import MAX_TOKENS_LIMIT, Session
from ponder.strategies import REGISTRY
from ponder.strategies.base import load_plugins

RETRY_AFTER = "1"
# Added to a validation error's message where the field's rule alone does not say what to do.
HINTS = {"n": "one choice comes back; to draw N samples name a strategy, e.g. model 'sc@N/MODEL'"}


class Gate:
    """Requests in flight, capped. Checked and counted with no await between: one event loop."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.in_flight = 0

    def enter(self) -> None:
        if self.in_flight >= self.cap:
            raise ApiError(
                429,
                f"{self.cap} requests are in flight, the most this server takes: retry shortly",
                code="rate_limit_exceeded",
                headers={"Retry-After": RETRY_AFTER},
            )
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1


def create_app(config: ServeConfig, session_factory: SessionFactory | None = None) -> FastAPI:
    """The app. `session_factory(name)` returns an open `Session` for each served model name
    (`config.models`); the default opens the embedded engine, or `openai:NAME` on `config.upstream`.
    Tests inject sessions on scripted backends here."""
    config.check()
    default = DefaultFactory(config) if session_factory is None else None
    factory: SessionFactory = session_factory or default  # type: ignore[assignment]
    sessions: dict[str, Session] = {}
    gate = Gate(config.max_concurrency)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        load_plugins()
        if config.record:  # a store that cannot be opened fails now, not on the first request
            from ponder.store import open_store

            open_store().close()
        try:
            for name in config.models:
                sessions[name] = await asyncio.to_thread(factory, name)
            yield
        finally:
            for s in sessions.values():
                s.close()
            if default is not None:
                default.close_all()

    app = FastAPI(title="ponder serve", lifespan=lifespan, docs_url=None, redoc_url=None)
    install(app)

    def authorize(request: Request) -> None:
        if config.api_key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), config.api_key.encode())
        if not ok:
            raise ApiError(
                401, "a valid API key is required (Authorization: Bearer KEY)", code="invalid_api_key"
            )

    async def read_json(request: Request) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > config.max_body_bytes:
            raise ApiError(413, f"the body is over {config.max_body_bytes} bytes", code="body_too_large")
        body = bytearray()
        async for part in request.stream():
            body += part
            if len(body) > config.max_body_bytes:
                raise ApiError(413, f"the body is over {config.max_body_bytes} bytes", code="body_too_large")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise ApiError(400, "the body is not valid JSON", code="invalid_json") from None
        if not isinstance(data, dict):
            raise ApiError(400, "the body must be a JSON object", code="invalid_json")
        return data

    def validate(kind: type[ChatRequest] | type[CompletionRequest], data: dict[str, Any]) -> Any:
        try:
            return kind.model_validate(data)
        except ValidationError as e:
            first = e.errors()[0]
            param = ".".join(str(p) for p in first["loc"]) or None
            hint = f" ({HINTS[param]})" if param in HINTS else ""
            raise ApiError(400, f"invalid request: {param}: {first['msg']}{hint}", param=param) from None
        except RecursionError:
            raise ApiError(400, "invalid request: nested too deeply") from None

    def prepare(req: ChatRequest | CompletionRequest, endpoint: str) -> Ask:
        ponder = req.ponder
        target = route(
            req.model,
            ponder.strategy if ponder else None,
            ponder.limit if ponder else None,
            served=config.models,
            max_n=config.max_n,
            allow_code=config.allow_code,
        )
        bound = req.bound()
        if bound is not None and bound > MAX_TOKENS_LIMIT:
            raise ApiError(400, f"max_tokens must be at most {MAX_TOKENS_LIMIT}", param="max_tokens")
        try:
            messages, question = req.as_messages(), req.question()
        except ValueError as e:
            raise ApiError(400, str(e), param="messages" if endpoint == "chat" else "prompt") from None
        if not question:
            raise ApiError(400, "the request has no text to answer", param="messages")
        return Ask(
            route=target,
            messages=messages,
            question=question,
            max_tokens=bound if bound is not None else config.max_tokens,
            temperature=req.temperature,
            seed=req.seed,
            endpoint=endpoint,
        )

    async def answer(request: Request, kind: type[ChatRequest] | type[CompletionRequest]) -> Any:
        authorize(request)
        gate.enter()
        streaming = False
        try:
            req = validate(kind, await read_json(request))
            chat = kind is ChatRequest
            ask = prepare(req, "chat" if chat else "completions")
            session = sessions[ask.route.model]
            ctx = context_for(session, ask)
            task = asyncio.create_task(run(session, ask, ctx, config))
            rid = new_id("chatcmpl" if chat else "cmpl")
            if req.stream:
                streaming = True
                stream = events(
                    task,
                    ctx,
                    rid=rid,
                    model=req.model,
                    chat=chat,
                    include_usage=req.include_usage,
                    keepalive=config.keepalive_seconds,
                    on_end=gate.leave,
                )
                headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
                return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
            outcome = await task
            render = chat_response if chat else completion_response
            return JSONResponse(render(outcome, req.model, new_id("chatcmpl" if chat else "cmpl", outcome)))
        finally:
            if not streaming:
                gate.leave()

    def model_object(name: str, target: Route | None = None) -> dict[str, Any]:
        """OpenAI's model object; a strategy-prefixed name says what it runs on in `ponder`."""
        model: dict[str, Any] = {"id": name, "object": "model", "created": 0, "owned_by": "ponder"}
        if target is not None and target.spec is not None:
            model["ponder"] = {"model": target.model, "strategy": str(target.spec)}
        return model

    def strategy_entry(name: str) -> dict[str, Any]:
        info = REGISTRY[name]  # `runs_code`: by itself, as routing reads it (undeclared: True)
        return {"name": name, "summary": info.summary, "runs_code": info.runs_code is not False}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        authorize(request)
        return {
            "object": "list",
            "data": [model_object(m) for m in config.models],
            "ponder": {
                "model_form": "<strategy-spec>/<model>, e.g. sc@8/" + config.models[0],
                "strategies": [strategy_entry(n) for n in sorted(REGISTRY)],
                "max_n": config.max_n,
                "allow_code": config.allow_code,
            },
        }

    @app.get("/v1/models/{model:path}")
    async def model(model: str, request: Request) -> dict[str, Any]:
        """A served model, or a name a request could use (`sc@8/MODEL`); else a 404 that says why."""
        authorize(request)
        try:
            target = route(
                model, None, None, served=config.models, max_n=config.max_n, allow_code=config.allow_code
            )
        except ApiError as e:  # a spec this server refuses names no model it serves
            raise ApiError(404, e.message, param="model", code=e.code) from None
        return model_object(model, target)

    @app.post("/v1/chat/completions", openapi_extra=request_body(ChatRequest))
    async def chat_completions(request: Request) -> Any:
        return await answer(request, ChatRequest)

    @app.post("/v1/completions", openapi_extra=request_body(CompletionRequest))
    async def completions(request: Request) -> Any:
        return await answer(request, CompletionRequest)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):  # the 422's, dropped below
                schemas.pop(unused, None)
            schemas.update(components(), Error=ERROR_SCHEMA)
            error = {"$ref": "#/components/schemas/Error"}
            for path, operations in doc["paths"].items():
                for operation in operations.values():
                    responses = operation.setdefault("responses", {})
                    responses.pop("422", None)
                    if path != "/health":
                        content = {"application/json": {"schema": error}}
                        responses["default"] = {
                            "description": "an error, in OpenAI's shape",
                            "content": content,
                        }
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
