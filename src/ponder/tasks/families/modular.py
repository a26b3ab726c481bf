"""`modular`: modular arithmetic on an expression.

Level L: an expression of L+1 operands joined by +, − and ×, with powers from level 2 on, taken
modulo m; operands and the modulus grow with L. The answer is the least non-negative residue.
"""

from __future__ import annotations

import random
from typing import Any

from ponder.tasks.base import NUMBER_INSTRUCTION, Content
from ponder.tasks.families.common import check_integer


class Modular:
    name = "modular"
    description = "the residue of an arithmetic expression with powers, modulo m"
    instruction = NUMBER_INSTRUCTION
    answer_format = "number"

    def generate(self, rng: random.Random, level: int) -> Content:
        operands = level + 1
        top = 10 ** (2 + level // 3) - 1
        modulus = rng.randint(3, 12 + 8 * level)
        powers = 0
        parts: list[str] = []
        for i in range(operands):
            term = str(rng.randint(2, top))
            if level >= 2 and rng.random() < 0.4:
                term += f"^{rng.randint(2, 3 + level)}"
                powers += 1
            if i > 0:
                parts.append(rng.choice("+-×"))
            parts.append(term)
        text = " ".join(parts)
        question = (
            f"Compute ({text}) mod {modulus}. "
            "× binds tighter than + and −, ^ is a power, and the answer is between 0 and the modulus."
        )
        value = _residue(text, modulus)
        return Content(question, str(value), {"operands": operands, "powers": powers, "modulus": modulus})

    def check(self, gold: str, pred: str | None, data: dict[str, Any]) -> bool:
        return check_integer(gold, pred)

    def space(self, level: int) -> int:
        # Measured: two draws at level 1 agree as often as two from about 500,000 equal items.
        return 5 * 10**5 if level == 1 else 10**6


def _residue(text: str, modulus: int) -> int:
    """The least non-negative residue of `a ^ b`, ×, +, − with the usual precedence (the generator's
    own notation), computed modulo `modulus` throughout: exact, and fast at any level (the
    expression's value itself has hundreds of thousands of digits at level 800)."""
    tokens = text.replace("×", "*").replace("−", "-").split()
    total = 0
    sign = 1
    product = _power(tokens[0], modulus)
    for op, operand in zip(tokens[1::2], tokens[2::2], strict=True):
        if op == "*":
            product = product * _power(operand, modulus) % modulus
        else:
            total += sign * product
            sign = 1 if op == "+" else -1
            product = _power(operand, modulus)
    # Python's % gives the least non-negative residue for a positive modulus.
    return (total + sign * product) % modulus


def _power(token: str, modulus: int) -> int:
    if "^" in token:
        base, exp = token.split("^")
        return pow(int(base), int(exp), modulus)
    return int(token) % modulus
