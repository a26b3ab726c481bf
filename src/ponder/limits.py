"""Hard limits on what one question may spend: completion tokens, calls, dollars, seconds.

    limit := part ("," part)*        part := ("tokens" | "calls" | "usd" | "seconds") "=" number

A limit belongs to a context and is shared by all its children (a vote's runs, a judge's calls), per
question (per problem in a study). Before each model call the context asks `Spend.admit`:
- nothing left (tokens, calls, dollars or seconds spent) → the call is refused (`LimitReached`) before
  it is made;
- fewer tokens left than the call could use → its `max_tokens` is cut to what is left, split over
  its n samples. Tokens are reserved while a call is in flight, so concurrent children cannot
  overspend together.
Dollars and seconds cannot be known before a call ends, so they are checked between calls: a call
admitted with a little left may finish past them, never a second one. The word "budget" stays with
@N and the study's ladder; a limit is a cap on spending.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields

from ponder.errors import PonderError
from ponder.ledger import Ledger

KINDS = ("tokens", "calls", "usd", "seconds")


class LimitReached(PonderError):
    """A call refused because the question's limit is spent; strategies return their best so far."""


@dataclass(frozen=True)
class Limit:
    tokens: int | None = None  # completion tokens, every role's
    calls: int | None = None  # model calls through the ledger (a call of n samples is one)
    usd: float | None = None
    seconds: float | None = None

    @classmethod
    def parse(cls, text: str | None) -> Limit | None:
        """`tokens=4000,calls=20` → a Limit; None or empty → no limit. Errors are one line."""
        if text is None or not text.strip():
            return None
        values: dict[str, float] = {}
        for part in text.split(","):
            key, eq, raw = part.strip().partition("=")
            if not eq or key not in KINDS:
                raise PonderError(
                    f"bad limit '{part.strip()}': write KIND=NUMBER with KIND one of {', '.join(KINDS)} "
                    "(e.g. tokens=4000,usd=0.01)"
                )
            if key in values:
                raise PonderError(f"bad limit '{text}': {key} given twice")
            try:
                value = float(raw)
            except ValueError:
                raise PonderError(f"bad limit '{part.strip()}': {raw!r} is not a number") from None
            if not math.isfinite(value) or value <= 0:
                raise PonderError(f"bad limit '{part.strip()}': it must be a positive number")
            if key in ("tokens", "calls") and value != int(value):
                raise PonderError(f"bad limit '{part.strip()}': {key} must be a whole number")
            values[key] = value
        return cls(
            tokens=int(values["tokens"]) if "tokens" in values else None,
            calls=int(values["calls"]) if "calls" in values else None,
            usd=values.get("usd"),
            seconds=values.get("seconds"),
        )

    def __str__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                parts.append(f"{f.name}={value:g}")
        return ",".join(parts)


@dataclass
class Spend:
    """What a tree of contexts has spent against its limit, read from the root ledger."""

    limit: Limit
    ledger: Ledger
    started: float = field(default_factory=time.monotonic)
    reserved_tokens: int = 0
    calls_in_flight: int = 0

    def _refuse(self, why: str) -> LimitReached:
        return LimitReached(f"stopped by the limit: {why}")

    def admit(self, n: int, max_tokens: int) -> int:
        """The max_tokens a call of n samples may use, reserved until `release`; or LimitReached."""
        lim, used = self.limit, self.ledger.total()
        if lim.calls is not None and self.ledger.count() + self.calls_in_flight >= lim.calls:
            raise self._refuse(f"{lim.calls} calls made")
        if lim.usd is not None and used.cost_usd >= lim.usd:
            raise self._refuse(f"${lim.usd:g} spent")
        if lim.seconds is not None and time.monotonic() - self.started >= lim.seconds:
            raise self._refuse(f"{lim.seconds:g} seconds passed")
        if lim.tokens is not None:
            left = lim.tokens - used.completion_tokens - self.reserved_tokens
            each = left // n
            if each < 1:
                raise self._refuse(f"{lim.tokens} completion tokens spent")
            max_tokens = min(max_tokens, each)
            self.reserved_tokens += max_tokens * n
        self.calls_in_flight += 1
        return max_tokens

    def cut(self) -> str:
        """What a result says when a sample ran into a cap the limit had lowered."""
        return f"stopped by the limit: {self.limit.tokens} completion tokens (a sample was cut short)"

    def release(self, n: int, max_tokens: int) -> None:
        if self.limit.tokens is not None:
            self.reserved_tokens -= max_tokens * n
        self.calls_in_flight -= 1
