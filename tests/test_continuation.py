"""Continuing a final assistant message, on the real small model: embedded (chat and base) and HTTP.

The contract (`ponder.backends.base`): the sample's text is the new text only, and the prefix is
prompt. The greedy model counts on from "One, two, three," with "four"; asked as a new turn it starts
over, so a continuation that was really a new turn fails these tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ponder import PonderError
from ponder.backends.base import messages_to_prompt
from ponder.backends.embedded import EmbeddedBackend
from ponder.backends.openai_compat import OpenAIBackend
from ponder.backends.response import parse_response
from ponder.types import Message, SamplingParams
from served import serving
from served_app import create_app

QUESTION = [Message("user", "Count from one to ten in words.")]
PREFIX = "One, two, three,"
CONTINUED = [*QUESTION, Message("assistant", PREFIX)]
GREEDY = SamplingParams(max_tokens=8, temperature=0.0, seed=1)


def prefix_tokens(engine: EmbeddedBackend) -> int:
    """How many tokens PREFIX is after a newline (where the chat template leaves it), by the engine."""
    body = {"max_tokens": 1, "temperature": 0.0}
    before = engine.handle_completions({**body, "prompt": "Hi\n"})["usage"]["prompt_tokens"]
    after = engine.handle_completions({**body, "prompt": "Hi\n" + PREFIX})["usage"]["prompt_tokens"]
    return int(after - before)


def counts_on(text: str) -> bool:
    return text.lstrip().lower().startswith("four")


async def test_a_chat_model_continues_and_the_prefix_is_prompt(smol_engine: EmbeddedBackend) -> None:
    plain = await smol_engine.generate(QUESTION, GREEDY, 1)
    g = await smol_engine.generate(CONTINUED, GREEDY, 2)
    assert not counts_on(plain.samples[0].text)  # asked afresh, it does not count on from "three"
    for s in g.samples:
        assert s.text.strip() and not s.text.startswith("One")  # the new text only
        assert counts_on(s.text)
        assert s.completion_tokens >= 1 and s.thoughts == ""
    assert g.completion_tokens == sum(s.completion_tokens for s in g.samples)
    # The same conversation plus the prefix's own tokens: no end-of-turn, no new assistant header.
    assert g.prompt_tokens - plain.prompt_tokens == prefix_tokens(smol_engine) > 0
    assert g.cached_prompt_tokens >= plain.prompt_tokens  # the conversation before it was in the cache


def test_the_base_transcript_keeps_every_turn_and_ends_with_the_prefix() -> None:
    turns = [Message("system", "S"), Message("user", "Q"), Message("assistant", "A"), Message("user", "R")]
    assert messages_to_prompt(turns) == "S\n\nQ\n\nA\n\nR\n\n"
    assert messages_to_prompt([*turns, Message("assistant", "Well,")]) == messages_to_prompt(turns) + "Well,"
    assert messages_to_prompt([Message("user", "Q")]) == "Q\n\n"  # a one-turn prompt is as it was


async def test_a_base_model_continues_its_transcript(smol_path: Path) -> None:
    base = EmbeddedBackend(smol_path, model="smollm2-base", n_parallel=2, n_ctx=512, chat=False)
    try:
        question = [Message("user", "Count from one to ten in words:")]
        plain = await base.generate(question, GREEDY, 1)
        g = await base.generate([*question, Message("assistant", PREFIX)], GREEDY, 1)
        (s,) = g.samples
        assert s.text.strip() and not s.text.startswith("One") and counts_on(s.text)
        assert g.prompt_tokens - plain.prompt_tokens == pytest.approx(prefix_tokens(base), abs=1)
        # An assistant turn in the middle is part of the prompt now (it used to be dropped).
        answered = [*question, Message("assistant", PREFIX + " four, five"), Message("user", "Go on.")]
        middle = await base.generate(answered, GREEDY, 1)
        without = await base.generate([*question, Message("user", "Go on.")], GREEDY, 1)
        assert middle.prompt_tokens - without.prompt_tokens >= prefix_tokens(base) + 2
    finally:
        base.close()


@pytest.fixture(scope="module")
def url(smol_engine: EmbeddedBackend) -> Iterator[str]:
    with serving(create_app(smol_engine)) as base:
        yield base


async def test_http_auto_sends_vllm_fields_and_returns_only_new_text(smol_engine: EmbeddedBackend) -> None:
    app = create_app(smol_engine)
    with serving(app) as base:
        backend = OpenAIBackend("smollm2-135m", base_url=base)
        assert backend.capabilities.continuation
        plain = await backend.generate(QUESTION, GREEDY, 1)
        g = await backend.generate(CONTINUED, GREEDY, 2)
    assert "continue_final_message" not in app.state.bodies[0]  # a new turn carries no such field
    sent = app.state.bodies[1]
    assert sent["continue_final_message"] is True and sent["add_generation_prompt"] is False
    assert sent["messages"][-1] == {"role": "assistant", "content": PREFIX}
    for s in g.samples:
        assert s.text.strip() and not s.text.startswith("One") and counts_on(s.text)
    assert g.prompt_tokens - plain.prompt_tokens == prefix_tokens(smol_engine)


async def test_http_prefill_strips_the_prefix_a_llamacpp_server_repeats(url: str) -> None:
    backend = OpenAIBackend("smollm2-135m", base_url=url, continuation="prefill")
    g = await backend.generate(CONTINUED, GREEDY, 2)
    for s in g.samples:
        assert s.text.strip() and not s.text.startswith("One") and counts_on(s.text)
        assert s.completion_tokens >= 1


async def test_http_without_logprobs_still_strips_the_repeated_prefix(smol_engine: EmbeddedBackend) -> None:
    with serving(create_app(smol_engine, logprobs=False)) as base:
        backend = OpenAIBackend("smollm2-135m", base_url=base, continuation="prefill")
        (s,) = (await backend.generate(CONTINUED, GREEDY, 1)).samples
    assert s.text.strip() and not s.text.startswith("One") and counts_on(s.text)


async def test_a_server_refusing_the_fields_is_told_once_and_not_asked_again(
    smol_engine: EmbeddedBackend,
) -> None:
    app = create_app(smol_engine, strict=True)
    with serving(app) as base:
        backend = OpenAIBackend("smollm2-135m", base_url=base)
        await backend.generate(QUESTION, GREEDY, 1)  # new turns are unaffected
        with pytest.raises(PonderError, match="does not continue an assistant message") as e:
            await backend.generate(CONTINUED, GREEDY, 1)
        assert "\n" not in str(e.value)
        asked = app.state.counters["requests"]
        with pytest.raises(PonderError, match="does not continue"):
            await backend.generate(CONTINUED, GREEDY, 1)
        assert app.state.counters["requests"] == asked  # remembered: no second refused request
        # a server that refuses vLLM's fields may still prefill: "prefill" sends none
        g = await OpenAIBackend("smollm2-135m", base_url=base, continuation="prefill").generate(
            CONTINUED, GREEDY, 1
        )
        assert counts_on(g.samples[0].text)


async def test_http_base_model_continues_through_text_completions(smol_engine: EmbeddedBackend) -> None:
    app = create_app(smol_engine)
    with serving(app) as base:
        backend = OpenAIBackend("smollm2-135m", base_url=base, chat=False)
        g = await backend.generate(CONTINUED, SamplingParams(max_tokens=8, seed=2, ignore_eos=True), 2)
    assert app.state.bodies[0]["prompt"] == messages_to_prompt(CONTINUED)
    assert app.state.bodies[0]["prompt"].endswith("\n\n" + PREFIX)
    assert [s.completion_tokens for s in g.samples] == [8, 8]  # counted per choice from its logprobs
    assert g.completion_tokens == 16
    assert all(s.text.strip() and not s.text.startswith("One") for s in g.samples)


def test_bad_continuation_mode(url: str) -> None:
    with pytest.raises(PonderError, match="continuation must be"):
        OpenAIBackend("smollm2-135m", base_url=url, continuation="vllm")  # type: ignore[arg-type]


def reply(content: str, tokens: list[str]) -> dict[str, object]:
    entries = [{"token": t, "bytes": list(t.encode()), "logprob": -0.5} for t in tokens]
    return {
        "choices": [{"index": 0, "message": {"content": content}, "logprobs": {"content": entries}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": len(tokens)},
    }


def test_a_repeated_prefix_is_removed_but_the_models_own_repetition_is_kept() -> None:
    echoed = parse_response(reply("Yes. Yes.", [" Yes", "."]), 0.0, "Yes.")
    assert echoed.samples[0].text == " Yes."
    # The generated tokens spell the whole reply: the model itself wrote the prefix again.
    own = parse_response(reply("Yes. Yes.", ["Yes", ".", " Yes", "."]), 0.0, "Yes.")
    assert own.samples[0].text == "Yes. Yes."
    # Without token information a reply starting with the prefix is taken as repeating it.
    bare = parse_response({"choices": [{"index": 0, "message": {"content": "Yes. No."}}]}, 0.0, "Yes.")
    assert bare.samples[0].text == " No."


def test_thinking_opened_in_the_prefix_is_counted_in_the_new_text() -> None:
    prefix = "<think>\nLet me"
    parsed = parse_response(reply(prefix + " see.</think> 42", [" see", ".", "</think>", " 42"]), 0.0, prefix)
    (s,) = parsed.samples
    assert s.text == " see.</think> 42" and s.thoughts == ""  # new text as generated, not split
    assert s.completion_tokens == 4 and s.thinking_tokens == 3
    closed = parse_response(reply("<think>a</think> b c", [" c"]), 0.0, "<think>a</think> b")
    assert closed.samples[0].thinking_tokens == 0
