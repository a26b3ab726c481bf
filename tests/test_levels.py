"""Levels without a ceiling, and item spaces large enough at low levels (issue 9, points 6 and 10)."""

from __future__ import annotations

import random
import time

import pytest

from ponder import PonderError
from ponder.answers import extract_answer
from ponder.tasks import FAMILIES, correct
from ponder.tasks import generate as gen
from ponder.tasks.base import Item
from ponder.tasks.families import knights
from ponder.tasks.seeds import content_hash

NAMES = sorted(FAMILIES)
HIGH = 200


def gold_completion(item: Item) -> str:
    if item.answer_format == "code":
        return f"```python\n{item.answer}```"
    if item.answer_format == "text":
        return item.answer  # a written text: the whole reply
    return f"Answer: {item.answer}"


@pytest.mark.parametrize("name", NAMES)
def test_every_family_reaches_a_level_in_the_hundreds(name: str) -> None:
    start = time.perf_counter()
    item = gen.items(name, HIGH, 1, seed=1)[0]
    assert time.perf_counter() - start < 20  # about a second on a laptop; a pathological search is far slower
    assert correct(item, extract_answer(gold_completion(item), item.answer_format))
    low = gen.items(name, 8, 1, seed=1)[0].structure
    high = item.structure
    assert all(high[k] >= low[k] for k in low), (low, high)
    assert any(high[k] > low[k] for k in low), (low, high)


@pytest.mark.parametrize("level", [2, 9, 40, HIGH])
def test_code_guards_keep_growing_with_the_level(level: int) -> None:
    for item in gen.items("code", level, 3, seed=2):
        assert item.structure["guards"] == level // 2
        guards = [line for line in item.answer.splitlines() if line.startswith("    if ")]
        assert len(set(guards)) == len(guards) == level // 2  # no guard repeats another


@pytest.mark.parametrize("level", [58, 59, 60, 120])
def test_knights_name_every_islander_at_any_level(level: int) -> None:
    item = gen.items("knights", level, 1, seed=3)[0]
    assert item.structure["people"] == level + 2
    intro = item.question.split("islanders: ")[1].split(". ")[0]
    people = intro.replace(" and ", ", ").split(", ")
    assert len(set(people)) == level + 2
    # every name survives the `names` answer format, so a model's list of knights can be judged
    everyone = ", ".join(people)
    assert extract_answer(f"Answer: {everyone}", "names") == ", ".join(sorted(people))


def test_a_puzzle_out_of_reach_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(knights, "count_solutions", lambda n, statements, limit=2: 2)
    with pytest.raises(PonderError, match="use a lower level") as info:
        FAMILIES["knights"].generate(random.Random(0), 5)
    assert "\n" not in str(info.value)


def shared(name: str, level: int, a: int, b: int, count: int = 60) -> int:
    first = {content_hash(name, i.question) for i in gen.items(name, level, count, seed=a)}
    second = {content_hash(name, i.question) for i in gen.items(name, level, count, seed=b)}
    return len(first & second)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seeds", [(1, 2), (3, 4), (7, 100)])
def test_two_seeds_share_at_most_one_item_at_level_two(name: str, seeds: tuple[int, int]) -> None:
    assert shared(name, 2, *seeds) <= 1


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("level", [1, 2])
def test_space_does_not_overstate_the_item_space(name: str, level: int) -> None:
    # Two seeds' n items share about n²/N when N items are equally likely; a family that claims a
    # space far larger than the overlap shows would silence the warning that needs to be given.
    n = 400
    try:
        overlap = shared(name, level, 21, 22, n)
    except PonderError as e:
        assert "item space is too small" in str(e)
        assert FAMILIES[name].space(level) < 10 * n
        return
    assert overlap <= 2 * n * n / FAMILIES[name].space(level) + 2


def test_space_warning() -> None:
    warning = gen.space_warning("code", 1, 20)
    assert warning is not None and "\n" not in warning
    assert warning.startswith("code@1 has about ") and "the 20 asked for" in warning
    assert "use a higher level or fewer problems" in warning
    assert gen.space_warning("arithmetic", 3, 20) is None
    assert gen.space_warning("code", 8, 1000) is None
    with pytest.raises(PonderError, match="unknown task family"):
        gen.space_warning("nope", 1, 20)
