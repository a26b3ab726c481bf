"""`ponder serve` on the real test model (smollm2-135m in-process), through the official `openai`
client: a strategy's usage is the sum of its calls, streaming ends with the usage, and a load of 50
concurrent 8-token requests completes with no failure (the engine's slots shared)."""

from __future__ import annotations

import asyncio
import time

import openai
import pytest

from ponder.models import catalog
from ponder.serve import ServeConfig
from ponder.serve.app import create_app
from served import serving

MODEL = catalog.TEST_MODEL
LOAD = 50


@pytest.fixture(scope="module")
def url(smol_path: object, tmp_path_factory: pytest.TempPathFactory) -> object:
    home = tmp_path_factory.mktemp("serve-home")
    with pytest.MonkeyPatch.context() as env:  # the module's server records into its own home
        env.setenv("PONDER_HOME", str(home))
        config = ServeConfig(models=(MODEL,), max_concurrency=LOAD, max_n=8, ctx=512, max_tokens=16)
        with serving(create_app(config)) as base:
            yield base


def test_a_strategy_on_the_real_model_counts_every_call(url: str) -> None:
    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0)
    r = client.chat.completions.create(
        model=f"sc@3/{MODEL}", messages=[{"role": "user", "content": "What is 2 + 2?"}], max_tokens=8
    )
    extra = r.model_extra["ponder"]  # type: ignore[index]
    assert r.choices[0].message.content is not None
    assert len(extra["candidates"]) == 3
    assert r.usage is not None
    assert r.usage.completion_tokens == sum(c["completion_tokens"] for c in extra["candidates"])
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert 0 < r.usage.completion_tokens <= 3 * 8


def test_streaming_on_the_real_model_ends_with_the_usage(url: str) -> None:
    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0)
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=8,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert chunks[-1].usage is not None and 0 < chunks[-1].usage.completion_tokens <= 8


def test_fifty_concurrent_requests_finish_without_a_failure(url: str) -> None:
    client = openai.AsyncOpenAI(base_url=url, api_key="none", max_retries=0, timeout=120)

    async def one(i: int) -> int:
        r = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"Count to {i % 5 + 2}."}], max_tokens=8
        )
        assert r.usage is not None
        return r.usage.completion_tokens

    async def load() -> list[int]:
        return await asyncio.gather(*(one(i) for i in range(LOAD)))

    start = time.perf_counter()
    tokens = asyncio.run(load())
    assert len(tokens) == LOAD and all(0 < t <= 8 for t in tokens)
    assert time.perf_counter() - start < 120  # the bound; the load figure is in benchmarks
