"""`code`: write a function from its specification; hidden tests decide, run in the sandbox.

Level L: a function `solve(xs)` over a list of integers that composes L steps (filters, maps, sorts,
slices), with L//2 guards first (each returns at once on some inputs: the input's length, its sum,
its extremes, its members) and a final reduction to a number from level 3 on odd levels. Steps and
guards are a kind and one parameter each, drawn from ranges that widen with the level; guards of
most kinds appear at most once, and guards on a member use a value no other guard uses, so there
are L//2 of them at any level and none is implied by an earlier one. The hidden tests are inputs
(edge cases included: empty, one element, negatives, repeats, the guards' values) with the outputs
of the reference solution. The gold answer is that reference solution.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

from ponder.tasks.base import Content
from ponder.tasks.families.common import out_of_reach

# (what the specification says, the reference's code, the parameter's range): {p} is the parameter.
Template = tuple[str, str, str | None]

_STEPS: list[Template] = [
    ("keep only the elements greater than {p}", "xs = [x for x in xs if x > {p}]", "threshold"),
    ("keep only the elements less than {p}", "xs = [x for x in xs if x < {p}]", "threshold"),
    ("keep only the elements divisible by {p}", "xs = [x for x in xs if x % {p} == 0]", "divisor"),
    ("remove the elements divisible by {p}", "xs = [x for x in xs if x % {p} != 0]", "divisor"),
    ("multiply every element by {p}", "xs = [x * {p} for x in xs]", "factor"),
    ("add {p} to every element", "xs = [x + {p} for x in xs]", "shift"),
    ("subtract {p} from every element", "xs = [x - {p} for x in xs]", "shift"),
    (
        "replace every element by its remainder modulo {p} (never negative, as Python's % gives)",
        "xs = [x % {p} for x in xs]",
        "divisor",
    ),
    (
        "replace every element by its division by {p}, rounded down (as Python's // does)",
        "xs = [x // {p} for x in xs]",
        "divisor",
    ),
    ("replace every element greater than {p} by {p}", "xs = [min(x, {p}) for x in xs]", "threshold"),
    ("replace every element less than {p} by {p}", "xs = [max(x, {p}) for x in xs]", "threshold"),
    ("replace every element by its absolute value", "xs = [abs(x) for x in xs]", None),
    ("sort the elements in ascending order", "xs = sorted(xs)", None),
    ("sort the elements in descending order", "xs = sorted(xs, reverse=True)", None),
    ("reverse the order of the elements", "xs = xs[::-1]", None),
    ("keep only the first {p} elements", "xs = xs[:{p}]", "count"),
    ("keep only the last {p} elements", "xs = xs[-{p}:]", "count"),
    ("remove the first {p} elements", "xs = xs[{p}:]", "drop"),
    ("keep every other element, starting with the first", "xs = xs[::2]", None),
    ("remove repeated values, keeping the first occurrence of each", "xs = list(dict.fromkeys(xs))", None),
]

# Guards of a "value" kind may repeat, each with a value of its own; every other kind appears once.
_GUARDS: list[Template] = [
    ("the input has fewer than {p} elements", "len(xs) < {p}", "short"),
    ("the input has more than {p} elements", "len(xs) > {p}", "long"),
    ("the sum of the input is greater than {p}", "sum(xs) > {p}", "sum"),
    ("the sum of the input is less than {p}", "sum(xs) < {p}", "negative sum"),
    ("some element of the input is greater than {p}", "any(x > {p} for x in xs)", "high"),
    ("some element of the input is less than {p}", "any(x < {p} for x in xs)", "low"),
    ("the input has more than {p} negative elements", "sum(x < 0 for x in xs) > {p}", "few"),
    ("the input has more than {p} even elements", "sum(x % 2 == 0 for x in xs) > {p}", "few"),
    ("the input contains {p}", "{p} in xs", "value"),
    ("the input contains {p} more than once", "xs.count({p}) > 1", "value"),
    ("the first element of the input is {p}", "xs[:1] == [{p}]", "value"),
    ("the last element of the input is {p}", "xs[-1:] == [{p}]", "value"),
]


def _parameters(key: str, top: int) -> Sequence[int]:
    """A parameter's range; inputs lie in [-top, top]. Guard values lie within ±top/2 and the
    extremes' thresholds beyond it, so no extreme guard rules out a value guard."""
    half = top // 2
    ranges: dict[str, Sequence[int]] = {
        "threshold": range(-half, half + 1),
        "divisor": range(2, 11),
        "factor": [*range(-5, -1), *range(2, 13)],
        "shift": range(1, half + 1),
        "count": range(1, 13),
        "drop": range(1, 7),
        "short": range(2, 5),
        "long": range(6, 11),
        "sum": range(half, 2 * top + 1),
        "negative sum": range(-2 * top, -half + 1),
        "high": range(half + 1, top + 1),
        "low": range(-top, -half),
        "few": range(2, 6),
        "value": range(-half, half + 1),
    }
    return ranges[key]


def _fill(rng: random.Random, template: Template, top: int) -> tuple[str, str, int | None]:
    text, code, key = template
    p = None if key is None else rng.choice(_parameters(key, top))
    return text.format(p=p), code.format(p=p), p


def _guards(rng: random.Random, count: int, top: int) -> tuple[list[tuple[str, str]], list[int]]:
    """`count` guards (text, condition) and the values the value guards test for."""
    guards: list[tuple[str, str]] = []
    values: list[int] = []
    used: set[int] = set()
    while len(guards) < count:
        i = rng.randrange(len(_GUARDS))
        if _GUARDS[i][2] != "value" and i in used:
            continue
        text, test, p = _fill(rng, _GUARDS[i], top)
        if _GUARDS[i][2] == "value":
            if p is None or p in values:
                continue
            values.append(p)
        used.add(i)
        guards.append((text, test))
    return guards, values


def _collision(templates: list[Template], top: int) -> float:
    """The chance that two draws (a kind, then its parameter) give the same text."""
    sizes = [1 if key is None else len(_parameters(key, top)) for _, _, key in templates]
    return sum(1 / n for n in sizes) / len(templates) ** 2


_REDUCTIONS: list[tuple[str, str]] = [
    ("return the sum of the remaining elements", "return sum(xs)"),
    ("return how many elements remain", "return len(xs)"),
    ("return the largest remaining element, or 0 if none remain", "return max(xs, default=0)"),
]


def _function(body: list[str]) -> Callable[[list[int]], Any]:
    """`def f(xs)` with these lines, indented (our own code: the reference, or a part of it)."""
    namespace: dict[str, Any] = {}
    exec("def f(xs):\n" + "".join(f"    {line}\n" for line in body), namespace)
    return namespace["f"]  # type: ignore[no-any-return]


def _inputs(
    rng: random.Random, count: int, top: int, values: list[int], gate: Callable[[list[int]], bool]
) -> list[list[int]]:
    """Edge cases, then random lists: half of them hold a guard's value once or twice (to test the
    guards), half are drawn again until no guard stops them (to test the steps)."""
    cases = [[], [rng.randint(-top, top)], [3, 3, -3, 0, 7, 7]]
    while len(cases) < count:
        probe = rng.random() < 0.5
        for _ in range(1 if probe else 100):
            case = [rng.randint(-top, top) for _ in range(rng.randint(2, 12))]
            if not gate(case):
                break
        if probe and values:
            value = rng.choice(values)
            for _ in range(rng.randint(1, 2)):
                case.insert(rng.choice([0, len(case), rng.randint(0, len(case))]), value)
        cases.append(case)
    return cases


def _examples(
    rng: random.Random,
    solve: Callable[[list[int]], Any],
    gate: Callable[[list[int]], bool],
    cases: list[list[int]],
    top: int,
    guarded: bool,
) -> list[tuple[list[int], Any]]:
    """One or two examples for the statement, none of them a hidden test's input: a list that gets
    past every guard (with a non-empty result where one is found), then, where there are guards, one
    that a guard stops, else another list with a different output."""
    hidden = {repr(case) for case in cases}
    shown: list[tuple[list[int], Any]] = []
    for stopped in (False, guarded):
        found = None
        for _ in range(200):
            case = [rng.randint(-top, top) for _ in range(rng.randint(1 if stopped else 3, 9))]
            if repr(case) in hidden or gate(list(case)) != stopped:
                continue
            out = solve(list(case))
            if any(repr(out) == repr(seen) for _, seen in shown):
                continue
            found = (case, out)
            if stopped or out not in ([], 0):
                break
        if found is not None:
            shown.append(found)
    return shown


class Code:
    name = "code"
    description = "write a function from its specification; hidden tests run in the sandbox"
    instruction = "Write the complete Python function in one ```python code block."
    answer_format = "code"

    def generate(self, rng: random.Random, level: int) -> Content:
        # A specification whose hidden tests cannot tell it from `return xs`, or from returning one
        # constant (the early return, say), is drawn again: a near-miss must fail.
        for _ in range(1000):
            content = self._draw(rng, level)
            if content.data["trivial"] is False:
                del content.data["trivial"]
                return content
        raise out_of_reach(self.name, level, "1000 draws made no specification its tests can check")

    def _draw(self, rng: random.Random, level: int) -> Content:
        top = 10 + 5 * level
        reduce = level >= 3 and level % 2 == 1
        early = "0" if reduce else "[]"
        said = "0" if reduce else "an empty list"
        # 1. Guards: none at level 1, then one more every two levels.
        guards, values = _guards(rng, level // 2, top)
        lines = ["def solve(xs):"]
        spec: list[str] = []
        for i, (text, test) in enumerate(guards):
            lines.append(f"    if {test}:\n        return {early}")
            spec.append(f"{'otherwise, ' if i else ''}if {text}, return {said} at once")
        # 2. The hidden tests' inputs, and those that get past the guards.
        gate = _function([f"if {test}: return True" for _, test in guards] + ["return False"])
        cases = _inputs(rng, 6 + 2 * level, top, values, gate)
        states = [list(case) for case in cases if not gate(list(case))]
        # 3. Steps, each drawn again while it would empty two thirds of the lists that reach it or
        # leave fewer different ones than a third of them (or four): a long chain of filters, slices
        # and clamps would otherwise return one thing for every input.
        floor = max(4, len(states) // 3)
        for _ in range(level):
            distinct = min(floor, len({repr(state) for state in states}))
            for _ in range(100):
                text, code, _ = _fill(rng, rng.choice(_STEPS), top)
                step = _function([code, "return xs"])
                after = [step(state) for state in states]
                kept = 3 * sum(1 for state in after if state) >= len(after)
                if kept and len({repr(state) for state in after}) >= distinct:
                    break
            states = after
            lines.append(f"    {code}")
            spec.append(text)
        text, code = rng.choice(_REDUCTIONS) if reduce else ("return the resulting list", "return xs")
        lines.append(f"    {code}")
        spec.append(text)
        # 4. The hidden tests: the reference's outputs on the inputs.
        reference = "\n".join(lines) + "\n"
        namespace: dict[str, Any] = {}
        exec(reference, namespace)  # our own reference code, to compute the hidden expectations
        solve: Callable[[list[int]], Any] = namespace["solve"]
        outputs = [solve(list(case)) for case in cases]
        tests = "".join(
            f"assert solve({case!r}) == {out!r}, {case!r}\n" for case, out in zip(cases, outputs, strict=True)
        )
        numbered = "\n".join(f"{i + 1}. {s[0].upper()}{s[1:]}." for i, s in enumerate(spec))
        returns = "int" if reduce else "list[int]"
        # 5. The stated examples, from a generator of their own (seeded by the reference), so the
        # specification and hidden tests drawn from `rng` are those drawn without them.
        shown = _examples(random.Random(reference), solve, gate, cases, top, bool(guards))
        examples = "".join(f"\n>>> solve({case!r})\n{out!r}" for case, out in shown)
        question = (
            f"Write a Python function `solve(xs: list[int]) -> {returns}` that does the following, "
            f"in order, without changing its input list:\n{numbered}\n\nFor example:{examples}"
        )
        structure = {"steps": level, "guards": len(guards), "tests": len(cases)}
        identity = not reduce and outputs == cases
        constant = len({repr(out) for out in outputs}) == 1
        data = {"tests": tests, "entry_point": "solve", "trivial": identity or constant}
        return Content(question, reference, structure, data)

    def check(self, gold: str, pred: str | None, data: dict[str, Any]) -> bool:
        if not pred:
            return False
        from ponder.sandbox import Limits, run_code

        return run_code(pred, str(data["tests"]), Limits(timeout=10)).status == "passed"

    def space(self, level: int) -> int:
        # Two items collide about as often as 1/q equally likely ones would, q the chance that two
        # draws agree: steps and guards are drawn independently (a kind, then its parameter), so q
        # is a product. Redrawn steps and trivial items make draws agree more often than that: a
        # third off (measured: 49 at level 1 and about 240,000 at level 2, against 36 and 197,000).
        top = 10 + 5 * level
        log_q = level * math.log(_collision(_STEPS, top))
        log_q += (level // 2) * math.log(_collision(_GUARDS, top))
        if level >= 3 and level % 2 == 1:
            log_q -= math.log(len(_REDUCTIONS))
        log_space = math.log(2 / 3) - log_q
        return 10**18 if log_space > math.log(1e18) else int(math.exp(log_space))
