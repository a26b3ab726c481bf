"""`code`: write a function from its specification; hidden tests decide, run in the sandbox.

Level L: a function `solve(xs)` over a list of integers that composes L steps (filters, maps, sorts,
slices), with L//2 conditions (at most three: guards on the input's length, its members and its
sum) and a final reduction to a number from level 3 on odd levels. The hidden tests are inputs
(edge cases included: empty, one element, negatives, repeats) with the outputs of the reference
solution. The gold answer is that reference solution.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ponder.tasks.base import Content

Step = tuple[str, str, Callable[[list[int]], list[int]]]  # description, code line, function


def _step(rng: random.Random, top: int) -> Step:
    k = rng.randint(1, 8)
    c = rng.randint(2, 12)
    t = rng.randint(-top // 2, top // 2)  # a threshold inside the inputs' range, so it filters something
    steps: list[Step] = [
        (
            f"keep only the elements greater than {t}",
            f"xs = [x for x in xs if x > {t}]",
            lambda v: [x for x in v if x > t],
        ),
        (
            "keep only the even elements",
            "xs = [x for x in xs if x % 2 == 0]",
            lambda v: [x for x in v if x % 2 == 0],
        ),
        (
            "keep only the odd elements",
            "xs = [x for x in xs if x % 2 != 0]",
            lambda v: [x for x in v if x % 2],
        ),
        (f"multiply every element by {c}", f"xs = [x * {c} for x in xs]", lambda v: [x * c for x in v]),
        (f"add {c} to every element", f"xs = [x + {c} for x in xs]", lambda v: [x + c for x in v]),
        (
            "replace every element by its absolute value",
            "xs = [abs(x) for x in xs]",
            lambda v: [abs(x) for x in v],
        ),
        ("sort the elements in ascending order", "xs = sorted(xs)", sorted),
        (
            "sort the elements in descending order",
            "xs = sorted(xs, reverse=True)",
            lambda v: sorted(v, reverse=True),
        ),
        ("reverse the order of the elements", "xs = xs[::-1]", lambda v: v[::-1]),
        (f"keep only the first {k} elements", f"xs = xs[:{k}]", lambda v: v[:k]),
        (
            "remove repeated values, keeping the first occurrence of each",
            "xs = list(dict.fromkeys(xs))",
            lambda v: list(dict.fromkeys(v)),
        ),
    ]
    return rng.choice(steps)


_REDUCTIONS: list[tuple[str, str, Callable[[list[int]], int]]] = [
    ("return the sum of the remaining elements", "return sum(xs)", sum),
    ("return how many elements remain", "return len(xs)", len),
    (
        "return the largest remaining element, or 0 if none remain",
        "return max(xs, default=0)",
        lambda v: max(v, default=0),
    ),
]


def _inputs(rng: random.Random, count: int, top: int) -> list[list[int]]:
    cases = [[], [rng.randint(-top, top)], [3, 3, -3, 0, 7, 7]]
    while len(cases) < count:
        cases.append([rng.randint(-top, top) for _ in range(rng.randint(2, 12))])
    return cases


class Code:
    name = "code"
    description = "write a function from its specification; hidden tests run in the sandbox"
    instruction = "Write the complete Python function in one ```python code block."
    answer_format = "code"

    def generate(self, rng: random.Random, level: int) -> Content:
        # A specification whose hidden tests cannot tell it from `return xs` is drawn again: a
        # near-miss must fail.
        while True:
            content = self._draw(rng, level)
            if content.data["trivial"] is False:
                del content.data["trivial"]
                return content

    def _draw(self, rng: random.Random, level: int) -> Content:
        top = 10 + 5 * level
        steps = [_step(rng, top) for _ in range(level)]
        lines = ["def solve(xs):"]
        spec: list[str] = []
        guards = 0
        reduce = level >= 3 and level % 2 == 1
        early = "0" if reduce else "[]"
        said = "0" if reduce else "an empty list"
        # Conditions grow with the level: none at 1, then one more every two levels.
        n, m, s = rng.randint(1, 3), rng.randint(-9, 9), rng.randint(20, 60)
        conditions = [
            (f"if len(xs) < {n}:", f"if the input has fewer than {n} elements, return {said} at once"),
            (f"if {m} in xs:", f"otherwise, if the input contains {m}, return {said} at once"),
            (
                f"if sum(xs) > {s}:",
                f"otherwise, if the sum of the input is greater than {s}, return {said} at once",
            ),
        ]
        for test, text in conditions[: min(len(conditions), level // 2)]:
            lines.append(f"    {test}\n        return {early}")
            spec.append(text)
            guards += 1
        lines += [f"    {code}" for _, code, _ in steps]
        spec += [text for text, _, _ in steps]
        if reduce:
            text, code, _ = rng.choice(_REDUCTIONS)
            lines.append(f"    {code}")
            spec.append(text)
        else:
            lines.append("    return xs")
            spec.append("return the resulting list")
        reference = "\n".join(lines) + "\n"
        namespace: dict[str, Any] = {}
        exec(reference, namespace)  # our own reference code, to compute the hidden expectations
        solve = namespace["solve"]
        cases = _inputs(rng, 6 + 2 * level, top)
        tests = "".join(f"assert solve({case!r}) == {solve(list(case))!r}, {case!r}\n" for case in cases)
        numbered = "\n".join(f"{i + 1}. {s[0].upper()}{s[1:]}." for i, s in enumerate(spec))
        returns = "int" if reduce else "list[int]"
        question = (
            f"Write a Python function `solve(xs: list[int]) -> {returns}` that does the following, "
            f"in order, without changing its input list:\n{numbered}"
        )
        structure = {"steps": level, "guards": guards, "tests": len(cases)}
        trivial = not reduce and all(solve(list(c)) == c for c in cases)
        return Content(
            question, reference, structure, {"tests": tests, "entry_point": "solve", "trivial": trivial}
        )

    def check(self, gold: str, pred: str | None, data: dict[str, Any]) -> bool:
        if not pred:
            return False
        from ponder.sandbox import Limits, run_code

        return run_code(pred, str(data["tests"]), Limits(timeout=10)).status == "passed"

    def space(self, level: int) -> int:
        # About 100 distinct steps, but drawn unevenly (a kind, then its parameters): they collide
        # as often as ~17 equally likely steps would. Small at low levels, as it says.
        return int(17**level)
