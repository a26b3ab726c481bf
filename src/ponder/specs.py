"""Strategy specs: one grammar for the CLI, config files, the store and the proxy.

    spec   := name ["@" N] ["(" spec ")"] (":" key "=" value)*
    name   := [a-z][a-z0-9_-]*
    key    := [a-z][a-z0-9_]*
    value  := one or more characters other than : ( ) / , @ and whitespace

Examples: `sc@8`, `bon@8:scorer=logprob`, `bon@4(revise@2)`, `cot:temperature=0.3`.
A spec never holds `/`, `,` or whitespace, so lists of specs are comma-separated and a proxy can read
`<spec>/<model>`. `str(spec)` is canonical (keys sorted), so equal specs print equally. Parsing checks
the grammar only; whether a name or key exists is the strategy registry's concern
(`ponder.strategies.build`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ponder.errors import PonderError

_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_KEY = re.compile(r"[a-z][a-z0-9_]*")
_VALUE = re.compile(r"[^:()/,@\s]+")
_NUMBER = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Spec:
    name: str
    n: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    inner: Spec | None = None

    def __str__(self) -> str:
        out = self.name
        if self.n is not None:
            out += f"@{self.n}"
        if self.inner is not None:
            out += f"({self.inner})"
        for key in sorted(self.params):
            out += f":{key}={self.params[key]}"
        return out

    def __hash__(self) -> int:
        return hash(str(self))

    def at(self, n: int | None) -> Spec:
        """The same strategy at another budget (None: without one, as `bon:scorer=vote`)."""
        return Spec(self.name, n, self.params, self.inner)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> PonderError:
        return PonderError(
            f"bad strategy spec '{self.text}' at character {self.pos + 1}: {what} "
            "(grammar: name[@N][(inner)](:key=value)*, e.g. sc@8 or bon@4:scorer=vote)"
        )

    def take(self, pattern: re.Pattern[str], what: str) -> str:
        m = pattern.match(self.text, self.pos)
        if not m:
            raise self.fail(f"expected {what}")
        self.pos = m.end()
        return m.group(0)

    def peek(self, char: str) -> bool:
        return self.text.startswith(char, self.pos)

    def spec(self) -> Spec:
        name = self.take(_NAME, "a strategy name")
        n = None
        if self.peek("@"):
            self.pos += 1
            n = int(self.take(_NUMBER, "a number after @"))
        inner = None
        if self.peek("("):
            self.pos += 1
            inner = self.spec()
            if not self.peek(")"):
                raise self.fail("expected ')'")
            self.pos += 1
        params: dict[str, str] = {}
        while self.peek(":"):
            self.pos += 1
            key = self.take(_KEY, "a key")
            if not self.peek("="):
                raise self.fail(f"expected '=' after '{key}'")
            self.pos += 1
            if key in params:
                raise self.fail(f"key '{key}' given twice")
            params[key] = self.take(_VALUE, f"a value for '{key}'")
        return Spec(name, n, params, inner)


def parse_spec(text: str) -> Spec:
    """Parse one spec; raise a one-line PonderError on any deviation from the grammar."""
    parser = _Parser(text.strip())
    if not parser.text:
        raise PonderError("empty strategy spec: give one such as cot or sc@8")
    spec = parser.spec()
    if parser.pos != len(parser.text):
        raise parser.fail("unexpected text")
    return spec


def parse_specs(text: str) -> list[Spec]:
    """Parse a comma-separated list of specs."""
    return [parse_spec(part) for part in text.split(",")]
