"""Every server-wide setting of `ponder serve`, checked once before any model loads."""

from __future__ import annotations

from dataclasses import dataclass

from ponder.backends.base import MAX_N
from ponder.backends.factory import DEFAULT_CTX, DEFAULT_THREADS
from ponder.errors import PonderError
from ponder.session import MAX_TOKENS_LIMIT, parse_roles

LOOPBACK = "127.0.0.1"
MAX_BODY_BYTES = 1 << 20  # 1 MiB: far above any chat a small model's context holds


@dataclass(frozen=True)
class ServeConfig:
    """What the operator chose. `models` are the names clients may ask for: catalog names or GGUF
    paths on the embedded engine, or the upstream server's own names with `upstream` (each then
    served as `openai:NAME` against that base URL)."""

    models: tuple[str, ...] = ()
    upstream: str | None = None
    upstream_key: str | None = None  # the key sent upstream (default: PONDER_API_KEY, OPENAI_API_KEY)
    upstream_retries: int = 2  # the upstream client's retries before a 502
    api_key: str | None = None  # what clients must send as a Bearer token
    host: str = LOOPBACK
    port: int = 8000
    max_concurrency: int = 8
    max_n: int = 16  # the most samples a request's strategy may draw at once (`samples_needed`)
    max_tokens: int = 512  # each answer's default bound when a request names none
    judge: str | None = None
    roles: tuple[str, ...] = ()  # ROLE=MODEL, as `--role`
    record: bool = True
    allow_code: bool = False  # strategies that run model-written code (pot, exec, repair)
    threads: int = DEFAULT_THREADS
    ctx: int = DEFAULT_CTX
    max_body_bytes: int = MAX_BODY_BYTES
    keepalive_seconds: float = 5.0  # a comment line on a stream while the strategy runs

    def check(self) -> None:
        """One line per mistake, naming the flag to fix."""
        if not self.models:
            raise PonderError("name at least one model to serve (--model M)")
        if len(set(self.models)) != len(self.models):
            raise PonderError("--model names a model twice")
        if self.upstream is not None:
            from ponder.backends.openai_compat import split_server

            _, plain = split_server(self.upstream)  # vllm+http://… and sglang+http://… name the server
            if not plain.startswith(("http://", "https://")):
                raise PonderError(
                    f"--upstream {self.upstream}: give the base URL, e.g. http://127.0.0.1:8080/v1 "
                    "(vllm+http://… or sglang+http://… to send that server's sampling fields)"
                )
        if not 1 <= self.max_concurrency <= 1024:
            raise PonderError("--max-concurrency must be between 1 and 1024")
        if not 1 <= self.max_n <= MAX_N:
            raise PonderError(f"--max-n must be between 1 and {MAX_N}")
        if not 1 <= self.max_tokens <= MAX_TOKENS_LIMIT:
            raise PonderError(f"--max-tokens must be between 1 and {MAX_TOKENS_LIMIT}")
        if not 0 <= self.port <= 65535:
            raise PonderError("--port must be between 0 and 65535")
        if self.api_key is not None and not self.api_key.strip():
            raise PonderError("--api-key is empty: give a key, or leave the flag out")
        if self.upstream_retries < 0:
            raise PonderError("upstream retries cannot be negative")
        for model in self.models:
            self.roles_of(model)  # each role pair is checked here, before any model loads

    def reference(self, model: str) -> str:
        """The model reference a served name opens: `openai:NAME` in front of an upstream."""
        return f"openai:{model}" if self.upstream is not None else model

    def roles_of(self, model: str) -> dict[str, str]:
        """{role: model reference} for a served model: the policy, `--judge` and each `--role`."""
        judge = self.reference(self.judge) if self.judge and self.upstream and ":" not in self.judge else None
        roles = [self._role_ref(pair) for pair in self.roles]
        return parse_roles(self.reference(model), roles, judge or self.judge)

    def _role_ref(self, pair: str) -> str:
        role, eq, model = pair.partition("=")
        if eq and self.upstream is not None and model.strip() and ":" not in model:
            return f"{role}={self.reference(model.strip())}"
        return pair
