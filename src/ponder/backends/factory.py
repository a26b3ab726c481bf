"""Open the backend that serves a model reference."""

from __future__ import annotations

from ponder.backends.base import Backend
from ponder.errors import PonderError
from ponder.models.resolve import ModelRef

DEFAULT_THREADS = 2
DEFAULT_CTX = 4096
MAX_SLOTS = 16


def open_backend(
    model: ModelRef,
    *,
    n: int = 1,
    threads: int = DEFAULT_THREADS,
    n_ctx: int = DEFAULT_CTX,
    base_url: str | None = None,
    api_key: str | None = None,
) -> Backend:
    """A backend for `model`, with engine slots sized for n samples per call (at most 16)."""
    if model.kind == "openai":
        from ponder.backends.openai_compat import OpenAIBackend

        return OpenAIBackend(model.name, base_url=base_url, api_key=api_key)
    from ponder.backends.embedded import EmbeddedBackend

    assert model.path is not None
    if model.context_length is not None and n_ctx > model.context_length:
        raise PonderError(
            f"--ctx {n_ctx} is more than {model.name}'s trained context of {model.context_length}: lower it"
        )
    return EmbeddedBackend(
        model.path,
        model=model.name,
        threads=threads,
        n_ctx=n_ctx,
        n_parallel=max(1, min(n, MAX_SLOTS)),
        chat=model.chat,
    )
