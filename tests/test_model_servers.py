"""vLLM's and SGLang's sampling fields, as the HTTP backend sends them (docs/scaling.md, Model servers).

A stand-in server on loopback records every JSON body it receives and answers in OpenAI's shape,
one logprob entry per token so each choice is counted. It imitates the servers where they differ:
`strict` refuses any field outside OpenAI's API with a 400, as OpenAI's API does; `copies` answers
n choices of one seeded request with one text n times, as SGLang does under deterministic
inference; otherwise the i-th choice is drawn with `seed + i`, as vLLM does. No model is loaded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ponder import PonderError
from ponder.backends.embedded import EmbeddedBackend
from ponder.backends.openai_compat import OpenAIBackend, server_fields, split_server
from ponder.types import Message, SamplingParams

ROOT = Path(__file__).resolve().parent.parent
QUESTION = [Message("user", "Count to five.")]
CONTINUED = [*QUESTION, Message("assistant", "One, two,")]
SEEDED = SamplingParams(max_tokens=8, temperature=0.7, seed=11)
NOT_OPENAI = {"top_k", "min_p", "ignore_eos", "continue_final_message", "add_generation_prompt"}


class StandIn(ThreadingHTTPServer):
    def __init__(self, *, strict: bool = False, copies: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.strict = strict
        self.copies = copies
        self.bodies: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def chat(self) -> list[dict[str, Any]]:
        return [b for b in self.bodies if "messages" in b]


class _Handler(BaseHTTPRequestHandler):
    server: StandIn

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.bodies.append(body)
        unknown = sorted(NOT_OPENAI & set(body))
        if self.server.strict and unknown:
            error = {"message": f"Unrecognized request argument supplied: {unknown[0]}", "type": "x"}
            return self._send(400, {"error": error})
        seed, n = body.get("seed"), int(body.get("n") or 1)
        choices = []
        for i in range(n):
            drawn = seed if seed is None or self.server.copies else seed + i
            words = [f" w{drawn}", f" i{i if seed is None else 0}"]
            if "messages" in body:
                logprobs: dict[str, Any] = {"content": [{"token": w, "logprob": -0.5} for w in words]}
                choices.append({"index": i, "message": {"content": "".join(words)}, "logprobs": logprobs})
            else:
                logprobs = {"tokens": words, "token_logprobs": [-0.5] * len(words)}
                choices.append({"index": i, "text": "".join(words), "logprobs": logprobs})
        usage = {"prompt_tokens": 12, "completion_tokens": 2 * n, "total_tokens": 12 + 2 * n}
        self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                         "choices": choices, "usage": usage})  # fmt: skip

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def standing(**kwargs: bool) -> Iterator[StandIn]:
    server = StandIn(**kwargs)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def upstream() -> Iterator[StandIn]:
    yield from standing()


@pytest.fixture
def strict() -> Iterator[StandIn]:
    yield from standing(strict=True)


@pytest.fixture
def sglang_like() -> Iterator[StandIn]:
    yield from standing(copies=True)


def backend(url: str, **kwargs: Any) -> OpenAIBackend:
    return OpenAIBackend("m", base_url=url, max_retries=0, **kwargs)


# 1. Each server kind receives exactly its fields.


async def test_vllm_receives_top_k_and_min_p_beside_openais_fields(upstream: StandIn) -> None:
    params = SamplingParams(max_tokens=8, temperature=0.7, top_p=0.9, top_k=20, min_p=0.05, seed=3)
    g = await backend(f"vllm+{upstream.url}").generate(QUESTION, params, 4)
    assert len(g.samples) == 4 and g.requests == 1
    (body,) = upstream.bodies
    assert body == {
        "model": "m", "messages": [{"role": "user", "content": "Count to five."}], "n": 4,
        "max_tokens": 8, "temperature": 0.7, "top_p": 0.9, "seed": 3, "stop": None,
        "logprobs": True, "top_logprobs": 1, "top_k": 20, "min_p": 0.05,
    }  # fmt: skip


async def test_sglang_receives_the_same_sampling_fields(upstream: StandIn) -> None:
    params = SamplingParams(max_tokens=8, top_k=-1, min_p=0.1, top_logprobs=3)
    await backend(f"sglang+{upstream.url}").generate(QUESTION, params, 2)
    (body,) = upstream.bodies
    assert (body["top_k"], body["min_p"], body["n"], body["top_logprobs"]) == (-1, 0.1, 2, 3)
    assert body["logprobs"] is True and not ({"continue_final_message", "add_generation_prompt"} & set(body))


async def test_unset_fields_are_not_sent_to_a_named_server(upstream: StandIn) -> None:
    await backend(f"vllm+{upstream.url}").generate(QUESTION, SEEDED, 2)
    assert not (NOT_OPENAI & set(upstream.bodies[0]))


async def test_text_completions_carry_them_too(upstream: StandIn) -> None:
    params = SamplingParams(max_tokens=8, top_k=40, min_p=0.05, seed=1)
    g = await backend(f"vllm+{upstream.url}", chat=False).generate(QUESTION, params, 2)
    (body,) = upstream.bodies
    assert body["prompt"] == "Count to five.\n\n" and body["logprobs"] == 1
    assert (body["top_k"], body["min_p"]) == (40, 0.05) and [s.completion_tokens for s in g.samples] == [2, 2]


# 2. A plain OpenAI endpoint never receives a field it rejects.


async def test_a_plain_endpoint_receives_only_openais_fields(strict: StandIn) -> None:
    g = await backend(strict.url).generate(QUESTION, SEEDED, 3)
    assert len(g.samples) == 3 and len(strict.bodies) == 1
    assert not (NOT_OPENAI & set(strict.bodies[0]))


async def test_top_k_for_an_unnamed_server_fails_in_one_line_before_any_request(strict: StandIn) -> None:
    for params in (SamplingParams(top_k=20), SamplingParams(min_p=0.05)):
        with pytest.raises(PonderError, match=r"named server.*vllm\+http://127") as e:
            await backend(strict.url).generate(QUESTION, params, 1)
        assert "\n" not in str(e.value)
    assert strict.bodies == []


def test_server_fields_by_kind() -> None:
    p = SamplingParams(top_k=5, min_p=0.2, ignore_eos=True)
    assert server_fields(None, p, continues=False) == {"ignore_eos": True}
    assert server_fields("vllm", p, continues=False) == {"ignore_eos": True, "top_k": 5, "min_p": 0.2}
    assert server_fields("sglang", SamplingParams(), continues=True) == {"continue_final_message": True}
    vllm = {"continue_final_message": True, "add_generation_prompt": False}
    assert server_fields("vllm", SamplingParams(), continues=True) == vllm
    assert server_fields(None, SamplingParams(), continues=True) == vllm  # unnamed: unchanged


def test_the_kind_is_named_in_the_url_or_given_once() -> None:
    assert split_server("vllm+http://gpu-1:8000/v1") == ("vllm", "http://gpu-1:8000/v1")
    assert split_server("SGLang+https://h/v1") == ("sglang", "https://h/v1")
    assert split_server("http://h/v1") == (None, "http://h/v1")
    assert split_server("http://h/v1?a+b") == (None, "http://h/v1?a+b")
    with pytest.raises(PonderError, match="must be one of vllm, sglang"):
        split_server("tgi+http://h/v1")
    b = backend("http://h/v1", server="sglang")
    assert (b.server, b.base_url) == ("sglang", "http://h/v1")
    assert backend("vllm+http://h/v1").base_url == "http://h/v1"
    with pytest.raises(PonderError, match="give one"):
        backend("vllm+http://h/v1", server="sglang")
    with pytest.raises(PonderError, match="server must be one of"):
        backend("http://h/v1", server="tgi")


# 3. Seeds: every sample its own, the same on a rerun.


def texts(g: Any) -> list[str]:
    return [s.text for s in g.samples]


async def test_vllm_draws_n_samples_in_one_seeded_request_and_reruns_them(upstream: StandIn) -> None:
    b = backend(f"vllm+{upstream.url}")
    first, again = await b.generate(QUESTION, SEEDED, 4), await b.generate(QUESTION, SEEDED, 4)
    assert [body["seed"] for body in upstream.bodies] == [11, 11]
    assert len(set(texts(first))) == 4 and texts(again) == texts(first)


async def test_sglang_gets_one_request_per_sample_each_with_its_own_seed(sglang_like: StandIn) -> None:
    # Asked for n at once, SGLang's copies would come back as one text four times:
    same = await backend(sglang_like.url).generate(QUESTION, SEEDED, 4)
    assert len(set(texts(same))) == 1
    sglang_like.bodies.clear()
    b = backend(f"sglang+{sglang_like.url}")
    g = await b.generate(QUESTION, SEEDED, 4)
    seeds = sorted(body["seed"] for body in sglang_like.bodies)
    assert seeds == [11, 11 + 7919, 11 + 2 * 7919, 11 + 3 * 7919]
    assert {body["n"] for body in sglang_like.bodies} == {1} and g.requests == 4
    assert len(set(texts(g))) == 4 and g.completion_tokens == 8
    assert texts(await b.generate(QUESTION, SEEDED, 4)) == texts(g)


async def test_unseeded_sglang_calls_stay_one_request(sglang_like: StandIn) -> None:
    g = await backend(f"sglang+{sglang_like.url}").generate(QUESTION, SamplingParams(max_tokens=8), 4)
    assert g.requests == 1 and [b["n"] for b in sglang_like.bodies] == [4] and len(set(texts(g))) == 4


# 4. Continuation: the fields each server continues through.


async def test_continuation_fields_per_kind(upstream: StandIn) -> None:
    for url, expected in (
        (f"vllm+{upstream.url}", {"continue_final_message": True, "add_generation_prompt": False}),
        (f"sglang+{upstream.url}", {"continue_final_message": True}),
        (upstream.url, {"continue_final_message": True, "add_generation_prompt": False}),
    ):
        upstream.bodies.clear()
        g = await backend(url).generate(CONTINUED, SamplingParams(max_tokens=8), 2)
        (body,) = upstream.bodies
        assert {k: body[k] for k in NOT_OPENAI & set(body)} == expected, url
        assert body["messages"][-1] == {"role": "assistant", "content": "One, two,"}
        assert texts(g) == [" wNone i0", " wNone i1"]  # the new text only
    upstream.bodies.clear()
    await backend(f"sglang+{upstream.url}", continuation="prefill").generate(CONTINUED, SEEDED, 1)
    assert not (NOT_OPENAI & set(upstream.bodies[0]))


async def test_a_new_turn_carries_no_continuation_field(upstream: StandIn) -> None:
    for kind in ("vllm", "sglang"):
        await backend(f"{kind}+{upstream.url}").generate(QUESTION, SamplingParams(max_tokens=8), 1)
    assert all(not (NOT_OPENAI & set(b)) for b in upstream.bodies)


# 5. The embedded engine honours them (its request body, without loading a model).


class _Engine:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def handle_chat_completions(self, body: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(body)
        entry = {"token": " a", "logprob": -0.1}
        choice = {"index": 0, "message": {"content": " a"}, "logprobs": {"content": [entry]}}
        return {"choices": [choice] * body["n"], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}


def test_the_embedded_engine_sends_top_k_and_min_p_only_when_set() -> None:
    engine = EmbeddedBackend.__new__(EmbeddedBackend)
    engine.chat, engine._server = True, _Engine()
    engine._request(QUESTION, SamplingParams(top_k=20, min_p=0.1), 2, 5)
    engine._request(QUESTION, SamplingParams(), 2, 5)
    first, default = engine._server.bodies
    assert (first["top_k"], first["min_p"], first["seed"]) == (20, 0.1, 5)
    assert "top_k" not in default and "min_p" not in default  # llama.cpp's defaults, as before
