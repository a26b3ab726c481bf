"""The Backend protocol: n samples of one prompt in one call.

A backend does only this: send one prompt, ask for n samples, and report what the engine processed.
Retries live inside the backend that needs them (HTTP); accounting lives once in the ledger
(`ponder.ledger`), which wraps every call.

Continuation. When the last message has role "assistant", the call continues that message instead
of asking a new turn: the model reads the conversation up to and including the assistant's text so
far, and writes on from its last character. Budget forcing and step-level search are built on it.

- The prompt is exactly what the same conversation without the final message would be sent as,
  followed by the final message's text (no end-of-turn after it): continuing is the same as if the
  model had written that text itself.
- Each `Sample.text` is the NEW text only, exactly as generated (not stripped, no thinking block split
  off): callers concatenate prefix and continuation. A server that repeats the prefix in its reply has
  it removed. Tokens of the new text inside a `<think>` block (one the prefix may have opened) count
  as `thinking_tokens`.
- The prefix counts as prompt tokens: it is processed as prompt, and counted as cached where the
  engine finds it in its cache (a continuation of text the same engine just wrote usually does).
- End a prefix where a token ends: a prefix cut inside a word, or ending in a space, makes the model
  continue from a token boundary it would not have chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ponder.types import Generation, Message, SamplingParams

MAX_N = 256  # a sane upper bound on samples per call; above it is almost surely a typo


@dataclass(frozen=True)
class Capabilities:
    max_n: int  # samples one request can carry; larger n is split into requests
    logprobs: bool
    prefix_sharing: bool  # n samples share one evaluation of the prompt
    native_thinking: bool = False
    local_cores: int = 0  # cores a local engine occupies (prices local calls); 0 for remote
    continuation: bool = False  # continues a final assistant message (see the module docstring)


def continued(messages: Sequence[Message]) -> str | None:
    """The text a call continues: the final message's, when it is the assistant's; else None."""
    if messages and messages[-1].role == "assistant":
        return messages[-1].content
    return None


def messages_to_prompt(messages: Sequence[Message]) -> str:
    """A plain transcript for a base model, which has no chat template: every turn's text, a blank
    line after each. A final assistant message is continued: the prompt ends with its text, so the
    continued prompt is the prompt without it followed by that text."""
    if not messages:
        return ""
    *turns, last = messages
    text = "".join(m.content + "\n\n" for m in turns)
    return text + last.content + ("" if last.role == "assistant" else "\n\n")


class Backend(Protocol):
    model: str
    capabilities: Capabilities

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation: ...

    def close(self) -> None: ...
