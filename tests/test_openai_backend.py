"""The HTTP backend against a real model served over loopback, through the official openai client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

import ponder
from ponder import PonderError
from ponder.backends.embedded import EmbeddedBackend
from ponder.backends.openai_compat import OpenAIBackend
from ponder.types import Message, SamplingParams
from served import free_port, serving
from served_app import create_app

PROMPT = [Message("user", "Count to five.")]
FIXED = SamplingParams(max_tokens=10, temperature=0.8, seed=3, ignore_eos=True)


@pytest.fixture(scope="module")
def url(smol_engine: EmbeddedBackend) -> Iterator[str]:
    with serving(create_app(smol_engine)) as base:
        yield base


def test_official_client_talks_to_the_server(url: str) -> None:
    client = openai.OpenAI(base_url=url, api_key="none")
    assert [m.id for m in client.models.list().data] == ["smollm2-135m"]
    reply = client.chat.completions.create(
        model="smollm2-135m", messages=[{"role": "user", "content": "Hi"}], max_tokens=5, n=2
    )
    assert len(reply.choices) == 2 and reply.usage is not None
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="other", messages=[{"role": "user", "content": "Hi"}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="smollm2-135m", messages=[{"role": "user", "content": "x " * 9000}]
        )


async def test_n_samples_counted_per_choice(url: str) -> None:
    backend = OpenAIBackend("smollm2-135m", base_url=url)
    g = await backend.generate(PROMPT, FIXED, 3)
    # The server's usage counts the first choice only (as llama.cpp's does); ponder counts all.
    assert g.requests == 1 and len(g.samples) == 3
    assert [s.completion_tokens for s in g.samples] == [10, 10, 10]
    assert g.completion_tokens == 30


async def test_server_refusing_n_is_emulated(smol_engine: EmbeddedBackend) -> None:
    app = create_app(smol_engine, max_n=1)
    with serving(app) as base:
        backend = OpenAIBackend("smollm2-135m", base_url=base)
        g = await backend.generate(PROMPT, FIXED, 3)
        assert len(g.samples) == 3 and g.requests == 3
        assert g.completion_tokens == 30
        assert app.state.counters["requests"] == 4  # one refused, three single
        await backend.generate(PROMPT, FIXED, 2)  # remembered: no refused request this time
        assert app.state.counters["requests"] == 6


async def test_retries_on_server_errors(smol_engine: EmbeddedBackend) -> None:
    app = create_app(smol_engine, fail_first=2)
    with serving(app) as base:
        g = await OpenAIBackend("smollm2-135m", base_url=base, max_retries=3).generate(PROMPT, FIXED, 1)
        assert len(g.samples) == 1 and app.state.counters["requests"] == 3


async def test_gives_up_with_one_line_after_retries(smol_engine: EmbeddedBackend) -> None:
    with (
        serving(create_app(smol_engine, fail_first=10)) as base,
        pytest.raises(PonderError, match="HTTP 503 after retries"),
    ):
        await OpenAIBackend("smollm2-135m", base_url=base, max_retries=1).generate(PROMPT, FIXED, 1)


async def test_unreachable_server_and_unknown_model(url: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(PonderError, match="cannot reach"):
        await OpenAIBackend("m", base_url=dead, max_retries=0).generate(PROMPT, FIXED, 1)
    with pytest.raises(PonderError, match="has no model 'nope'"):
        await OpenAIBackend("nope", base_url=url).generate(PROMPT, FIXED, 1)


def test_needs_a_base_url() -> None:
    with pytest.raises(PonderError, match="--base-url"):
        OpenAIBackend("m")


async def test_a_server_without_logprobs_is_asked_one_by_one_and_the_refused_reply_still_counts(
    smol_engine: EmbeddedBackend,
) -> None:
    app = create_app(smol_engine, logprobs=False)
    with serving(app) as base:
        g = await OpenAIBackend("smollm2-135m", base_url=base).generate(PROMPT, FIXED, 3)
    assert len(g.samples) == 3 and [s.completion_tokens for s in g.samples] == [10, 10, 10]
    # the first n=3 reply could not be counted per sample: its tokens were spent all the same
    assert g.requests == 4 and app.state.counters["requests"] == 4
    assert g.completion_tokens == 30 + 10  # the server reported the first choice of the refused reply


async def test_hosted_models_are_priced_by_their_server_name(
    url: str, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "prices.toml").write_text(
        '[models."smollm2-135m"]\ninput_per_mtok = 1000.0\noutput_per_mtok = 2000.0\n'
    )
    result = await ponder.ask_async(
        "Say hi.", model="openai:smollm2-135m", base_url=url, strategy="sc@2", max_tokens=6, seed=1
    )
    u = result.usage
    # no cached-input price in the table: cached prompt tokens (the shared engine may hold this
    # prompt from an earlier test) are priced as input
    expected = (u.prompt_tokens * 1000.0 + u.completion_tokens * 2000.0) / 1e6
    assert u.cost_usd == pytest.approx(expected) and u.cost_usd > 0
    assert not any("not counted" in n and "dollars" in n for n in result.notes)
    assert u.flops == 2 * 134_515_008 * u.uncached_tokens  # a catalog name behind a server has known FLOPs


async def test_an_openai_client_without_binary_bodies_sends_the_same_request(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """openai before 2.16 (the extra asks for >=1.40) posts no `content`: the body goes as JSON."""
    posted = openai.AsyncOpenAI.post

    async def post(
        self: openai.AsyncOpenAI, path: str, *, cast_to: Any, body: Any = None, options: Any = None
    ) -> Any:
        sent: Any = options or {}
        return await posted(self, path, cast_to=cast_to, body=body, options=sent)

    monkeypatch.setattr(openai.AsyncOpenAI, "post", post)
    g = await OpenAIBackend("smollm2-135m", base_url=url).generate(PROMPT, FIXED, 2)
    assert len(g.samples) == 2 and g.completion_tokens == 20
