"""Exact evaluation of a plain arithmetic expression (numbers, + - * / and parentheses)."""

from __future__ import annotations

import ast
from fractions import Fraction


def evaluate_exact(expr: str) -> Fraction | None:
    """The value of `expr` as a fraction, or None if it is not plain arithmetic (or divides by 0)."""
    text = expr.replace(",", "").replace("x", "*").replace("×", "*").replace("÷", "/").replace("^", "**")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None

    def walk(node: ast.AST) -> Fraction:
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = walk(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
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
        return walk(tree.body)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
