"""Test inputs for execution-based selection: the examples a problem states, and the tests a proposer
writes, parsed defensively into plain data.

A test is a `Call`: the source of one call of a named function whose arguments are Python literals
(`solve([3, -1])`), and the expected output's literal source where one is known. Nothing here
evaluates model text: `ast` parses it, `ast.literal_eval` checks that each argument is a literal,
and the call itself runs only in the sandbox. Anything else (an attribute call, a name as an
argument, a comprehension, an import) is dropped, so what runs is a function applied to data.

Examples come from the problem's statement in doctest form, as HumanEval's docstrings and the `code`
family state them: a `>>> f(...)` line and, on the next line, the output. They are tests stated in
the problem, which a test-time scorer may read (ARCHITECTURE.md); hidden tests never reach a
`Problem`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

MAX_SOURCE = 2000  # characters of one call or expected output; longer ones are dropped


@dataclass(frozen=True)
class Call:
    source: str  # `f(1, [2])`, normalized by ast.unparse
    expected: str | None = None  # the output's literal source, or None where unknown
    stated: bool = False  # an example of the problem's own (else a proposer's)


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def parse_call(text: str, names: frozenset[str] = frozenset()) -> ast.Call | None:
    """A call of a plain name (one of `names`, where given) with literal arguments only; else None."""
    if len(text) > MAX_SOURCE:
        return None
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return None
    if names and node.func.id not in names:
        return None
    arguments = [*node.args, *(k.value for k in node.keywords)]
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        return None
    return node if all(_literal(a) for a in arguments) else None


def _expected(text: str) -> str | None:
    """The literal source of an expected output, or None where it is not a literal."""
    if len(text) > MAX_SOURCE:
        return None
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    return ast.unparse(node) if _literal(node) else None


def entry_names(question: str, examples: list[Call] | None = None) -> frozenset[str]:
    """The function names a problem asks for: those its examples call, else its `def NAME(` lines,
    else the names it writes as `NAME(` in backticks; empty where it names none (any name is kept)."""
    if examples:
        return frozenset(source.split("(", 1)[0] for source in (c.source for c in examples))
    defined = re.findall(r"^\s*def\s+([A-Za-z_]\w*)\s*\(", question, flags=re.MULTILINE)
    return frozenset(defined or re.findall(r"`([A-Za-z_]\w*)\(", question))


def stated_examples(question: str) -> list[Call]:
    """The `>>> call` lines of a statement whose next line is a literal output (doctest form)."""
    lines = question.splitlines()
    found: list[Call] = []
    for i, line in enumerate(lines[:-1]):
        text = line.strip()
        if not text.startswith(">>> "):
            continue
        call = parse_call(text[4:])
        output = lines[i + 1].strip()
        if call is None or not output or output.startswith(">>>"):
            continue
        expected = _expected(output)
        if expected is not None:
            found.append(Call(ast.unparse(call), expected, stated=True))
    return _unique(found)


_PREFIX = re.compile(r"^(?:>>>\s*|[-*]\s+|\d+[.)]\s+|assert\s+)+")


def proposed_tests(text: str, names: frozenset[str], limit: int, skip: list[Call]) -> list[Call]:
    """Up to `limit` tests from a proposer's reply: lines `f(...) == output` (an assertion or not) or
    a bare call `f(...)`; list markers, `>>>`, `assert` and backticks are stripped, everything else
    is dropped. Calls already in `skip` (the stated examples) are not repeated."""
    seen = {c.source for c in skip}
    out: list[Call] = []
    for raw in text.splitlines():
        line = _PREFIX.sub("", raw.strip().strip("`").strip()).rstrip(" ;,")
        if not line or len(line) > MAX_SOURCE:
            continue
        call: ast.Call | None = None
        expected: str | None = None
        try:
            node = ast.parse(line, mode="eval").body
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
            call = parse_call(ast.unparse(node.left), names)
            expected = ast.unparse(node.comparators[0]) if _literal(node.comparators[0]) else None
        elif isinstance(node, ast.Call):
            call = parse_call(line, names)
        if call is None:
            continue
        source = ast.unparse(call)
        if source in seen:
            continue
        seen.add(source)
        out.append(Call(source, expected))
        if len(out) >= limit:
            break
    return out


def _unique(calls: list[Call]) -> list[Call]:
    seen: set[str] = set()
    out = []
    for c in calls:
        if c.source not in seen:
            seen.add(c.source)
            out.append(c)
    return out
