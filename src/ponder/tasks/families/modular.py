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
        # Python's % gives the least non-negative residue for a positive modulus.
        value = _evaluate(text) % modulus
        return Content(question, str(value), {"operands": operands, "powers": powers, "modulus": modulus})

    def check(self, gold: str, pred: str | None, data: dict[str, Any]) -> bool:
        return check_integer(gold, pred)

    def space(self, level: int) -> int:
        return 10**6


def _evaluate(text: str) -> int:
    """Evaluate `a ^ b`, ×, +, − with the usual precedence (the generator's own notation)."""
    tokens = text.replace("×", "*").replace("−", "-").split()
    terms: list[int] = []
    signs: list[int] = [1]
    product = _power(tokens[0])
    for op, operand in zip(tokens[1::2], tokens[2::2], strict=True):
        if op == "*":
            product *= _power(operand)
        else:
            terms.append(product)
            signs.append(1 if op == "+" else -1)
            product = _power(operand)
    terms.append(product)
    return sum(s * t for s, t in zip(signs, terms, strict=True))


def _power(token: str) -> int:
    if "^" in token:
        base, exp = token.split("^")
        return int(int(base) ** int(exp))
    return int(token)
