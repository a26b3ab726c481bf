"""The Backend protocol: n samples of one prompt in one call.

A backend does only this: send one prompt, ask for n samples, and report what the engine processed.
Retries live inside the backend that needs them (HTTP); accounting lives once in the ledger
(`ponder.ledger`), which wraps every call.
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


class Backend(Protocol):
    model: str
    capabilities: Capabilities

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation: ...

    def close(self) -> None: ...
