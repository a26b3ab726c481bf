"""`ponder serve` through the official `openai` client, on loopback, with scripted backends.

The server is the real app under uvicorn (tests/served.py); the models are stand-ins injected
through `create_app(config, session_factory=...)`, so every figure is known: each scripted call
reports 20 prompt tokens and 10 completion tokens per sample. The upstream fault test runs the
default session factory against a stand-in upstream that drops the connection.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scripted
from ponder import PonderError
from ponder.serve import ServeConfig
from ponder.serve.app import create_app
from ponder.serve.schema import ChatRequest, CompletionRequest
from ponder.store import open_store
from served import serving

KEY = "sk-test-key"
VOTES = ["I think.\nAnswer: 3", "Hmm.\nAnswer: 4", "So.\nAnswer: 3", "Well.\nAnswer: 5"]


@contextmanager
def server(backend: scripted.ScriptedBackend | None = None, **config: Any) -> Iterator[str]:
    backend = backend or scripted.ScriptedBackend(VOTES)
    settings_ = {"models": ("tiny",), "keepalive_seconds": 0.2, **config}
    app = create_app(ServeConfig(**settings_), session_factory=lambda name: scripted.session({name: backend}))
    with serving(app) as url:
        yield url


def client(url: str, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key=key, max_retries=0)


def post(url: str, path: str, body: bytes, key: str | None = KEY) -> tuple[int, dict[str, Any], Any]:
    """A raw request: (status, headers, parsed body or text)."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(url + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, hdrs, raw = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, dict(e.headers), e.read()
    try:
        return status, hdrs, json.loads(raw)
    except ValueError:
        return status, hdrs, raw.decode()


def get(url: str, path: str, key: str | None = KEY) -> tuple[int, dict[str, Any], Any]:
    """A raw GET: (status, headers, parsed body)."""
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    req = urllib.request.Request(url + path, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def chat(model: str = "tiny", text: str = "What is 1+2?") -> bytes:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": text}]}).encode()


def test_plain_chat_passes_the_messages_and_counts_the_call() -> None:
    backend = scripted.ScriptedBackend(["Hello there."])
    with server(backend) as url:
        r = client(url).chat.completions.create(
            model="tiny",
            messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}],
        )
    assert r.choices[0].message.content == "Hello there."
    assert [m.content for m in backend.requests[0].messages] == ["Be kind.", "Hi"]
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (20, 10, 30)
    extra = r.model_extra["ponder"]
    assert extra["strategy"] == "chat" and extra["usage_by_role"]["policy"]["completion_tokens"] == 10


def test_strategy_in_the_model_name_votes_and_answers_with_a_full_text() -> None:
    with server() as url:
        r = client(url).chat.completions.create(
            model="sc@4/tiny", messages=[{"role": "user", "content": "What is 1+2?"}]
        )
    extra = r.model_extra["ponder"]
    assert extra["answer"] == "3" and extra["scorer"] == "vote"
    assert r.choices[0].message.content in (VOTES[0], VOTES[2])
    assert len(extra["candidates"]) == 4 and extra["votes"] == {"3": 2, "4": 1, "5": 1}
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (20, 40)  # one call of 4 samples


def test_strategy_in_extra_body_and_both_ways_at_once() -> None:
    with server() as url:
        c = client(url)
        r = c.chat.completions.create(
            model="tiny",
            messages=[{"role": "user", "content": "What is 1+2?"}],
            extra_body={"ponder": {"strategy": "sc@4"}},
        )
        assert r.model_extra["ponder"]["strategy"] == "sc@4"
        with pytest.raises(openai.BadRequestError, match="two strategies"):
            c.chat.completions.create(
                model="sc@2/tiny",
                messages=[{"role": "user", "content": "x"}],
                extra_body={"ponder": {"strategy": "sc@4"}},
            )


def test_usage_is_the_sum_of_every_call_with_its_roles() -> None:
    backend = scripted.ScriptedBackend(["Draft.\nAnswer: 3", "Looks right.", "Revised.\nAnswer: 3"])
    with server(backend) as url:
        r = client(url).chat.completions.create(
            model="revise@1/tiny", messages=[{"role": "user", "content": "What is 1+2?"}]
        )
    extra = r.model_extra["ponder"]
    roles = extra["usage_by_role"]
    assert {"policy", "judge"} <= set(roles)
    sent = backend.requests
    assert r.usage.prompt_tokens == 20 * len(sent) == sum(u["prompt_tokens"] for u in roles.values())
    completion = sum(min(10, q.params.max_tokens) * q.n for q in sent)
    assert r.usage.completion_tokens == completion == sum(u["completion_tokens"] for u in roles.values())
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_free_form_chat_falls_back_to_the_judge_and_says_so() -> None:
    backend = scripted.ScriptedBackend(["Hi!", "Hello, friend.", "Hey."])
    with server(backend) as url:
        r = client(url).chat.completions.create(
            model="sc@3/tiny", messages=[{"role": "user", "content": "Say hello"}]
        )
    extra = r.model_extra["ponder"]
    assert extra["answer"] is None and extra["scorer"] == "rubric (fallback)"
    assert r.choices[0].message.content in ("Hi!", "Hello, friend.", "Hey.")
    assert "judge" in extra["usage_by_role"] and any("no answer to vote on" in n for n in extra["notes"])


def test_streaming_sends_the_role_first_the_text_then_usage() -> None:
    backend = scripted.ScriptedBackend(VOTES, delay=0.5)
    with server(backend) as url:
        chunks = list(
            client(url).chat.completions.create(
                model="sc@4/tiny",
                messages=[{"role": "user", "content": "What is 1+2?"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text in (VOTES[0], VOTES[2])
    progress = [
        c.model_extra["ponder"]["progress"] for c in chunks if "progress" in c.model_extra.get("ponder", {})
    ]
    assert progress and progress[-1]["samples"] == 4
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason][-1]
    assert final.model_extra["ponder"]["answer"] == "3"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 40


def test_completions_endpoint_streamed_and_not() -> None:
    with server() as url:
        c = client(url)
        r = c.completions.create(model="sc@4/tiny", prompt="What is 1+2?")
        assert r.choices[0].text in (VOTES[0], VOTES[2]) and r.usage.completion_tokens == 40
        parts = list(c.completions.create(model="tiny", prompt="Hi", stream=True))
        assert "".join(p.choices[0].text for p in parts if p.choices) == VOTES[0]


def test_models_lists_what_is_served() -> None:
    with server() as url:
        ids = [m.id for m in client(url).models.list()]
        strategies = get(url, "/models")[2]["ponder"]["strategies"]
    assert ids == ["tiny"]
    code = {s["name"]: s["runs_code"] for s in strategies}
    assert code["pot"] and code["exec"] and code["repair"]
    assert not (code["sc"] or code["bon"] or code["vote"])


def test_retrieve_a_model_or_a_strategy_on_one() -> None:
    with server(max_n=8) as url:
        c = client(url)
        plain = c.models.retrieve("tiny")
        assert (plain.id, plain.object, plain.owned_by) == ("tiny", "model", "ponder")
        assert plain.model_dump() == next(iter(c.models.list())).model_dump()  # the listed object
        voted = c.models.retrieve("sc@8/tiny")  # the client sends the slash as %2F
        assert voted.id == "sc@8/tiny" and voted.model_extra["ponder"] == {
            "model": "tiny",
            "strategy": "sc@8",
        }
        refused = {
            "nope": "model_not_found",
            "sc@8/other": "model_not_found",
            "sc@x/tiny": "invalid_strategy",
            "sc@16/tiny": "max_n_exceeded",
            "pot@2/tiny": "code_execution_disabled",
        }
        for name, code in refused.items():
            with pytest.raises(openai.NotFoundError) as e:
                c.models.retrieve(name)
            assert e.value.body["code"] == code and e.value.body["param"] == "model", name
            assert set(e.value.body) == {"message", "type", "param", "code"}


def test_retrieve_needs_the_key() -> None:
    with server(api_key=KEY) as url:
        with pytest.raises(openai.AuthenticationError):
            client(url, key="wrong").models.retrieve("tiny")
        assert client(url).models.retrieve("tiny").id == "tiny"


def test_api_key_is_required_but_health_is_open() -> None:
    with server(api_key=KEY) as url:
        with pytest.raises(openai.AuthenticationError):
            client(url, key="wrong").chat.completions.create(
                model="tiny", messages=[{"role": "user", "content": "x"}]
            )
        status, _, body = post(url, "/chat/completions", chat(), key=None)
        assert status == 401 and body["error"]["type"] == "authentication_error"
        with pytest.raises(openai.AuthenticationError):
            client(url, key="wrong").models.list()
        with urllib.request.urlopen(url.removesuffix("/v1") + "/health", timeout=10) as r:
            assert r.status == 200
        assert client(url).chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x"}])


def test_unknown_model_is_404_and_a_name_that_is_no_spec_passes_through() -> None:
    with server() as url:
        c = client(url)
        for name in ("nope", "Org/tiny", "meta/tiny"):
            with pytest.raises(openai.NotFoundError) as e:
                c.chat.completions.create(model=name, messages=[{"role": "user", "content": "x"}])
            assert e.value.body["code"] == "model_not_found"
            assert name in e.value.body["message"]


@pytest.mark.parametrize(
    "name", ["sc@x/tiny", "sc@4:temperature=hot/tiny", "bon@4:scorer=nope/tiny", "sc@0/tiny"]
)
def test_a_malformed_strategy_is_400(name: str) -> None:
    with server() as url, pytest.raises(openai.BadRequestError) as e:
        client(url).chat.completions.create(model=name, messages=[{"role": "user", "content": "x"}])
    assert e.value.body["code"] == "invalid_strategy" and e.value.body["param"] == "model"


def test_bad_bodies_are_400_in_openai_shape() -> None:
    bad = [
        b"{not json",
        b"[1, 2]",
        json.dumps({"model": "tiny"}).encode(),
        json.dumps({"model": "tiny", "messages": []}).encode(),
        json.dumps({"model": "tiny", "messages": [{"role": "user", "content": "x"}], "n": 2}).encode(),
        json.dumps(
            {"model": "tiny", "messages": [{"role": "user", "content": "x"}], "temperature": 9}
        ).encode(),
        json.dumps({"model": "tiny", "messages": [{"role": "robot", "content": "x"}]}).encode(),
        json.dumps(
            {"model": "tiny", "messages": [{"role": "user", "content": "x"}], "ponder": {"limit": "gold=1"}}
        ).encode(),
        json.dumps(
            {"model": "tiny", "messages": [{"role": "user", "content": "x"}], "ponder": {"typo": 1}}
        ).encode(),
        json.dumps(
            {"model": "tiny", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}
        ).encode(),
        json.dumps({"model": "sc@99/tiny", "messages": [{"role": "user", "content": "x"}]}).encode(),
    ]
    with server() as url:
        for body in bad:
            status, _, answer = post(url, "/chat/completions", body)
            assert status == 400, (body, answer)
            assert set(answer["error"]) == {"message", "type", "param", "code"}


def test_over_the_n_cap_is_a_400_that_says_the_cap_and_what_to_do() -> None:
    """Not a 429: a retry cannot pass the cap, and OpenAI's clients retry a 429 by themselves."""
    backend = scripted.ScriptedBackend(VOTES)
    with server(backend, max_n=4) as url:
        c = openai.OpenAI(base_url=url, api_key=KEY)  # the client's default retries
        for model, extra in (("vote@2(sc@4)/tiny", None), ("tiny", {"ponder": {"strategy": "sc@8"}})):
            with pytest.raises(openai.BadRequestError) as e:
                c.chat.completions.create(
                    model=model, messages=[{"role": "user", "content": "x"}], extra_body=extra
                )
            message = e.value.body["message"]
            assert e.value.body["code"] == "max_n_exceeded"
            assert "at most 4 (--max-n)" in message and "lower N" in message, message
        with pytest.raises(openai.BadRequestError) as e:  # the body's own n: a strategy draws samples
            c.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x"}], n=4)
        assert e.value.body["param"] == "n" and "sc@N/MODEL" in e.value.body["message"]
        assert c.chat.completions.create(model="sc@4/tiny", messages=[{"role": "user", "content": "x"}])
    assert len(backend.requests) == 1  # only the last request reached the model


def test_a_body_over_the_cap_is_413() -> None:
    with server(max_body_bytes=2000) as url:
        status, _, body = post(url, "/chat/completions", chat(text="x" * 5000))
    assert status == 413 and body["error"]["code"] == "body_too_large"


def test_past_the_concurrency_cap_is_429_with_retry_after() -> None:
    backend = scripted.ScriptedBackend(["Answer: 1"], delay=1.5)
    with server(backend, max_concurrency=1) as url:
        first: dict[str, Any] = {}
        t = threading.Thread(target=lambda: first.update(r=post(url, "/chat/completions", chat())))
        t.start()
        deadline = time.monotonic() + 5
        while not backend.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        with pytest.raises(openai.RateLimitError) as e:
            client(url).chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x"}])
        assert e.value.response.headers["retry-after"] == "1"
        t.join()
        assert first["r"][0] == 200
        assert client(url).chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x"}])


def test_code_strategies_are_refused_unless_allowed() -> None:
    with server() as url:
        for name in ("pot@2/tiny", "vote@2(pot@2)/tiny", "exec@2/tiny", "bon@2(repair@1)/tiny"):
            with pytest.raises(openai.BadRequestError) as e:
                client(url).chat.completions.create(model=name, messages=[{"role": "user", "content": "x"}])
            assert e.value.body["code"] == "code_execution_disabled", name


def test_each_request_is_a_recorded_run() -> None:
    with server() as url:
        r = client(url).chat.completions.create(
            model="sc@4/tiny", messages=[{"role": "user", "content": "1+2?"}]
        )
    run_id = r.model_extra["ponder"]["run_id"]
    store = open_store()
    try:
        runs = store.runs()
    finally:
        store.close()
    assert [(x["id"], x["kind"], x["strategy"], x["completion_tokens"]) for x in runs] == [
        (run_id, "serve", "sc@4", 40)
    ]


def test_no_record_leaves_the_store_empty() -> None:
    with server(record=False) as url:
        r = client(url).chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x"}])
    assert r.model_extra["ponder"]["run_id"] is None
    store = open_store()
    try:
        assert store.runs() == []
    finally:
        store.close()


def test_the_limit_caps_the_request() -> None:
    backend = scripted.ScriptedBackend(VOTES)
    with server(backend) as url:
        r = client(url).chat.completions.create(
            model="sc@4/tiny",
            messages=[{"role": "user", "content": "x"}],
            max_tokens=7,
            extra_body={"ponder": {"limit": "tokens=12"}},
        )
    assert backend.requests[0].params.max_tokens == 3  # 12 tokens over 4 samples
    assert r.usage.completion_tokens <= 12 and r.choices[0].finish_reason == "length"


class _Upstream(BaseHTTPRequestHandler):
    """A stand-in OpenAI server: answers every chat; drops the connection when asked to die."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if "die" in json.dumps(body["messages"]):
            self.close_connection = True
            self.connection.shutdown(2)
            return
        reply = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_an_upstream_that_dies_is_a_clean_502_and_the_server_stays_up() -> None:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{upstream.server_address[1]}/v1"
        config = ServeConfig(models=("up",), upstream=base, upstream_retries=0, record=False)
        with serving(create_app(config)) as url:
            c = client(url)
            with pytest.raises(openai.APIStatusError) as e:
                c.chat.completions.create(model="up", messages=[{"role": "user", "content": "please die"}])
            assert e.value.status_code == 502 and e.value.body["code"] == "upstream_error"
            r = c.chat.completions.create(model="up", messages=[{"role": "user", "content": "hi"}])
            assert r.choices[0].message.content == "Hello"
            assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (7, 3)  # the upstream's own
    finally:
        upstream.shutdown()


def openapi(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url.removesuffix("/v1") + "/openapi.json", timeout=10) as r:
        doc: dict[str, Any] = json.loads(r.read())
    return doc


BODIES = {"/chat/completions": ChatRequest, "/completions": CompletionRequest}


def body_schema(doc: dict[str, Any], path: str) -> dict[str, Any]:
    """The JSON schema the document gives for a route's request body, its reference followed."""
    body = doc["paths"]["/v1" + path]["post"]["requestBody"]
    assert body["required"] is True
    return resolve(doc, body["content"]["application/json"]["schema"])


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        prefix, _, name = node["$ref"].rpartition("/")
        assert prefix == "#/components/schemas"
        node = doc["components"]["schemas"][name]
    return node


def test_the_openapi_document_describes_the_bodies_and_the_errors() -> None:
    with server() as url:
        doc = openapi(url)
    for path, model in BODIES.items():
        schema = body_schema(doc, path)
        assert set(schema["properties"]) == set(model.model_fields), path  # every field the server reads
        assert set(schema["required"]) == {n for n, f in model.model_fields.items() if f.is_required()}
    chat_schema = body_schema(doc, "/chat/completions")
    assert resolve(doc, chat_schema["properties"]["messages"]["items"])["required"] == ["role"]
    ponder = resolve(doc, chat_schema["properties"]["ponder"]["anyOf"][0])
    assert ponder["additionalProperties"] is False and set(ponder["properties"]) == {"strategy", "limit"}
    assert "/v1/models/{model}" in doc["paths"]
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            assert "422" not in operation["responses"], path  # bad input is a 400 here
            if path != "/health":
                error = operation["responses"]["default"]["content"]["application/json"]["schema"]
                assert resolve(doc, error)["required"] == ["error"]
    for ref in refs(doc):  # every reference resolves within the document
        resolve(doc, {"$ref": ref})


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


# Fuzzing: JSON objects of random shape, and bodies drawn from the served OpenAPI schema, so a field
# added to a request model later is fuzzed with no change here. A drawn body is mostly what the
# schema allows, with a few fields broken (a value past a bound, of another JSON type, or missing),
# so requests reach the strategies as well as the validation.
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
# Values worth more than random text for a field of this name.
_hints: dict[str, st.SearchStrategy[Any]] = {
    "model": st.sampled_from(
        [
            "tiny",
            "sc@2/tiny",
            "bon@2/tiny",
            "cot/tiny",
            "revise@1/tiny",
            "vote@2(cot)/tiny",
            "sc@x/tiny",
            "pot@2/tiny",
            "sc@64/tiny",
        ]
    ),
    "strategy": st.sampled_from(["sc@2", "cot", "sc@x", "pot@1", "bon@300", "vote@4(sc@8)"]),
    "limit": st.sampled_from(["tokens=5", "usd=0.01", "tokens=-1", "x"]),
    "type": st.just("text"),
    **dict.fromkeys(("content", "text", "prompt"), st.just("What is 1+2?")),
}


def _bounds(node: dict[str, Any]) -> tuple[Any, Any]:
    step = 1 if node.get("type") == "integer" else 1e-9
    low, high = node.get("minimum"), node.get("maximum")
    if "exclusiveMinimum" in node:
        low = node["exclusiveMinimum"] + step
    if "exclusiveMaximum" in node:
        high = node["exclusiveMaximum"] - step
    return low, high


def allowed(doc: dict[str, Any], node: dict[str, Any], name: str = "") -> st.SearchStrategy[Any]:
    """Values the schema allows at this node (and the field's hint, if it has one)."""
    node = resolve(doc, node)
    options = [_hints[name]] if name in _hints else []
    options += [allowed(doc, sub, name) for sub in node.get("anyOf", [])]
    kind = node.get("type")
    low, high = _bounds(node)
    if "enum" in node:
        options.append(st.sampled_from(node["enum"]))
    elif kind == "string":
        options.append(
            st.text(min_size=node.get("minLength", 0), max_size=min(40, node.get("maxLength", 40)))
        )
    elif kind == "integer":
        options.append(st.integers(low, high))
    elif kind == "number":
        options.append(st.floats(low, high, allow_nan=False, allow_infinity=False))
    elif kind == "boolean":
        options.append(st.booleans())
    elif kind == "null":
        options.append(st.none())
    elif kind == "array":
        most = min(3, node.get("maxItems", 3))
        options.append(
            st.lists(allowed(doc, node.get("items", {})), min_size=node.get("minItems", 0), max_size=most)
        )
    elif kind == "object" and "properties" in node:
        options.append(_object(doc, node))
    return st.one_of(options) if options else _json


def broken(doc: dict[str, Any], node: dict[str, Any], name: str = "") -> st.SearchStrategy[Any]:
    """Values at this node that the schema may refuse: past a bound, too long, outside an enum, of
    any JSON type."""
    node = resolve(doc, node)
    options: list[st.SearchStrategy[Any]] = [_json, allowed(doc, node, name)]
    options += [broken(doc, sub, name) for sub in node.get("anyOf", [])]
    low, high = _bounds(node)
    past = [bound + step for bound, step in ((low, -1), (high, 1)) if bound is not None]
    if past:
        options.append(st.sampled_from(past))
    if "maxLength" in node:
        options.append(st.just("x" * (node["maxLength"] + 1)))
    if "enum" in node:
        options.append(st.text(max_size=10))
    if node.get("type") == "number":
        options.append(st.floats(allow_nan=True))
    return st.one_of(options)


@st.composite
def _object(draw: st.DrawFn, doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """An object of the schema: each required field and some optional ones; in one object in four, a
    field or two broken or missing."""
    fields = node["properties"]
    required = set(node.get("required", ()))
    bad = (
        draw(st.sets(st.sampled_from(sorted(fields)), max_size=2)) if draw(st.integers(0, 3)) == 0 else set()
    )
    out = {}
    for name in sorted(fields):
        if name in bad:
            if name in required and draw(st.booleans()):
                continue  # a required field missing
            out[name] = draw(broken(doc, fields[name], name))
        elif name in required or draw(st.booleans()):
            out[name] = draw(allowed(doc, fields[name], name))
    return out


def test_fuzzed_bodies_never_get_a_5xx() -> None:
    backend = scripted.ScriptedBackend(VOTES)
    with server(backend, record=False) as url:
        doc = openapi(url)
        drawn = {path: allowed(doc, body_schema(doc, path)) for path in BODIES}
        any_shape = st.dictionaries(st.text(max_size=10), _json, max_size=5)
        statuses: list[int] = []

        @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
        @given(path=st.sampled_from(sorted(BODIES)), other=st.sampled_from(sorted(BODIES)), data=st.data())
        def check(path: str, other: str, data: st.DataObject) -> None:
            # a body from its own route's schema, from another route's, or of any shape
            body = data.draw(drawn[path] | drawn[other] | any_shape)
            status, _, answer = post(url, path, json.dumps(body).encode())
            statuses.append(status)
            assert status < 500, (body, answer)
            if status >= 400:
                assert set(answer["error"]) == {"message", "type", "param", "code"}

        check()
    assert 200 in statuses and 400 in statuses  # the fuzz reached both the strategies and validation


@pytest.mark.parametrize(
    ("upstream", "error"),
    [
        ("http://127.0.0.1:8080/v1", None),
        ("vllm+http://127.0.0.1:8080/v1", None),  # the server named: its sampling fields are sent
        ("sglang+https://gpu-1:30000/v1", None),
        ("ftp://127.0.0.1/v1", "give the base URL"),
        ("tgi+http://127.0.0.1:8080/v1", "must be one of"),
    ],
)
def test_the_upstream_may_name_its_server(upstream: str, error: str | None) -> None:
    config = ServeConfig(models=("up",), upstream=upstream)
    if error is None:
        config.check()
    else:
        with pytest.raises(PonderError, match=error):
            config.check()
