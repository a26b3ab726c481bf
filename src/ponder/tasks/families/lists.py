"""`lists`: apply a sequence of list operations and give the resulting list.

Level L: a list of 5 + L integers and L operations (sort, reverse, filter, map, slice, rotate,
deduplicate) applied in order; values widen with L.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ponder.answers.extract import extract_answer
from ponder.tasks.base import Content

Op = tuple[str, Callable[[list[int]], list[int]]]


def _op(rng: random.Random, xs: list[int], top: int) -> Op:
    k = rng.randint(1, max(1, len(xs) - 1))
    c = rng.randint(2, 9)
    t = rng.randint(-top // 2, top)
    ops: list[Op] = [
        ("sort it in ascending order", sorted),
        ("sort it in descending order", lambda v: sorted(v, reverse=True)),
        ("reverse it", lambda v: v[::-1]),
        (f"keep only the first {k} elements", lambda v: v[:k]),
        (f"remove the first {k} elements", lambda v: v[k:]),
        ("remove every even number", lambda v: [x for x in v if x % 2]),
        ("remove every odd number", lambda v: [x for x in v if x % 2 == 0]),
        (f"add {c} to every element", lambda v: [x + c for x in v]),
        (f"multiply every element by {c}", lambda v: [x * c for x in v]),
        (f"keep only the elements greater than {t}", lambda v: [x for x in v if x > t]),
        (f"rotate it left by {k} positions", lambda v: v[k % len(v) :] + v[: k % len(v)] if v else v),
        (
            "remove repeated values, keeping each value's first occurrence",
            lambda v: list(dict.fromkeys(v)),
        ),
    ]
    return rng.choice(ops)


class Lists:
    name = "lists"
    description = "a list of integers through a sequence of sorts, filters, maps, slices and rotations"
    instruction = (
        "Give the final answer on its own last line as 'Answer: [a, b, c]' "
        "(square brackets, comma-separated; 'Answer: []' if the list is empty)."
    )
    answer_format = "list"

    def generate(self, rng: random.Random, level: int) -> Content:
        top = 20 + 20 * level
        xs = [rng.randint(-top // 4, top) for _ in range(5 + level)]
        steps: list[str] = []
        current = list(xs)
        for _ in range(level):
            text, fn = _op(rng, current, top)
            current = fn(current)
            steps.append(text)
        numbered = " ".join(f"({i + 1}) {s};" for i, s in enumerate(steps)).rstrip(";")
        question = (
            f"Start with the list {xs}. Apply these steps in order: {numbered}. What is the resulting list?"
        )
        answer = "[" + ", ".join(map(str, current)) + "]"
        return Content(question, answer, {"operations": level, "length": len(xs)})

    def check(self, gold: str, pred: str | None, data: dict[str, Any]) -> bool:
        if pred is None:
            return False
        return extract_answer(f"Answer: {pred}", "list") == gold

    def space(self, level: int) -> int:
        return 10**9
