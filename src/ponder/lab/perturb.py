"""GSM8K twins: the same story with other numbers, its answer recomputed from the worked solution.

A GSM8K solution annotates each calculation: `<<48/2=24>>`. To make a twin:
1. Re-evaluate every annotation exactly and check that it gives its stated result, and that the
   last result is the gold answer. Only then is any number changed (an item whose annotations do not
   reproduce its answer cannot be perturbed).
2. Classify each number inside an annotation: the result of an earlier annotation (a reference), a
   number written in the question (an input), or neither (a constant such as 2 for "half", kept).
   A number that could be both a reference and an input is ambiguous: the item is not perturbed.
3. Draw new values for the inputs, replace them in the question, re-run the chain with references
   following their new results, and keep the twin only if every step stays whole and non-negative
   where the original was. A few draws are tried before the item is given up.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from fractions import Fraction

from ponder.answers.arith import evaluate_calculation as evaluate_exact

# Words whose number may stand in a calculation without being the question's number: "half" is /2
# even when the question also says "2 cartons". An input with such a word nearby is ambiguous.
CONSTANT_WORDS: dict[int, tuple[str, ...]] = {
    2: ("half", "twice", "double", "two times", "pair"),
    3: ("third", "triple", "three times"),
    4: ("quarter", "four times"),
    7: ("week",),
    12: ("dozen", "month", "year"),
    24: ("day",),
    60: ("hour", "minute"),
    100: ("percent", "%", "cent"),
}
ANNOTATION = re.compile(r"<<([^<>=]+)=([^<>]+)>>")
NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
QUESTION_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?![\d])|(?<![\w.])\d+(?:\.\d+)?(?![\d])")


@dataclass(frozen=True)
class Step:
    expr: str
    result: Fraction


@dataclass(frozen=True)
class Twin:
    question: str
    answer: str
    changed: dict[str, str]  # original number → new number


@dataclass(frozen=True)
class Refusal:
    kind: str  # unparsable, no-annotations, unreproducible, ambiguous, no-inputs, not-whole
    reason: str


def _number(text: str) -> Fraction:
    return Fraction(text.replace(",", ""))


def parse_steps(solution: str) -> list[Step] | Refusal:
    steps = []
    for expr, result in ANNOTATION.findall(solution):
        try:
            steps.append(Step(expr.strip(), _number(result.strip().rstrip("."))))
        except (ValueError, ZeroDivisionError):
            return Refusal("unparsable", f"annotation result '{result}' is not a number")
    return steps or Refusal("no-annotations", "no calculator annotations")


def replay(steps: list[Step], gold: str) -> Fraction | Refusal:
    """Recompute the original chain; it must reproduce every stated result and the gold answer."""
    value = None
    for step in steps:
        value = evaluate_exact(step.expr)
        if value is None:
            return Refusal("unparsable", f"cannot evaluate '{step.expr}'")
        if value != step.result:
            return Refusal("unreproducible", f"'{step.expr}' gives {value}, not the stated {step.result}")
    assert value is not None
    if value != _number(gold):
        return Refusal("unreproducible", f"the last annotation gives {value}, not the answer {gold}")
    return value


def _fmt(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else str(float(x))


def perturb(question: str, solution: str, gold: str, rng: random.Random, tries: int = 20) -> Twin | Refusal:
    steps = parse_steps(solution)
    if isinstance(steps, Refusal):
        return steps
    original = replay(steps, gold)
    if isinstance(original, Refusal):
        return original
    results = [s.result for s in steps]
    if len(set(results)) < len(results):
        return Refusal("ambiguous", "two steps give the same result: a later step's reference is unclear")
    inputs = {_number(m) for m in QUESTION_NUMBER.findall(question)}
    results_before: list[set[Fraction]] = []
    seen: set[Fraction] = set()
    for step in steps:
        results_before.append(set(seen))
        seen.add(step.result)
    used_inputs: set[Fraction] = set()
    for step, earlier in zip(steps, results_before, strict=True):
        for token in NUMBER.findall(step.expr):
            v = _number(token)
            if v in earlier and v in inputs:
                return Refusal("ambiguous", f"{token} is both a question number and an earlier result")
            if v in inputs and v not in earlier:
                used_inputs.add(v)
    if not used_inputs:
        return Refusal("no-inputs", "no number of the question feeds the calculation")
    lowered = question.lower()
    for v in used_inputs:
        words = CONSTANT_WORDS.get(int(v), ()) if v.denominator == 1 else ()
        if any(w in lowered for w in words):
            return Refusal("ambiguous", f"{_fmt(v)} may be the constant of a word in the question")
    for _ in range(tries):
        new = {v: _nudge(v, rng) for v in used_inputs}
        twin = _rerun(steps, results_before, new)
        if twin is not None:
            text = _rewrite(question, new)
            changed = {_fmt(k): _fmt(v) for k, v in new.items()}
            return Twin(text, _fmt(twin), changed)
    return Refusal("not-whole", "no new numbers kept every step whole and non-negative")


def _rewrite(question: str, new: dict[Fraction, Fraction]) -> str:
    def replace(m: re.Match[str]) -> str:
        token = m.group(0)
        v = _number(token)
        if new.get(v, v) == v:
            return token
        text = _fmt(new[v])
        return f"{int(text):,}" if "," in token and text.isdigit() else text

    return QUESTION_NUMBER.sub(replace, question)


def _nudge(v: Fraction, rng: random.Random) -> Fraction:
    if v.denominator != 1:
        return v + Fraction(rng.choice([-1, 1]) * rng.randint(1, 4), v.denominator)
    n = int(v)
    spread = max(2, n // 3)
    candidates = [k for k in range(max(1, n - spread), n + spread + 1) if k != n]
    return Fraction(rng.choice(candidates))


def _rerun(steps: list[Step], earlier: list[set[Fraction]], new: dict[Fraction, Fraction]) -> Fraction | None:
    mapping: dict[Fraction, Fraction] = {}  # original result → new result
    value: Fraction | None = None
    for step, before in zip(steps, earlier, strict=True):

        def swap(m: re.Match[str], before: set[Fraction] = before) -> str:
            v = _number(m.group(0))
            if v in before:
                return _fmt(mapping[v])
            return _fmt(new.get(v, v))

        value = evaluate_exact(NUMBER.sub(swap, step.expr))
        if value is None:
            return None
        if step.result.denominator == 1 and value.denominator != 1:
            return None
        if step.result >= 0 and value < 0:
            return None
        mapping.setdefault(step.result, value)
    return value
