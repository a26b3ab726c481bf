"""Shared terminal output: JSON to stdout, people's text through rich."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

console = Console()
err = Console(stderr=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def esc(value: object) -> str:
    """Text from a model or a user, safe to put inside rich markup."""
    return escape(str(value))


def human_count(x: float) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.2f}{unit}"
    return f"{x:g}"


def fold(text: str, lines: int = 3, width: int = 100) -> str:
    """The first few lines of a long text, with a note of how much is hidden."""
    rows = [r[:width] + ("…" if len(r) > width else "") for r in text.strip().splitlines() if r]
    if len(rows) <= lines:
        return "\n".join(rows)
    return "\n".join(rows[:lines]) + f"\n… ({len(rows) - lines} more lines)"
