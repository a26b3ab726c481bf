"""Hard limits on what one question may spend: completion tokens, calls, dollars, seconds.

    limit := part ("," part)*        part := ("tokens" | "calls" | "usd" | "seconds") "=" number

A limit belongs to a context and is shared by all its children (a vote's runs, a judge's calls), per
question (per problem in a study). Before each model call the context asks `Spend.admit`:
- nothing left (tokens, calls, dollars or seconds spent) → the call is refused (`LimitReached`) before
  it is made;
- fewer tokens left than the call could use → its `max_tokens` is cut to what is left, split over
  its n samples. Tokens are reserved while a call is in flight, so concurrent children cannot
  overspend together; a call that finds the rest reserved waits for the calls in flight.
`calls` counts engine requests, as `Usage.calls` does (a call of 32 samples on 16 slots is two).
Dollars and seconds cannot be known before a call ends, so under those limits calls go one at a
time and each is admitted on what was really spent: the last admitted call may finish past them,
never a second one, and the result says so. A tool call (a sandbox run) is counted when it is
recorded; it is not refused in advance. The word "budget" stays with @N and the study's ladder; a
limit is a cap on spending.
"""

from __future__ import annotations

import asyncio
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
            if not part.strip():
                raise PonderError(f"bad limit '{text}': an empty part (write KIND=NUMBER,KIND=NUMBER)")
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


class _Wait:
    """Not now: calls in flight will settle what is left."""


WAIT = _Wait()


@dataclass
class Spend:
    """What a tree of contexts has spent against its limit, read from the root ledger.

    `admit` is asynchronous: a call that could go once the calls in flight have settled waits for
    them (their reserved tokens come back, their dollars are known) rather than being refused on
    what they might spend. Under a dollar or seconds limit calls go one at a time, so each is
    admitted on what has really been spent; the last admitted call may pass the limit, never a
    second one, and the result then says so.
    """

    limit: Limit
    ledger: Ledger
    started: float = field(default_factory=time.monotonic)
    reserved_tokens: int = 0
    in_flight: int = 0
    requests_in_flight: int = 0
    _settled: asyncio.Condition = field(default_factory=asyncio.Condition)

    def _decide(self, n: int, max_tokens: int, requests: int) -> int | _Wait | LimitReached:
        lim, used = self.limit, self.ledger.total()
        if lim.calls is not None:
            if used.calls >= lim.calls:
                return refusal(f"{lim.calls} calls made")
            if used.calls + self.requests_in_flight + requests > lim.calls:
                if self.in_flight:
                    return WAIT
                return refusal(f"{lim.calls} calls: this one needs {requests}, {lim.calls - used.calls} left")
        if lim.usd is not None and used.cost_usd >= lim.usd:
            return refusal(f"${lim.usd:g} spent")
        if lim.seconds is not None and self.elapsed() >= lim.seconds:
            return refusal(f"{lim.seconds:g} seconds passed")
        if (lim.usd is not None or lim.seconds is not None) and self.in_flight:
            return WAIT
        if lim.tokens is not None:
            left = lim.tokens - used.completion_tokens
            if left // n < 1:
                return refusal(f"{lim.tokens} completion tokens spent")
            free = left - self.reserved_tokens
            if free // n < 1:
                return WAIT  # tokens reserved by calls in flight come back when they finish
            max_tokens = min(max_tokens, free // n)
        return max_tokens

    async def admit(self, n: int, max_tokens: int, requests: int = 1) -> int:
        """The max_tokens a call of n samples (`requests` engine requests) may use, reserved until
        `release`; or LimitReached before the call is made."""
        async with self._settled:
            while isinstance(decision := self._decide(n, max_tokens, requests), _Wait):
                await self._settled.wait()
            if isinstance(decision, LimitReached):
                raise decision
            if self.limit.tokens is not None:
                self.reserved_tokens += decision * n
            self.in_flight += 1
            self.requests_in_flight += requests
            return decision

    async def release(self, n: int, max_tokens: int, requests: int = 1) -> None:
        """A call has finished (and is in the ledger, or failed): free what it held."""
        async with self._settled:
            if self.limit.tokens is not None:
                self.reserved_tokens -= max_tokens * n
            self.in_flight -= 1
            self.requests_in_flight -= requests
            self._settled.notify_all()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def passed(self) -> str | None:
        """Why the limit is now past (a call admitted with a little left spent more), or None."""
        lim, used = self.limit, self.ledger.total()
        if lim.usd is not None and used.cost_usd > lim.usd:
            return f"stopped by the limit: ${lim.usd:g} (the last call passed it: ${used.cost_usd:.3g})"
        if lim.seconds is not None and self.elapsed() > lim.seconds:
            return f"stopped by the limit: {lim.seconds:g} seconds (the last call passed it)"
        return None

    def cut(self) -> str:
        """What a result says when a sample ran into a cap the limit had lowered."""
        return f"stopped by the limit: {self.limit.tokens} completion tokens (a sample was cut short)"


def refusal(why: str) -> LimitReached:
    return LimitReached(f"stopped by the limit: {why}")
