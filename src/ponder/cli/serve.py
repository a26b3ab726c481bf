"""`ponder serve`: an OpenAI-compatible endpoint for an embedded model."""

from __future__ import annotations

from typing import Annotated

import typer

from ponder.backends.factory import DEFAULT_CTX, DEFAULT_THREADS, MAX_SLOTS
from ponder.models.catalog import DEFAULT_MODEL


def serve(
    model: Annotated[str, typer.Option("--model", "-m", help="Catalog name or .gguf path.")] = (
        DEFAULT_MODEL
    ),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    threads: Annotated[int, typer.Option(help="CPU threads.")] = DEFAULT_THREADS,
    ctx: Annotated[int, typer.Option(help="Context size per sample.")] = DEFAULT_CTX,
    slots: Annotated[int, typer.Option(help="Samples one request may ask for (n).")] = 8,
) -> None:
    """Serve MODEL at http://HOST:PORT/v1 (chat completions), for any OpenAI client."""
    from ponder.backends.embedded import EmbeddedBackend
    from ponder.errors import PonderError, missing_extra
    from ponder.models.resolve import parse
    from ponder.serve.app import create_app

    try:
        import uvicorn
    except ImportError:
        raise missing_extra("uvicorn", "serve") from None
    ref = parse(model)
    if ref.kind != "embedded" or ref.path is None:
        raise PonderError("ponder serve runs embedded models: give a catalog name or a .gguf path")
    if not 1 <= slots <= MAX_SLOTS:
        raise PonderError(f"--slots must be between 1 and {MAX_SLOTS}")
    engine = EmbeddedBackend(
        ref.path, model=ref.name, threads=threads, n_ctx=ctx, n_parallel=slots, chat=ref.chat
    )
    uvicorn.run(create_app(engine), host=host, port=port, log_level="warning")
