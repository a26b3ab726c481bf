"""Extract a final answer from a completion, and normalize it so that votes count equal answers once.

Formats, chosen per task (a task's `answer_format`):
- `boxed`: the last `\\boxed{…}` (braces balanced);
- `answer`: the last `Answer: …` line (also `The answer is …`, `####  …`);
- `number`: the answer line's first number if there is one, else the last number in the text;
- `auto`: boxed, then answer line, then last number;
- `list`: the answer line's bracketed list of integers, canonical `[1, -2, 3]`;
- `names`: the answer line's names, sorted, canonical `Ann, Bob` (or `none`);
- `expression`: the answer line's arithmetic expression, spaces removed, `×`/`÷` as `*`/`/`;
- `code`: the last fenced code block (```python … ```), else the text itself if it defines a function;
- `text`: the whole reply, stripped (a written text, which its family checks by program).
Extraction never sees the thinking block: backends strip it before.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# Commas count as thousands separators only in groups of three: "1,234" is one number, "3,4,5" three.
_NUMBER = re.compile(r"-?\$?\s?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:/\d+)?|-?\.\d+")
# An explicit answer line ("Answer: 18", "**Answer:** 18", GSM8K's "#### 18") outranks a phrase in
# running text ("... so the answer is 18."), wherever each stands.
_ANSWER_LINE = re.compile(
    r"^[\s*#_>-]*(?:final\s+)?answer\s*\**\s*[:：]\s*\**\s*(.+)|^\s*####\s*(.+)", re.IGNORECASE
)
_ANSWER_PHRASE = re.compile(r"\bthe\s+(?:final\s+)?answer\s+is\s*[:：]?\s*(.+)", re.IGNORECASE)
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-"})  # minus sign, en dash


def _last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start == -1:
        return None
    i = start + len("\\boxed{")
    depth = 1
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j]
    return None


def _answer_line(text: str) -> str | None:
    """The last explicit answer line's value; failing that, the last "the answer is" phrase's."""
    for pattern in (_ANSWER_LINE, _ANSWER_PHRASE):
        found = None
        for line in text.translate(_MINUS).splitlines():
            m = pattern.search(line)
            value = m and next((g for g in m.groups() if g), "").strip()
            if value:
                found = value
        if found is not None:
            return found
    return None


_FRAC = re.compile(r"\\d?frac\{(-?\d+)\}\{(\d+)\}")


def _last_number(text: str) -> str | None:
    numbers = _NUMBER.findall(_FRAC.sub(r"\1/\2", text.translate(_MINUS)))
    return numbers[-1] if numbers else None


def _list(text: str) -> str | None:
    line = _answer_line(text) or _last_boxed(text)
    if line is None:
        return None
    m = re.search(r"\[([^\[\]]*)\]", line)
    if not m:
        return None
    body = m.group(1).strip()
    if not body:
        return "[]"
    parts = [p.strip() for p in body.split(",")]
    if not all(re.fullmatch(r"-?\d+", p) for p in parts):
        return None
    return "[" + ", ".join(str(int(p)) for p in parts) + "]"


def _names(text: str) -> str | None:
    line = _answer_line(text)
    if line is None:
        return None
    line = re.sub(r"[*_`]", "", line).strip().rstrip(".")
    if re.fullmatch(r"(?i)(none|nobody|no one|no knights?|there are no knights)", line):
        return "none"
    line = re.split(r"\s+(?:are|is)\b", line)[0]  # "Ivan and Ben are knights"
    words = re.split(r"\s*(?:,|\band\b|&)\s*", line)
    names = sorted({w.strip() for w in words if w.strip()})
    if not names or not all(re.fullmatch(r"[A-Z][a-z]+", n) for n in names):
        return None
    return ", ".join(names)


def _expression(text: str) -> str | None:
    line = _answer_line(text)
    if line is None:
        return None
    expr = line.replace("\\times", "*").replace("\\div", "/").replace("\\cdot", "*")
    expr = expr.replace("×", "*").replace("÷", "/").replace("·", "*").replace("x", "*")
    expr = re.sub(r"[\s`$]", "", expr)
    expr = expr.strip("*").split("=")[0].rstrip(".")
    return expr if re.fullmatch(r"[\d+\-*/()]+", expr) else None


# A block closed by ``` or, when generation stopped at the closing fence, left open at the end.
_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)


def _code(text: str) -> str | None:
    """The last fenced block that defines a function (a usage example after it is not the answer)."""
    blocks = [str(b) for b in _FENCE.findall(text)]
    defining = [b for b in blocks if re.search(r"^\s*def \w+\(", b, re.MULTILINE)]
    if defining or blocks:
        return (defining or blocks)[-1].strip("\n") + "\n"
    return text if re.search(r"^\s*def \w+\(", text, re.MULTILINE) else None


def _text(text: str) -> str | None:
    """The whole reply is the answer (a written text, checked by its family's program)."""
    return text.strip() or None


_STRUCTURED = {"list": _list, "names": _names, "expression": _expression, "code": _code, "text": _text}
FORMATS = ("auto", "boxed", "answer", "number", *_STRUCTURED)


def extract_answer(text: str, fmt: str = "auto") -> str | None:
    """The normalized final answer in `text`, or None if there is none."""
    if fmt in _STRUCTURED:
        return _STRUCTURED[fmt](text)
    if fmt == "boxed":
        raw = _last_boxed(text)
    elif fmt == "answer":
        raw = _answer_line(text)
    elif fmt == "number":
        # The answer line's first number ("Answer: 12 apples, after 3 days"), else the text's last.
        line = _after_equals(_answer_line(text) or _last_boxed(text))
        first = _NUMBER.findall(_FRAC.sub(r"\1/\2", line)) if line else []
        raw = first[0] if first else _last_number(text)
    elif fmt == "auto":
        raw = _last_boxed(text) or _after_equals(_answer_line(text)) or _last_number(text)
        if raw is not None and _number(normalize(raw)) is None:
            # "Answer: He has 32 sheep" → 32; a line with no number or several stays as it is.
            numbers = _NUMBER.findall(_FRAC.sub(r"\1/\2", raw))
            raw = numbers[0] if len(numbers) == 1 else raw
    else:
        raise ValueError(f"unknown answer format {fmt!r}")
    if raw is None:
        return None
    answer = normalize(raw)
    return answer or None


def _after_equals(line: str | None) -> str | None:
    """The result of a worked line: "17 + 23 - 8 = 32" → "32"; "6 = 5 + 1" → "6" (the bare number)."""
    if line is None or "=" not in line:
        return line
    sides = [s.strip() for s in line.split("=")]
    if _number(normalize(sides[-1])) is None and _number(normalize(sides[0])) is not None:
        return sides[0]
    return sides[-1] or None


def _number(s: str) -> str | None:
    """Canonical text of a number (1,000.50 → 1000.5; 18.0 → 18; 3/4 stays), or None."""
    s = s.replace("$", "").replace(" ", "")
    if "," in s:
        if not re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", s):
            return None
        s = s.replace(",", "")
    if re.fullmatch(r"-?\d+/\d+", s):
        return s
    try:
        value = Decimal(s)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def normalize(raw: str) -> str:
    """Strip markup, units of currency and trailing punctuation; canonical numbers."""
    s = raw.strip()
    s = re.sub(r"^\\\(|\\\)$|^\$+|\$+$", "", s).strip()
    s = re.sub(r"\\text\{([^}]*)\}", r"\1", s)
    s = _FRAC.sub(r"\1/\2", s)
    s = s.strip().rstrip(".").strip().strip("*").strip()
    number = _number(s)
    if number is not None:
        return number
    # "18 dollars", "$18 per day": a leading number with words after it is that number.
    m = re.fullmatch(r"(-?\$?\s?\d[\d,]*(?:\.\d+)?)\s*[a-zA-Z%][\w\s%/.-]*", s)
    if m and (number := _number(m.group(1))) is not None:
        return number
    return s
