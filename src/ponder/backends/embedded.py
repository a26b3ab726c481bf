"""The embedded backend: llama.cpp's server engine in-process, through xllamacpp.

1. One request asks for n samples, so the prompt is evaluated once and its KV cache shared by the
   slots (`n_parallel` slots, unified KV cache). Never n concurrent n=1 requests: each would evaluate
   the prompt again.
2. n above the slot count is split into chunks of at most `n_parallel`; later chunks find the prompt
   in the cache (counted as cached prompt tokens). Each chunk gets its own seed, or chunks would
   repeat one another.
3. Every sample's tokens are counted from its per-token entries (logprobs, or the cheaper
   post-sampling probabilities when no scorer needs logprobs); the engine's usage counts the first
   sample only.
4. The engine answers errors with a dict, not an exception; they become one-line `PonderError`s.
5. Continuation (a final assistant message, see `ponder.backends.base`): for a chat model the engine
   prefills it natively (llama.cpp renders the template up to the assistant's turn, appends the text
   without an end-of-turn, and repeats the prefix in its reply, which `parse_response` removes); for
   a base model the plain transcript (`messages_to_prompt`) ends with the text.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ponder.backends.base import Capabilities, continued, messages_to_prompt
from ponder.backends.response import parse_response
from ponder.errors import PonderError, missing_extra
from ponder.types import Generation, Message, Sample, SamplingParams


def _chunk_seed(seed: int, chunk: int) -> int:
    if chunk == 0:
        return seed
    digest = hashlib.sha256(f"{seed}:{chunk}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


class EmbeddedBackend:
    def __init__(
        self,
        path: Path,
        *,
        model: str | None = None,
        threads: int = 2,
        n_ctx: int = 4096,
        n_parallel: int = 8,
        chat: bool = True,
    ) -> None:
        try:
            import xllamacpp
        except ImportError:
            raise missing_extra("xllamacpp", "embedded") from None
        if n_parallel < 1 or threads < 1 or n_ctx < 64:
            raise PonderError("n_parallel and threads must be ≥ 1 and the context ≥ 64 tokens")
        self.model = model or path.stem
        self.chat = chat
        self.n_ctx = n_ctx
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_parallel = n_parallel
        params.n_ctx = n_ctx * n_parallel  # unified KV: every slot may hold a full context
        params.kv_unified = True
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.reasoning_format = xllamacpp.common_reasoning_format.COMMON_REASONING_FORMAT_NONE
        params.verbosity = -1
        try:
            self._server: Any = xllamacpp.Server(params)
        except RuntimeError as e:
            raise PonderError(
                f"the engine could not load {path.name} ({e}): check the file (re-pull it) "
                "and that --ctx and the slots fit in memory"
            ) from None
        self.capabilities = Capabilities(
            max_n=n_parallel, logprobs=True, prefix_sharing=True, local_cores=threads, continuation=True
        )

    def _request(
        self, messages: Sequence[Message], params: SamplingParams, n: int, seed: int | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "n": n,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            # One entry per generated token, to count each sample's tokens. The model's own logprobs
            # cost a softmax and sort over the vocabulary per token (~7% of wall time on a 0.5B
            # model); post-sampling probabilities cost nothing, so only scorers that need logprobs
            # ask for them.
            "logprobs": True,
            "top_logprobs": max(1, params.top_logprobs),
            "n_probs": max(1, params.top_logprobs),
            "post_sampling_probs": not (params.logprobs or params.top_logprobs),
        }
        if seed is not None:
            body["seed"] = seed
        # Unset, llama.cpp's own defaults apply (top_k 40, min_p 0.05), as they always have here.
        if params.top_k is not None:
            body["top_k"] = params.top_k
        if params.min_p is not None:
            body["min_p"] = params.min_p
        if params.stop:
            body["stop"] = list(params.stop)
        if params.ignore_eos:
            body["ignore_eos"] = True
        if self.chat:
            body["messages"] = [m.to_dict() for m in messages]
            return dict(self._server.handle_chat_completions(body))
        body["prompt"] = messages_to_prompt(messages)
        return dict(self._server.handle_completions(body))

    def handle_chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """Pass an OpenAI-shaped chat request straight to the engine (for an HTTP front)."""
        return dict(self._server.handle_chat_completions(body))

    def handle_completions(self, body: dict[str, Any]) -> dict[str, Any]:
        """Pass an OpenAI-shaped text completion request straight to the engine (for an HTTP front)."""
        return dict(self._server.handle_completions(body))

    def _check(self, response: dict[str, Any]) -> None:
        error = response.get("error")
        if not error:
            return
        kind = error.get("type", "")
        if kind == "exceed_context_size_error":
            raise PonderError(
                f"the prompt is {error.get('n_prompt_tokens', '?')} tokens, more than the "
                f"context of {error.get('n_ctx', self.n_ctx)}: shorten it or raise the context "
                "size (--ctx)"
            )
        raise PonderError(f"the engine refused the request: {error.get('message', error)}")

    def _generate_sync(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        samples: list[Sample] = []
        prompt = cached = requests = 0
        prompt_seconds = 0.0
        first: tuple[int, int] | None = None
        started = time.perf_counter()
        for chunk, offset in enumerate(range(0, n, self.capabilities.max_n)):
            size = min(self.capabilities.max_n, n - offset)
            seed = None if params.seed is None else _chunk_seed(params.seed, chunk)
            t0 = time.perf_counter()
            response = self._request(messages, params, size, seed)
            self._check(response)
            parsed = parse_response(response, time.perf_counter() - t0, continued(messages))
            if len(parsed.samples) != size:
                raise PonderError(f"the engine returned {len(parsed.samples)} of {size} samples")
            samples += parsed.samples
            prompt += parsed.prompt_tokens
            cached += parsed.cached_prompt_tokens
            prompt_seconds += parsed.prompt_seconds
            first = first or (parsed.prompt_tokens, parsed.cached_prompt_tokens)
            requests += 1
        return Generation(
            samples=samples,
            prompt_tokens=prompt,
            cached_prompt_tokens=cached,
            completion_tokens=sum(s.completion_tokens for s in samples),
            wall_seconds=time.perf_counter() - started,
            requests=requests,
            prompt_seconds=prompt_seconds,
            first_prompt_tokens=first[0] if first else None,
            first_cached_prompt_tokens=first[1] if first else None,
        )

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        return await asyncio.to_thread(self._generate_sync, messages, params, n)

    def close(self) -> None:
        self._server = None
