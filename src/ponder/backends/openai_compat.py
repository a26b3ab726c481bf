"""The HTTP backend: any OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, hosted APIs).

1. Requests go through the official `openai` client, whose retries (exponential backoff with jitter
   on 429, 5xx, timeouts and dropped connections) are the retry layer; `max_retries` sets how many.
2. n samples are asked for in one request. A server that refuses `n` (a 400 naming it) or returns
   fewer choices is remembered, and the missing samples come from separate n=1 requests.
3. Per-sample completion tokens come from each choice's logprobs. A server that refuses logprobs is
   asked for one sample per request instead, so every count comes from a `usage` that means one
   sample (llama.cpp's server counts only the first choice when n > 1).
4. Where the server's usage exceeds the counted tokens (hidden reasoning), the call keeps the larger.
5. `chat=False` (a base model, no chat template) sends every request to `/v1/completions` with the
   plain transcript (`messages_to_prompt`), as the embedded backend does for base models.

Server kinds. OpenAI's own API refuses fields it does not define (a 400), so sampling fields outside
it go only to a server the user names: `vllm+http://HOST:PORT/v1` or `sglang+http://…` as the base
URL (wherever a base URL is given: `--base-url`, PONDER_BASE_URL, a study's `base_url`), or
`server="vllm"`. The name travels with the URL into a study's provenance; nothing is detected.

- `top_k`, `min_p` (None: not sent) go in the body to a named server; asked of an unnamed one they
  fail in one line before any request.
- Seeds: vLLM gives the i-th of n samples in one request the seed `seed + i`. SGLang serves n
  samples as n copies of one request, seed included, so where its seed is honoured
  (`--enable-deterministic-inference`) the copies are one text n times: for SGLang a seeded call
  is asked one request per sample, each with its own seed (the radix cache holds the shared
  prompt), exactly as a server that refuses `n` is.

The field table, server flags and a worked estimate of a large study: docs/scaling.md.

Continuation (a final assistant message, see `ponder.backends.base`) has no single OpenAI field, so
`continuation` chooses how a chat model is asked:

- "auto" (the default) sends the final assistant message with vLLM's `continue_final_message=True,
  add_generation_prompt=False` (in the body); to a server named sglang, SGLang's own
  `continue_final_message=True` alone. vLLM and SGLang continue through them; llama.cpp's
  server ignores them and prefills a final assistant message natively (Ollama too). A server that
  refuses the fields with a 400 (OpenAI's API rejects unknown fields) is remembered and every
  continuation on it fails with a one-line error: it would answer the text as a finished turn,
  silently, so it is not asked again some other way.
- "prefill" sends the final assistant message alone, for a server that prefills it but refuses
  vLLM's fields.
- A base model (`chat=False`) is continued through `/v1/completions`: the prompt ends with the text.

In every mode a sample's text is the new text only: a reply that repeats the prefix (llama.cpp's
does; vLLM's does not unless asked to echo) has it removed by `parse_response`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

from ponder.backends.base import MAX_N, Capabilities, continued, messages_to_prompt
from ponder.backends.response import ParsedResponse, parse_response
from ponder.errors import PonderError, missing_extra
from ponder.types import Generation, Message, SamplingParams

ServerKind = Literal["vllm", "sglang"]
SERVER_KINDS: tuple[ServerKind, ...] = ("vllm", "sglang")


def resolve_endpoint(base_url: str | None, api_key: str | None) -> tuple[str, str]:
    url = base_url or os.environ.get("PONDER_BASE_URL")
    if not url:
        raise PonderError("openai: models need a server: pass --base-url URL or set PONDER_BASE_URL")
    key = api_key or os.environ.get("PONDER_API_KEY") or os.environ.get("OPENAI_API_KEY") or "none"
    return url, key


JSON_HEADERS = {"Content-Type": "application/json"}


def split_server(url: str) -> tuple[ServerKind | None, str]:
    """The server kind a base URL names (`vllm+http://…`, `sglang+https://…`) and the plain URL."""
    head, plus, rest = url.partition("+")
    if plus and rest.startswith(("http://", "https://")):
        for kind in SERVER_KINDS:
            if head.lower() == kind:
                return kind, rest
        raise PonderError(
            f"{url}: the server kind before '+' must be one of {', '.join(SERVER_KINDS)} "
            "(or nothing, for a plain OpenAI-compatible server)"
        )
    return None, url


def server_fields(server: ServerKind | None, params: SamplingParams, *, continues: bool) -> dict[str, Any]:
    """The body fields outside OpenAI's API that one request carries (`extra_body`)."""
    body: dict[str, Any] = {}
    if params.ignore_eos:
        body["ignore_eos"] = True
    if server is not None:
        if params.top_k is not None:
            body["top_k"] = params.top_k
        if params.min_p is not None:
            body["min_p"] = params.min_p
    if continues:
        # SGLang's request has no add_generation_prompt: it drops the final message from the
        # template, renders the assistant's turn open and appends the text itself.
        body["continue_final_message"] = True
        if server != "sglang":
            body["add_generation_prompt"] = False
    return body


class OpenAIBackend:
    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        max_retries: int = 4,
        timeout: float = 600.0,
        chat: bool = True,
        continuation: Literal["auto", "prefill"] = "auto",
        server: ServerKind | None = None,
    ) -> None:
        try:
            import openai
        except ImportError:
            raise missing_extra("openai", "openai") from None
        if continuation not in ("auto", "prefill"):
            raise PonderError(f"continuation must be 'auto' or 'prefill', not {continuation!r}")
        self._openai = openai
        self.model = model
        self.chat = chat
        self.continuation = continuation
        url, key = resolve_endpoint(base_url, api_key)
        named, self.base_url = split_server(url)
        if server is not None and server not in SERVER_KINDS:
            raise PonderError(f"server must be one of {', '.join(SERVER_KINDS)}, not {server!r}")
        if server is not None and named is not None and server != named:
            raise PonderError(f"server={server!r} but the base URL names {named!r}: give one")
        self.server: ServerKind | None = server or named
        self._client = openai.AsyncOpenAI(
            base_url=self.base_url, api_key=key, max_retries=max_retries, timeout=timeout
        )
        # openai before 2.16 posts no bytes (`content`): there the body goes as JSON, as it did
        self._posts_bytes = "content" in inspect.signature(self._client.post).parameters
        self._n_ok = True
        self._logprobs_ok = True
        self._continues = True  # False once the server refused vLLM's continuation fields
        self.capabilities = Capabilities(max_n=MAX_N, logprobs=True, prefix_sharing=True, continuation=True)

    async def _create(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Any:
        """The server's reply as JSON. The body is built here and posted through the client
        (its retries, auth and error types), its reply read as bytes: the client's typed
        request transform and response models cost the proxy about half its own time per request
        (`ponder serve`, docs/benchmarks.md), and `parse_response` reads plain dicts anyway."""
        body = server_fields(self.server, params, continues=self._sends_fields(messages))
        sampling: dict[str, Any] = {
            "model": self.model,
            "n": n,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
            "stop": list(params.stop) or None,
        }
        if not self.chat:
            path = "/completions"
            # each choice's tokens are counted from them
            logprobs = max(1, params.top_logprobs) if self._logprobs_ok else None
            payload = {"prompt": messages_to_prompt(messages), "logprobs": logprobs, **sampling}
        else:
            path = "/chat/completions"
            if self._logprobs_ok:  # always: each choice's tokens are counted from them
                sampling |= {"logprobs": True, "top_logprobs": max(1, params.top_logprobs)}
            payload = {"messages": [m.to_dict() for m in messages], **sampling}
        payload |= body  # what the client's extra_body did: the server's own fields, last
        options: Any = {"headers": JSON_HEADERS}
        if self._posts_bytes:  # sent as bytes: the client deep-copies a dict body on every request
            raw = await self._client.post(
                path, content=json.dumps(payload).encode(), cast_to=bytes, options=options
            )
        else:
            raw = await self._client.post(path, body=payload, cast_to=bytes, options=options)
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise PonderError(
                f"{self.base_url} answered with something other than a JSON object: is it "
                "an OpenAI-compatible server?"
            )
        return data

    def _sends_fields(self, messages: Sequence[Message]) -> bool:
        """Whether a request carries the continuation fields."""
        return self.chat and self.continuation == "auto" and continued(messages) is not None

    def _no_continuation(self) -> PonderError:
        return PonderError(
            f"{self.base_url} does not continue an assistant message (it refused "
            "continue_final_message): serve the model with vLLM, SGLang or llama.cpp, or pass "
            "continuation='prefill' where the server prefills a final assistant message itself"
        )

    async def _request(self, messages: Sequence[Message], params: SamplingParams, n: int) -> ParsedResponse:
        """One request; learns (once) that the server refuses n > 1 or logprobs."""
        openai = self._openai
        while True:
            t0 = time.perf_counter()
            try:
                response = await self._create(messages, params, n)
            except openai.BadRequestError as e:
                text = str(e).lower()
                if self._sends_fields(messages) and (
                    "continue_final_message" in text or "add_generation_prompt" in text
                ):
                    self._continues = False
                    raise self._no_continuation() from None
                if n > 1 and self._n_ok and ("'n'" in text or " n " in text or "`n`" in text):
                    self._n_ok = False
                    raise _Refused(None) from None
                if self._logprobs_ok and "logprob" in text:
                    self._logprobs_ok = False
                    continue
                if "context" in text:
                    raise PonderError(
                        f"{self.model}: the prompt does not fit the server's context: shorten it"
                    ) from None
                raise PonderError(f"{self.base_url} refused the request: {e.message}") from None
            except openai.NotFoundError:
                raise PonderError(
                    f"{self.base_url} has no model '{self.model}': check the name after openai:"
                ) from None
            except openai.AuthenticationError:
                raise PonderError(
                    f"{self.base_url} refused the API key: set PONDER_API_KEY or OPENAI_API_KEY"
                ) from None
            except openai.APIConnectionError:
                raise PonderError(
                    f"cannot reach {self.base_url}: start the server or fix --base-url"
                ) from None
            except openai.APIStatusError as e:
                raise PonderError(
                    f"{self.base_url} failed with HTTP {e.status_code} after retries: try later"
                ) from None
            latency = time.perf_counter() - t0
            parsed = parse_response(response, latency, continued(messages))
            if n == 1:
                return _count_single(parsed)
            if not parsed.counted:
                self._logprobs_ok = False  # counts per choice are unknown: go one by one
                raise _Refused(parsed)
            if len(parsed.samples) < n:
                self._n_ok = False  # it gives fewer choices than asked: ask one by one from now on
            return parsed

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        if not self._continues and self._sends_fields(messages):
            raise self._no_continuation()
        if self.server is None and (params.top_k is not None or params.min_p is not None):
            raise PonderError(
                f"top_k and min_p are sent only to a named server (OpenAI's API refuses them): "
                f"write the base URL as vllm+{self.base_url} or sglang+{self.base_url}"
            )
        started = time.perf_counter()
        parts: list[ParsedResponse] = []
        wasted: list[ParsedResponse] = []  # answered but unusable: spent all the same
        # SGLang copies one seeded request n times: its samples get their own seeds one by one.
        together = not (self.server == "sglang" and params.seed is not None)
        if self._n_ok and self._logprobs_ok and n > 1 and together:
            try:
                parts.append(await self._request(messages, params, n))
            except _Refused as refused:
                if refused.parsed is not None:
                    wasted.append(refused.parsed)
        missing = n - sum(len(p.samples) for p in parts)
        if missing > 0:
            singles = [self._request(messages, _nth_seed(params, i), 1) for i in range(n - missing, n)]
            parts += await asyncio.gather(*singles)
        samples = [s for p in parts for s in p.samples][:n]
        # A server that sums all choices (OpenAI) may report more than the counted tokens (hidden
        # reasoning); llama.cpp reports the first choice only, less. The larger is what was spent.
        completion = sum(
            max(sum(s.completion_tokens for s in p.samples), p.reported_completion_tokens) for p in parts
        ) + sum(p.reported_completion_tokens for p in wasted)
        spent = parts + wasted
        return Generation(
            samples=samples,
            prompt_tokens=sum(p.prompt_tokens for p in spent),
            cached_prompt_tokens=sum(p.cached_prompt_tokens for p in spent),
            completion_tokens=completion,
            wall_seconds=time.perf_counter() - started,
            requests=len(spent),
            prompt_seconds=sum(p.prompt_seconds for p in spent),
            first_prompt_tokens=spent[0].prompt_tokens if spent else None,
            first_cached_prompt_tokens=spent[0].cached_prompt_tokens if spent else None,
        )

    def close(self) -> None:
        pass


class _Refused(Exception):
    """The server cannot give n counted samples in one request (`parsed`: what it did answer)."""

    def __init__(self, parsed: ParsedResponse | None) -> None:
        super().__init__()
        self.parsed = parsed


def _nth_seed(params: SamplingParams, i: int) -> SamplingParams:
    """The i-th sample's params when samples are asked one by one: its own seed, the same on a rerun."""
    if params.seed is None or i == 0:
        return params
    return replace(params, seed=params.seed + 7919 * i)


def _count_single(parsed: ParsedResponse) -> ParsedResponse:
    """A lone choice's usage is its own: it counts hidden reasoning that logprobs do not show."""
    if len(parsed.samples) != 1:
        raise PonderError("the server returned no choice for a request: check the server's logs")
    (sample,) = parsed.samples
    tokens = max(sample.completion_tokens, parsed.reported_completion_tokens)
    thinking = max(sample.thinking_tokens, parsed.reported_reasoning_tokens)
    return replace(
        parsed, samples=[replace(sample, completion_tokens=tokens, thinking_tokens=thinking)], counted=True
    )
