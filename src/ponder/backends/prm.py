"""A process reward model served over HTTP (`prm:URL`): it scores partial solutions, it never writes.

The contract is deliberately small, so that any PRM can be put behind it in a few lines:

    POST URL   {"question": str, "steps": [str, ...]}
    → 200      {"score": number}  or  {"scores": [number, ...]}   (one per step: the last is used)
               optionally "usage": {"prompt_tokens": int}

A score is a number, higher for steps more likely correct (P(correct) in [0, 1] by convention; the
search reads only their order). `steps` are the steps written so far, each without the delimiter that
ended it. Any other answer, an unreachable server or an error status is a one-line `PonderError`.

The standard library's HTTP client does the request (in a thread, so that a search's scoring calls
go out together): the core needs no HTTP package for this, and a PRM is one plain POST with no
retries to tune. The backend serves only the judge role of a step-level search
(`ponder.strategies.process`); asked to generate it fails with one line, so a PRM named for a role
that writes (the policy, or `verify`'s judge) is caught at its first call. Its calls are recorded by
the caller in the ledger like any other (one call, its wall seconds, the prompt tokens the server
reports, else 0); no FLOPs, since its size is unknown, and no dollars, since its price is.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ponder.backends.base import Capabilities
from ponder.errors import PonderError
from ponder.models.resolve import PRM_PREFIX
from ponder.types import Generation, Message, SamplingParams

TIMEOUT_S = 120.0


@dataclass(frozen=True)
class PRMScore:
    """One scoring call: the score of the last step, and what the call cost."""

    score: float
    prompt_tokens: int
    wall_seconds: float


def read_score(url: str, reply: Any) -> tuple[float, int]:
    """The score and prompt tokens in a PRM's reply, or a one-line error naming the contract."""
    value: Any = None
    if isinstance(reply, dict):
        value = reply.get("score")
        scores = reply.get("scores")
        if value is None and isinstance(scores, list) and scores:
            value = scores[-1]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**1023:
        value = float(value)  # a JSON integer may be larger than any float
    if not isinstance(value, float) or not math.isfinite(value):
        raise PonderError(
            f'{PRM_PREFIX}{url} answered without a score: it must reply {{"score": number}} or '
            f'{{"scores": [number, ...]}}, got {json.dumps(reply)[:120]}'
        )
    usage = reply.get("usage") if isinstance(reply, dict) else None
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    return float(value), tokens if isinstance(tokens, int) and tokens >= 0 else 0


class PRMBackend:
    """A `prm:URL` model: `score(question, steps)`; `generate` is refused."""

    def __init__(self, url: str, *, timeout: float = TIMEOUT_S) -> None:
        if not url.startswith(("http://", "https://")):
            raise PonderError(
                f"{PRM_PREFIX}{url}: give the scoring endpoint's URL, e.g. prm:http://127.0.0.1:8000/score"
            )
        self.url = url
        self.model = PRM_PREFIX + url
        self.timeout = timeout
        self.capabilities = Capabilities(max_n=1, logprobs=False, prefix_sharing=False)

    def _post(self, question: str, steps: Sequence[str]) -> PRMScore:
        body = json.dumps({"question": question, "steps": list(steps)}).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            detail = e.read()[:200].decode(errors="replace").replace("\n", " ")
            raise PonderError(f"{self.model} answered {e.code}: {detail or e.reason}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise PonderError(
                f"{self.model} is unreachable ({reason}): start the process reward model's server "
                "or fix the URL"
            ) from None
        seconds = time.perf_counter() - started
        try:
            reply = json.loads(raw)
        except ValueError:
            reply = raw[:120].decode(errors="replace")
        score, tokens = read_score(self.url, reply)
        return PRMScore(score, tokens, seconds)

    async def score(self, question: str, steps: Sequence[str]) -> PRMScore:
        """The PRM's score for the steps so far (of the last step, where it scores each)."""
        return await asyncio.to_thread(self._post, question, steps)

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        raise PonderError(
            f"{self.model} is a process reward model: it scores the steps of beam and dvts and cannot "
            "write; give this role a language model"
        )

    def close(self) -> None:
        pass
