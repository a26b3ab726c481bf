"""Every procedural family: oracles, near-misses, determinism, repeats, seeds, splits and levels."""

from __future__ import annotations

import itertools
import re
import statistics
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ponder import PonderError
from ponder.answers import extract_answer
from ponder.tasks import FAMILIES, correct
from ponder.tasks import generate as gen
from ponder.tasks.base import Item
from ponder.tasks.families import writing
from ponder.tasks.seeds import content_hash, split_of

NAMES = sorted(FAMILIES)
ROOMY = 10**5  # a level whose item space is at least this large must not repeat or overlap


def one(name: str, level: int, index: int, seed: int = 0, split: str = "public") -> Item:
    return gen.items(name, level, index + 1, seed=seed, split=split, secret="test-secret")[index]


def verdict(item: Item, completion: str) -> bool:
    return correct(item, extract_answer(completion, item.answer_format))


def near_misses(item: Item) -> list[str]:
    """Completions that are almost right and must be judged wrong."""
    gold = item.answer
    fmt = item.answer_format
    if fmt == "number":
        g = int(gold)
        out = [
            f"Answer: {g + 1}",
            f"Answer: {g - 1}",
            f"The total is {g} at first.\nAnswer: about {g + 7} or so",
        ]
        if g != 0:
            out.append(f"Answer: {-g}")
        if len(gold.lstrip("-")) > 1:
            out.append(f"Answer: {gold[:-1]}")  # a substring of the gold answer
        return out
    if fmt == "list":
        values = [int(x) for x in re.findall(r"-?\d+", gold)]
        out = [f"Answer: {[*values, 0]}"]
        if values:
            out += [f"Answer: {values[:-1]}", f"Answer: {[values[0] + 1, *values[1:]]}"]
        if values != values[::-1]:
            out.append(f"Answer: {values[::-1]}")
        return out
    if fmt == "names":
        knights = [] if gold == "none" else gold.split(", ")
        others = [n for n in re.findall(r"\b([A-Z][a-z]+) says", item.question) if n not in knights]
        out = [f"Answer: {', '.join(knights + others[:1])}"] if others else []
        if knights:
            out += ["Answer: none", f"Answer: {', '.join(knights[:-1]) or 'none'}"]
        return out
    if fmt == "code":
        body = gold.splitlines()
        return [
            "```python\ndef solve(xs):\n    return xs\n```",
            "```python\n" + "\n".join(body[:-1]) + "\n```",  # the reference without its return
            "```python\n" + gold.replace("solve", "solved") + "```",  # the wrong name
        ]
    if fmt == "expression":
        numbers, target = item.data["numbers"], item.data["target"]
        spare = next(k for k in range(1, 1000) if k not in numbers)
        return [
            f"Answer: {gold}+{spare}",  # a number that was not given
            f"Answer: {gold}-{gold}+{gold}",  # every number used more often than given
            f"Answer: {numbers[0]}",
            f"Answer: {target}",  # the target itself is not among the numbers
        ]
    if fmt == "text":
        return writing_misses(gold, item.data["constraints"])
    raise AssertionError(fmt)


def writing_misses(text: str, constraints: list[dict[str, Any]]) -> list[str]:
    """A writing task's near misses: each breaks one constraint by the least it can."""
    count = len(writing.words(text))
    out = []
    for c in constraints:
        if c["kind"] == "words":  # one word too many (before the last word, which may be required)
            head, sep, tail = text.rpartition(" ")
            out.append(head + " the" * (c["high"] - count + 1) + sep + tail)
        elif c["kind"] == "include":
            out.append(re.sub(rf"\b{c['word']}\b", "the", text, flags=re.IGNORECASE))
        elif c["kind"] == "avoid":  # the forbidden letter, once, as a word after the first
            out.append(text.replace(" ", f" {c['letter']} ", 1))
        elif c["kind"] == "acrostic":  # that line's first letter changed
            rows = text.split("\n")
            other = next(ch for ch in "mnbcd" if ch != c["letter"])
            rows[c["line"]] = other.upper() + rows[c["line"]][1:]
            out.append("\n".join(rows))
        elif c["kind"] == "sentences":  # one sentence more in that paragraph
            ps = writing.paragraphs(text)
            ps[c["paragraph"]] += " It is."
            out.append("\n\n".join(ps))
        elif c["kind"] == "last":
            out.append(text.rstrip(".") + " the.")
    return out


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None)
@given(level=st.integers(1, 7), index=st.integers(0, 40), seed=st.integers(0, 10**6))
def test_oracle_accepts_gold_and_rejects_near_misses(name: str, level: int, index: int, seed: int) -> None:
    item = one(name, level, index, seed)
    if item.answer_format == "code":
        assert verdict(item, f"Here is the function:\n```python\n{item.answer}```\nIt works.")
    elif item.answer_format == "text":
        assert verdict(item, item.answer)  # a written text is the whole reply
    else:
        assert verdict(item, f"Let me work it out.\nAnswer: {item.answer}")
    for miss in near_misses(item):
        assert not verdict(item, miss), (item.question, item.answer, miss)
    assert not verdict(item, "I do not know.")


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=10, deadline=None)
@given(level=st.integers(1, 9), index=st.integers(0, 30), seed=st.integers(0, 10**6))
def test_items_are_deterministic(name: str, level: int, index: int, seed: int) -> None:
    first = one(name, level, index, seed)
    gen._CACHE.clear()
    assert one(name, level, index, seed) == first


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("level", [1, 3])
def test_no_repeats_within_a_thousand(name: str, level: int) -> None:
    try:
        questions = [i.question for i in gen.items(name, level, 1000, seed=5)]
    except PonderError as e:
        # only a level whose item space is honestly small may run out, and it says so
        assert FAMILIES[name].space(level) < ROOMY and "item space is too small" in str(e)
        questions = [
            i.question for i in gen._CACHE[(gen.seeds.PUBLIC_SECRET, name, level, "public", 5)].items
        ]
    assert len(set(questions)) == len(questions) > 0


@pytest.mark.parametrize("name", NAMES)
def test_two_seeds_share_under_one_percent(name: str) -> None:
    level = next(lv for lv in range(2, 10) if FAMILIES[name].space(lv) >= 10**6)
    a = {i.question for i in gen.items(name, level, 1000, seed=11)}
    b = {i.question for i in gen.items(name, level, 1000, seed=12)}
    assert len(a & b) < 10
    neighbours = {i.question for i in gen.items(name, level, 1000, seed=13)}
    assert len(b & neighbours) < 10  # adjacent seeds too: seeds are hashed, never added to indices


@pytest.mark.parametrize("name", NAMES)
def test_splits_are_disjoint_by_construction(name: str) -> None:
    level = 2
    public = gen.items(name, level, 300, split="public", seed=1)
    private = gen.items(name, level, 300, split="private", seed=1, secret="s3cret")
    assert not {i.question for i in public} & {i.question for i in private}
    for item in public + private:
        assert split_of(content_hash(name, item.question)) == item.split


@pytest.mark.parametrize("name", NAMES)
def test_higher_levels_have_more_structure(name: str) -> None:
    def mean_structure(level: int) -> dict[str, float]:
        items = gen.items(name, level, 30, seed=3)
        return {k: statistics.mean(i.structure[k] for i in items) for k in items[0].structure}

    levels = [1, 2, 4, 8]
    means = [mean_structure(lv) for lv in levels]
    for low, high in itertools.pairwise(means):
        assert all(high[k] >= low[k] for k in low), (low, high)
        assert any(high[k] > low[k] for k in low), (low, high)


def test_a_level_below_one_is_an_error() -> None:
    with pytest.raises(PonderError, match="levels start at 1"):
        gen.items("arithmetic", 0, 3)


def test_countdown_accepts_any_correct_expression() -> None:
    item = one("countdown", 2, 4)
    numbers, target = item.data["numbers"], item.data["target"]
    assert verdict(item, f"Answer: {item.answer}")
    # a different correct expression, when the target is a simple sum of two given numbers
    pairs = [(a, b) for i, a in enumerate(numbers) for b in numbers[i + 1 :] if a + b == target]
    for a, b in pairs:
        assert verdict(item, f"Answer: {b} + {a}")
    assert FAMILIES["countdown"].reward(item.answer, item.answer, item.data) == 1.0  # type: ignore[attr-defined]
