from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ponder.answers import extract_answer, match_exact, match_math, match_numeric, normalize


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("17 + 23 = 40, 40 - 8 = 32.\nAnswer: 32", "auto", "32"),
        ("**Answer:** $1,250.50", "auto", "1250.5"),
        ("So the final answer is 18 dollars.", "auto", "18"),
        ("We get \\boxed{\\frac{1}{2}} in the end", "boxed", "1/2"),
        ("nested \\boxed{x^{2}+1}", "boxed", "x^{2}+1"),
        ("#### 72", "auto", "72"),
        ("first 3 then 4 then 5", "number", "5"),
        ("Answer: 12 apples, after 3 days", "number", "12"),
        ("To answer this, we need x", "answer", None),
        ("no digits here", "number", None),
        ("Answer: -5.", "auto", "-5"),
        ("Answer: 18.000", "auto", "18"),
        ("answer: 0.250", "auto", "0.25"),
        ("Answer: 17 + 23 - 8 = 32", "auto", "32"),
        ("Answer: 17 + 23 - 8 = 32", "number", "32"),
        ("Answer: He has 32 sheep", "auto", "32"),
        ("Answer: 3,4,5", "number", "3"),
        ("Answer: 3,4,5", "auto", "3,4,5"),
        ("Answer: Paris", "auto", "Paris"),
        ("Answer: [3, -1, 4]", "list", "[3, -1, 4]"),
        ("Answer: Bob and Ann", "names", "Ann, Bob"),
        ("Answer: none", "names", "none"),
        ("Answer: (3 + 5) × 2 = 16", "expression", "(3+5)*2"),
        ("Answer: 3 + abc", "expression", None),
        ("Answer: 42\nI hope the answer is correct.", "auto", "42"),  # an answer line outranks a phrase
        ("Answer: −5", "number", "-5"),  # a typographic minus keeps its sign
        ("Answer: **Ben, Ivan**", "names", "Ben, Ivan"),
        ("Answer: Ivan and Ben are knights.", "names", "Ben, Ivan"),
        ("Answer: `(3 + 5) \\times 2`", "expression", "(3+5)*2"),
        ("Answer: **(75-7)+(2+2)**", "expression", "(75-7)+(2+2)"),
        ("Answer: 6 = 5+1", "number", "6"),
        (
            "Here:\n```python\ndef f(x):\n    return x",
            "code",
            "def f(x):\n    return x\n",
        ),  # stopped at the fence
        (
            "```python\ndef f(x):\n    return x\n```\nUse it:\n```python\nprint(f(2))\n```",
            "code",
            "def f(x):\n    return x\n",
        ),
    ],
)
def test_extract(text: str, fmt: str, expected: str | None) -> None:
    assert extract_answer(text, fmt) == expected


def test_unknown_format_is_an_error() -> None:
    with pytest.raises(ValueError):
        extract_answer("x", "yaml")


@given(st.integers(-(10**9), 10**9))
def test_integer_spellings_normalize_alike(x: int) -> None:
    spellings = [str(x), f"{x:,}", f"{x}.0", f"{x}.", f"{x:,}.00"]
    if x >= 0:
        spellings.append(f"${x:,}")
    assert {normalize(s) for s in spellings} == {str(x)}


@given(st.text(max_size=30))
def test_normalize_is_idempotent(s: str) -> None:
    assert normalize(normalize(s)) == normalize(s)


@pytest.mark.parametrize(
    ("gold", "pred", "same"),
    [
        ("18", "18.0", True),
        ("1000", "1,000", True),
        ("0.5", "1/2", True),
        ("0.5", "\\frac{1}{2}", True),
        ("18", "17", False),
        ("18", "-18", False),
        ("18", None, False),
        ("x+1", "1+x", True),
    ],
)
def test_match_math(gold: str, pred: str | None, same: bool) -> None:
    assert match_math(gold, pred) is same


def test_numbers_compare_exactly_unless_rounded() -> None:
    assert not match_numeric("1000000", "1000001")
    assert not match_math("1000000", "1000001")
    assert not match_numeric("0", "1e-10")
    assert match_numeric("0.3333333", "1/3")
    assert not match_numeric("0.33", "1/3")


def test_exact_and_numeric() -> None:
    assert match_exact("Paris", "Paris.")
    assert not match_exact("Paris", "paris london")
    assert match_numeric("3.0", "3")
    assert not match_numeric("3", "3.1")
    assert not match_numeric("3", "three")
