"""Matchers: compare a predicted answer with a gold one (oracles only, at eval time).

`match_math` uses math-verify for equivalence (`verify(gold, pred)`, gold first). math-verify's own
timeouts use `signal.alarm`, which fails outside the main thread, so they are switched off here.
"""

from __future__ import annotations

import logging
import math
from fractions import Fraction

from ponder.answers.extract import normalize


def match_exact(gold: str, pred: str | None) -> bool:
    return pred is not None and normalize(gold) == normalize(pred)


def _as_fraction(s: str) -> Fraction | None:
    try:
        return Fraction(normalize(s))
    except (ValueError, ZeroDivisionError):
        return None


def match_numeric(gold: str, pred: str | None, rel_tol: float = 1e-6) -> bool:
    """Equal numbers. Exact for integers and fractions (1000000 is not 1000001); a relative tolerance
    only where one side is a rounded decimal (0.333333 against 1/3)."""
    if pred is None:
        return False
    a, b = _as_fraction(gold), _as_fraction(pred)
    if a is None or b is None:
        return False
    if a == b:
        return True
    rounded = any("." in normalize(s) for s in (gold, pred))
    return rounded and math.isclose(a, b, rel_tol=rel_tol)


def match_math(gold: str, pred: str | None) -> bool:
    if pred is None:
        return False
    if match_exact(gold, pred) or match_numeric(gold, pred):
        return True
    from math_verify import parse, verify

    # Its warning that timeouts are off would print on every call: we switch them off on purpose.
    logging.getLogger("math_verify").setLevel(logging.ERROR)

    def wrap(s: str) -> str:
        return s if "$" in s or "\\" in s else f"${s}$"

    try:
        g = parse(wrap(gold), parsing_timeout=None)
        p = parse(wrap(pred), parsing_timeout=None)
        return bool(g and p and verify(g, p, timeout_seconds=None))
    except Exception:
        return False
