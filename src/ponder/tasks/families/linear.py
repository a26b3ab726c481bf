"""`linear`: linear equations and systems with a unique integer solution.

Level 1: a·x + b = c. Level 2: a·x + b = c·x + d. From level 3, systems: 1 + (L−1)//2 unknowns, as
many equations, coefficients growing with L. The question asks for one unknown's value. Past eleven
unknowns (level 23) the letters run out and the unknowns are x_1 … x_n.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from ponder.tasks.base import NUMBER_INSTRUCTION, Content
from ponder.tasks.families.common import check_integer, out_of_reach

VARIABLES = "xyzwuvpqrst"


def _term(coef: int, var: str, first: bool) -> str:
    sign = "-" if coef < 0 else ("" if first else "+")
    mag = abs(coef)
    body = var if mag == 1 else f"{mag}{var}"
    return f"{sign} {body}".strip() if not first else f"{sign}{body}"


def _side(coefs: list[int], names: Sequence[str], const: int | None = None) -> str:
    parts: list[str] = []
    for c, v in zip(coefs, names, strict=True):
        if c != 0:
            parts.append(_term(c, v, not parts))
    if const is not None and const != 0:
        parts.append(f"{'-' if const < 0 else '+'} {abs(const)}" if parts else str(const))
    return " ".join(parts) if parts else "0"


PRIME = 2**61 - 1


def _invertible(m: list[list[int]]) -> bool:
    """Whether the determinant is non-zero, computed modulo a large prime: non-zero there means
    non-zero, and elimination on machine-sized residues stays fast for a hundred unknowns."""
    a = [[v % PRIME for v in row] for row in m]
    n = len(a)
    for i in range(n):
        pivot = next((r for r in range(i, n) if a[r][i]), None)
        if pivot is None:
            return False
        a[i], a[pivot] = a[pivot], a[i]
        inverse = pow(a[i][i], -1, PRIME)
        for r in range(i + 1, n):
            f = a[r][i] * inverse % PRIME
            if f:
                a[r] = [(x - f * y) % PRIME for x, y in zip(a[r], a[i], strict=True)]
    return True


def _unknowns(rng: random.Random, n: int) -> list[str]:
    """n distinct unknowns: single letters while they last, then x_1 … x_n."""
    if n <= len(VARIABLES):
        return list(rng.sample(VARIABLES, n))
    return [f"x_{i + 1}" for i in range(n)]


class Linear:
    name = "linear"
    description = "linear equations (level 1-2) and systems of them (level 3 on), integer solution"
    instruction = NUMBER_INSTRUCTION
    answer_format = "number"

    def generate(self, rng: random.Random, level: int) -> Content:
        bound = 9 + 3 * level
        if level <= 2:
            var = rng.choice(VARIABLES)
            x = rng.randint(-3 * bound, 3 * bound)
            a = rng.choice([k for k in range(-bound, bound + 1) if abs(k) >= 2])
            if level == 1:
                b = rng.randint(-99, 99)
                eq = f"{_side([a], var, b)} = {a * x + b}"
                return Content(
                    f"Solve for {var}: {eq}. What is {var}?",
                    str(x),
                    {"unknowns": 1, "terms": 3, "coef_max": bound},
                )
            c = rng.choice([k for k in range(-bound, bound + 1) if k not in (0, a)])
            b = rng.randint(-99, 99)
            d = a * x + b - c * x
            eq = f"{_side([a], var, b)} = {_side([c], var, d)}"
            return Content(
                f"Solve for {var}: {eq}. What is {var}?",
                str(x),
                {"unknowns": 1, "terms": 4, "coef_max": bound},
            )
        n = 1 + (level - 1) // 2
        names = _unknowns(rng, n)
        for _ in range(100):
            m = [[rng.randint(-bound // 2, bound // 2) for _ in range(n)] for _ in range(n)]
            if _invertible(m):
                break
        else:
            raise out_of_reach(self.name, level, "100 draws made no system with a unique solution")
        xs = [rng.randint(-bound, bound) for _ in range(n)]
        lines = [f"{_side(row, names)} = {sum(c * v for c, v in zip(row, xs, strict=True))}" for row in m]
        target = rng.randrange(n)
        question = f"Solve the system of equations: {'; '.join(lines)}. What is {names[target]}?"
        terms = sum(1 for row in m for c in row if c != 0) + n
        return Content(question, str(xs[target]), {"unknowns": n, "terms": terms, "coef_max": bound})

    def check(self, gold: str, pred: str | None, data: dict[str, Any]) -> bool:
        return check_integer(gold, pred)

    def space(self, level: int) -> int:
        return 3 * 10**6 if level == 1 else 10**7
