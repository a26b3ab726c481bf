"""Keep thinking apart from the answer: `<think>…</think>` blocks and per-token attribution.

Models that think emit `<think>…</think>` before their answer (or the server returns it as
`reasoning_content`). The answer extractor must never see the thoughts, and the ledger counts the
tokens spent inside them as `thinking_tokens`.
"""

from __future__ import annotations

from collections.abc import Sequence

OPEN, CLOSE = "<think>", "</think>"


def split_thinking(text: str) -> tuple[str, str]:
    """Return (thoughts, answer). An unclosed block means the model never left its thoughts."""
    start = text.find(OPEN)
    if start == -1 or text[:start].strip():
        return "", text
    end = text.find(CLOSE, start)
    if end == -1:
        return text[start + len(OPEN) :].strip(), ""
    return text[start + len(OPEN) : end].strip(), text[end + len(CLOSE) :].strip()


def thinking_token_count(tokens: Sequence[bytes], text: str) -> int:
    """How many of the generated tokens lie inside the thinking block of `text`."""
    start = text.find(OPEN)
    if start == -1 or text[:start].strip():
        return 0
    end = text.find(CLOSE, start)
    cutoff = len(text[: end + len(CLOSE)].encode()) if end != -1 else len(text.encode())
    seen = count = 0
    for token in tokens:
        if seen >= cutoff:
            break
        seen += len(token)
        count += 1
    return count
