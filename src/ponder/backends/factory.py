"""Open the backend that serves a model reference, from one typed object of backend settings."""

from __future__ import annotations

from dataclasses import dataclass

from ponder.backends.base import Backend
from ponder.errors import PonderError
from ponder.models.resolve import ModelRef

DEFAULT_THREADS = 2
DEFAULT_CTX = 4096
MAX_SLOTS = 16


@dataclass(frozen=True)
class BackendOptions:
    """How a model is served: the embedded engine's threads and context per slot, or the HTTP
    server's address and key (`ponder.session.Options.backend` builds it from the user's settings)."""

    threads: int = DEFAULT_THREADS
    ctx: int = DEFAULT_CTX
    base_url: str | None = None
    api_key: str | None = None


def open_backend(model: ModelRef, options: BackendOptions | None = None, *, slots: int = 1) -> Backend:
    """A backend for `model`, with engine slots sized for `slots` samples at once (at most 16)."""
    o = options or BackendOptions()
    if model.kind == "prm":
        from ponder.backends.prm import PRMBackend

        return PRMBackend(model.name)
    if model.kind == "openai":
        from ponder.backends.openai_compat import OpenAIBackend

        return OpenAIBackend(model.name, base_url=o.base_url, api_key=o.api_key)
    from ponder.backends.embedded import EmbeddedBackend

    assert model.path is not None
    if model.context_length is not None and o.ctx > model.context_length:
        raise PonderError(
            f"--ctx {o.ctx} is more than {model.name}'s trained context of {model.context_length}: lower it"
        )
    return EmbeddedBackend(
        model.path,
        model=model.name,
        threads=o.threads,
        n_ctx=o.ctx,
        n_parallel=max(1, min(slots, MAX_SLOTS)),
        chat=model.chat,
    )
