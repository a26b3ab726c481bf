"""Exact evaluation of arithmetic expressions, parsed (never `eval`ed) into fractions.

Two grammars share one walker:
- `plain=True`: whole numbers and + - * / with parentheses, no sign, no other operator (countdown's
  answers, where the numbers used must be checked against the numbers given);
- the default: also decimals, a leading sign, powers (exponent 0 to 64) and %, as calculators write
  them (GSM8K's annotations).
It returns the exact value and the literals in the order they appear, or None for anything else,
a division by zero included.
"""

from __future__ import annotations

import ast
from fractions import Fraction

_PLAIN = (ast.Add, ast.Sub, ast.Mult, ast.Div)


def evaluate(expr: str, *, plain: bool = False) -> tuple[Fraction, list[Fraction]] | None:
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return None
    literals: list[Fraction] = []

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Constant) and type(node.value) in ((int,) if plain else (int, float)):
            value = Fraction(str(node.value))
            literals.append(value)
            return value
        if not plain and isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = walk(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and (not plain or isinstance(node.op, _PLAIN)):
            a, b = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if isinstance(node.op, ast.Div):
                return a / b
            if isinstance(node.op, ast.Pow) and b.denominator == 1 and 0 <= b <= 64:
                return a ** int(b)
            if isinstance(node.op, ast.Mod) and b != 0:
                return a % b
        raise ValueError("not plain arithmetic")

    try:
        return walk(tree.body), literals
    except (ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None


def evaluate_calculation(expr: str) -> Fraction | None:
    """A calculator's expression ("48/2", "2 x 3", "1,200 * 5%"... as GSM8K writes them)."""
    text = expr.replace(",", "").replace("x", "*").replace("×", "*").replace("÷", "/").replace("^", "**")
    result = evaluate(text)
    return None if result is None else result[0]
