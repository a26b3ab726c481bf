from __future__ import annotations

from ponder.backends.response import parse_response
from ponder.backends.thinking import split_thinking, thinking_token_count


def test_split() -> None:
    assert split_thinking("<think>a\nb</think>\nAnswer: 3") == ("a\nb", "Answer: 3")
    assert split_thinking("Answer: 3") == ("", "Answer: 3")
    assert split_thinking("<think>still going") == ("still going", "")
    assert split_thinking("text <think>x</think> more") == ("", "text <think>x</think> more")


def test_thinking_tokens_are_counted_from_token_bytes() -> None:
    tokens = [b"<think>", b"hm", b"m", b"</think>", b"\n", b"Answer", b": 3"]
    text = b"".join(tokens).decode()
    assert thinking_token_count(tokens, text) == 4
    assert thinking_token_count(tokens[3:], "".join(t.decode() for t in tokens[3:])) == 0


def test_parse_response_separates_thoughts_and_counts_per_choice() -> None:
    def entries(parts: list[str]) -> list[dict[str, object]]:
        return [{"token": p, "bytes": list(p.encode()), "logprob": -0.5} for p in parts]

    response = {
        "choices": [
            {
                "index": 1,
                "finish_reason": "length",
                "message": {"content": "Answer: 4"},
                "logprobs": {"content": entries(["Answer", ": 4"])},
            },
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"content": "<think>so</think>Answer: 5"},
                "logprobs": {"content": entries(["<think>", "so", "</think>", "Answer", ": 5"])},
            },
        ],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 5,
            "prompt_tokens_details": {"cached_tokens": 4},
        },
    }
    parsed = parse_response(response, 0.1)
    first, second = parsed.samples
    assert (first.thoughts, first.text, first.completion_tokens, first.thinking_tokens) == (
        "so",
        "Answer: 5",
        5,
        3,
    )
    assert (second.text, second.completion_tokens, second.finish_reason) == ("Answer: 4", 2, "length")
    assert parsed.counted and parsed.prompt_tokens == 9 and parsed.cached_prompt_tokens == 4


def test_reasoning_tokens_reported_by_the_server() -> None:
    response = {
        "choices": [{"message": {"content": "Answer: 1", "reasoning_content": "hidden"}}],
        "usage": {
            "prompt_tokens": 5,
            "completion_tokens": 40,
            "completion_tokens_details": {"reasoning_tokens": 31},
        },
    }
    parsed = parse_response(response, 0.0)
    assert parsed.reported_reasoning_tokens == 31 and parsed.reported_completion_tokens == 40


def test_reasoning_content_field_and_missing_usage() -> None:
    response = {"choices": [{"message": {"content": "Answer: 1", "reasoning_content": "I think"}}]}
    parsed = parse_response(response, 0.0)
    (s,) = parsed.samples
    assert s.thoughts == "I think" and s.text == "Answer: 1"
    assert not parsed.counted and parsed.prompt_tokens == 0
