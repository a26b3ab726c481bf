"""`ponder serve`: an OpenAI-compatible endpoint that runs a strategy before it answers (docs/serve.md)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ponder.backends.factory import DEFAULT_CTX, DEFAULT_THREADS
from ponder.errors import PonderError, missing_extra
from ponder.models.catalog import DEFAULT_MODEL
from ponder.serve.config import LOOPBACK, ServeConfig


def serve(
    host: Annotated[str, typer.Option(help="Address to bind (loopback unless told otherwise).")] = LOOPBACK,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="A model to serve (repeatable): catalog name or .gguf path; with --upstream, the "
            "upstream's model name.",
        ),
    ] = None,
    upstream: Annotated[
        str | None, typer.Option(help="Serve in front of this OpenAI-compatible base URL (…/v1).")
    ] = None,
    upstream_key: Annotated[
        str | None,
        typer.Option(help="API key sent upstream (default: PONDER_API_KEY, OPENAI_API_KEY)."),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            help="Require this Bearer token on every route but /health (default: PONDER_SERVE_KEY)."
        ),
    ] = None,
    max_concurrency: Annotated[
        int, typer.Option(help="Requests in flight at once; beyond, 429 with Retry-After.")
    ] = 8,
    max_n: Annotated[int, typer.Option(help="Most samples a request's strategy may draw at once.")] = 8,
    max_tokens: Annotated[int, typer.Option(help="Each answer's bound where a request names none.")] = 512,
    judge: Annotated[str | None, typer.Option(help="The judge role's model, for every request.")] = None,
    role: Annotated[
        list[str] | None, typer.Option(help="A role's model, ROLE=MODEL (repeatable), for every request.")
    ] = None,
    no_record: Annotated[bool, typer.Option("--no-record", help="Do not record requests as runs.")] = False,
    allow_code: Annotated[
        bool,
        typer.Option("--allow-code", help="Allow strategies that run model-written code: pot, exec, repair."),
    ] = False,
    threads: Annotated[int, typer.Option(help="CPU threads of the embedded engine.")] = DEFAULT_THREADS,
    ctx: Annotated[int, typer.Option(help="Context size per slot, embedded engine.")] = DEFAULT_CTX,
) -> None:
    """Serve models behind OpenAI's API, thinking with any strategy named in the model name."""
    config = ServeConfig(
        models=tuple(model or ([] if upstream else [DEFAULT_MODEL])),
        upstream=upstream,
        upstream_key=upstream_key,
        api_key=api_key if api_key is not None else os.environ.get("PONDER_SERVE_KEY"),
        host=host,
        port=port,
        max_concurrency=max_concurrency,
        max_n=max_n,
        max_tokens=max_tokens,
        judge=judge,
        roles=tuple(role or ()),
        record=not no_record,
        allow_code=allow_code,
        threads=threads,
        ctx=ctx,
    )
    config.check()  # every flag, before anything loads
    try:
        import uvicorn

        from ponder.serve.app import create_app
    except ImportError:
        raise missing_extra("fastapi and uvicorn", "serve") from None
    if host not in (LOOPBACK, "localhost", "::1") and config.api_key is None:
        typer.echo(
            f"warning: serving on {host} without --api-key: anyone who reaches it can use it", err=True
        )
    try:
        uvicorn.run(create_app(config), host=host, port=port, log_level="info")
    except OSError as e:
        raise PonderError(f"cannot serve on {host}:{port} ({e}): choose another --port") from None
