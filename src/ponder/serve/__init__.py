"""`ponder serve`: an OpenAI-compatible endpoint that runs a strategy before it answers.

The package is the only place fastapi and uvicorn are imported (the `serve` extra). Modules:

- `config`: `ServeConfig`, every server-wide setting, checked once (no web imports, so the CLI
  validates flags before anything loads);
- `routing`: `<strategy-spec>/<model>` and `extra_body={"ponder": {...}}` to a `Route`;
- `schema`: the request bodies (pydantic) and the conversation they carry;
- `runner`: the sessions held open for the server's life, one request run and recorded;
- `choose`: which candidate's text a client receives, and the fallback scorer for free-form chat;
- `render`: a `Result` as an OpenAI response (usage of every internal call, the `ponder` field);
- `stream`: server-sent events (role chunk, progress, keep-alives, content, usage, `[DONE]`);
- `errors`: OpenAI-shaped errors and the exception handlers;
- `app`: `create_app(config, session_factory=None)`, the FastAPI app.
"""

from __future__ import annotations

from ponder.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]


def create_app(config: ServeConfig, session_factory: object = None) -> object:
    """The FastAPI app (`ponder.serve.app.create_app`); imported here lazily so a missing extra
    fails with its install line."""
    from ponder.serve.app import create_app as _create

    return _create(config, session_factory)  # type: ignore[arg-type]
