"""`countdown`: reach a target from given numbers with + − × ÷, each number used at most once.

Many expressions are correct, so the oracle does not compare strings: it parses the expression
(numbers and the four operations only), evaluates it exactly, checks that it reaches the target,
and checks that it uses only the given numbers, each at most as often as given. Level L gives L+2
numbers, larger ones as L grows; the target is made from a random subset, so a solution exists.
"""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction
from typing import Any

from ponder.answers import arith
from ponder.tasks.base import Content
from ponder.tasks.families.common import out_of_reach


def evaluate(expr: str) -> tuple[Fraction, list[int]] | None:
    """The exact value of an expression of integers and + - * /, and the numbers it uses; or None."""
    result = arith.evaluate(expr, plain=True)
    if result is None:
        return None
    value, literals = result
    return value, [int(x) for x in literals]


def verify(numbers: list[int], target: int, expr: str | None) -> bool:
    if not expr:
        return False
    result = evaluate(expr)
    if result is None:
        return False
    value, used = result
    return value == target and not (Counter(used) - Counter(numbers))


def _build(rng: random.Random, picks: list[int], cap: int) -> tuple[str, Fraction]:
    """A random expression over all of `picks`, with whole, positive intermediate values up to `cap`.

    The cap keeps the value in the targets' range however many numbers there are (one step can
    always stay under it: a − b when a > b, a / a or 1 × 1 when they are equal); without it, a
    hundred numbers almost never make a target in range."""
    items: list[tuple[str, Fraction]] = [(str(p), Fraction(p)) for p in picks]
    while len(items) > 1:
        rng.shuffle(items)
        (ea, a), (eb, b) = items.pop(), items.pop()
        if a < b:
            (ea, a), (eb, b) = (eb, b), (ea, a)
        choices = [("+", a + b), ("*", a * b)]
        if a - b > 0:
            choices.append(("-", a - b))
        if b != 0 and (a / b).denominator == 1 and b != 1:
            choices.append(("/", a / b))
        op, value = rng.choice([c for c in choices if c[1] <= cap])
        items.append((f"({ea} {op} {eb})", value))
    expr, value = items[0]
    return expr[1:-1] if expr.startswith("(") else expr, value


class Countdown:
    name = "countdown"
    description = "reach a target number from given numbers with + - × ÷ (many valid answers)"
    instruction = (
        "Give the final answer on its own last line as 'Answer: <expression>', using only the given "
        "numbers, each at most once, with +, -, *, / and parentheses."
    )
    answer_format = "expression"

    def generate(self, rng: random.Random, level: int) -> Content:
        count = level + 2
        small = 10 + 5 * level
        cap = 2000 * level
        for _ in range(1000):
            numbers = [rng.randint(1, small) for _ in range(count)]
            if level >= 2:
                numbers[rng.randrange(count)] = rng.choice([25, 50, 75, 100]) * (1 + level // 4)
            picks = rng.sample(numbers, rng.randint(max(2, count - 1), count))
            expr, value = _build(rng, picks, cap)
            if value.denominator == 1 and 10 <= value <= cap and value not in numbers:
                break
        else:
            raise out_of_reach(self.name, level, "1000 draws made no target in range")
        target = int(value)
        question = f"Using the numbers {numbers}, make {target}."
        data = {"numbers": numbers, "target": target}  # the oracle verifies any expression with these
        return Content(question, expr.replace(" ", ""), {"numbers": count, "used": len(picks)}, data)

    def check(self, gold: str, pred: str | None, data: dict[str, Any]) -> bool:
        return verify(list(data["numbers"]), int(data["target"]), pred)

    def reward(self, gold: str, pred: str | None, data: dict[str, Any]) -> float:
        """Shaped reward for RL: 1 if correct; up to 0.5 for a valid expression that comes close."""
        if self.check(gold, pred, data):
            return 1.0
        result = evaluate(pred) if pred else None
        if result is None or Counter(result[1]) - Counter(data["numbers"]):
            return 0.0
        target = int(data["target"])
        distance = abs(float(result[0]) - target) / max(1, target)
        return max(0.0, 0.5 * (1 - distance))

    def space(self, level: int) -> int:
        # Measured: at level 1 (three numbers up to 15) two draws agree as often as two from about
        # 39,000 equal items; from level 2, over ten million.
        return 3 * 10**4 if level == 1 else 10**6
