"""The embedded backend on the real small model: counts, chunking, caching and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ponder import PonderError
from ponder.backends.embedded import EmbeddedBackend
from ponder.types import Message, SamplingParams

PROMPT = [Message("user", "Name three colours.")]


async def test_n_samples_in_one_request_each_counted(smol_engine: EmbeddedBackend) -> None:
    params = SamplingParams(max_tokens=24, temperature=0.9, seed=11, logprobs=True)
    g = await smol_engine.generate(PROMPT, params, 3)
    assert len(g.samples) == 3 and g.requests == 1
    assert all(1 <= s.completion_tokens <= 24 for s in g.samples)
    assert g.completion_tokens == sum(s.completion_tokens for s in g.samples)
    assert all(s.mean_logprob is not None and s.mean_logprob <= 0 for s in g.samples)
    assert 0 < g.prompt_tokens < 100  # counted once, not per sample
    assert all((s.completion_tokens == 24) == (s.finish_reason == "length") for s in g.samples)


async def test_fixed_length_generation_counts_exactly(smol_engine: EmbeddedBackend) -> None:
    params = SamplingParams(max_tokens=16, temperature=0.8, seed=1, ignore_eos=True)
    g = await smol_engine.generate(PROMPT, params, 2)
    assert [s.completion_tokens for s in g.samples] == [16, 16]
    assert g.completion_tokens == 32
    assert all(s.mean_logprob is None for s in g.samples)  # counted without paying for logprobs


async def test_n_above_the_slots_is_chunked_and_reuses_the_prompt(smol_engine: EmbeddedBackend) -> None:
    params = SamplingParams(max_tokens=12, temperature=1.0, seed=5, ignore_eos=True)
    g = await smol_engine.generate(PROMPT, params, 6)  # 4 slots: chunks of 4 and 2
    assert len(g.samples) == 6 and g.requests == 2
    assert g.completion_tokens == 6 * 12
    assert g.cached_prompt_tokens > 0  # the second chunk found the prompt in the cache
    assert len({s.text for s in g.samples}) > 1  # chunks do not repeat one another's seed


async def test_prompt_longer_than_context_is_a_one_line_error(smol_engine: EmbeddedBackend) -> None:
    with pytest.raises(PonderError, match="shorten it or raise the context") as e:
        await smol_engine.generate([Message("user", "hello " * 6000)], SamplingParams(max_tokens=4), 1)
    assert "\n" not in str(e.value)


def test_bad_settings_and_unloadable_files(tmp_path: Path, smol_path: Path) -> None:
    with pytest.raises(PonderError, match="must be"):
        EmbeddedBackend(smol_path, n_parallel=0)
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(smol_path.read_bytes()[:5_000_000])
    with pytest.raises(PonderError, match=r"could not load cut\.gguf"):
        EmbeddedBackend(truncated)
