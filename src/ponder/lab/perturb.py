"""GSM8K twins: the same story with other numbers, its answer recomputed from the worked solution.

A GSM8K solution annotates each calculation: `<<48/2=24>>`. To make a twin:
1. Re-evaluate every annotation exactly and check that it gives its stated result, and that the
   last result is the gold answer. Only then is any number changed (an item whose annotations do not
   reproduce its answer cannot be perturbed).
2. Classify each number inside an annotation: the result of an earlier annotation (a reference), a
   number written in the question in digits (an input, which the twin changes), a number the question
   spells out ("fifty-four": kept, since the twin keeps the words), or a safe constant (SAFE_CONSTANTS,
   kept). Anything else is refused as unexplained: it was usually computed silently in the solution's
   text (`2x = 80`, then `<<40=40>>`), so it depends on the inputs and a twin that kept it would carry
   a wrong answer. So is a safe or spelled number that the text writes as an unannotated result
   (`2g = 10`, then `<<10/2=5>>`): there it is data, not a constant. A number that could be both a
   reference and an input, or both an input and a constant (a digit 2 beside a "half", a digit 9
   beside "nine hours", the 4 of "$4.00" twice in `4*4`), is ambiguous: the item is not perturbed.
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
# Constants a chain may use that the question need not write: units and counts fixed by the world
# or the language, never by the story's data, so they stay right when the inputs change. A number
# outside this list that is neither an input nor an earlier result is refused (Refusal
# "unexplained-number"). Each value is still refused where it may be data: when it is also one of the
# question's own digits (see CONSTANT_WORDS and the count in `perturb`).
SAFE_CONSTANTS: dict[Fraction, str] = {
    Fraction(1): "the unit: one more, one whole, 1 - 0.2 for 80%",
    Fraction(1, 2): "half, written as a decimal",
    Fraction(2): "half, twice, double, a pair, there and back, the average of two",
    Fraction(3): "a third, triple",
    Fraction(4): "a quarter, four legs, four weeks in a month",
    Fraction(7): "days in a week",
    Fraction(10): "tens, dimes, a decade",
    Fraction(12): "a dozen, months in a year, inches in a foot",
    Fraction(24): "hours in a day",
    Fraction(52): "weeks in a year",
    Fraction(60): "minutes in an hour, seconds in a minute",
    Fraction(100): "percent, cents in a dollar",
    Fraction(365): "days in a year",
    Fraction(1000): "thousands, grams in a kilogram, metres in a kilometre",
}
_UNITS = (  # noqa: SIM905 (a list literal would take twenty lines)
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()  # noqa: SIM905
NUMBER_WORD = re.compile(
    r"\b(?:("
    + "|".join(_TENS)
    + r")(?:[- ]("
    + "|".join(_UNITS[1:10])
    + r"))?|("
    + "|".join(_UNITS)
    + r"))\b"
)
# A result the solution's text computes without an annotation ("2x = 10", "40*.25 = $10.00"): the
# annotation with the number written after it is cut out first, so only unannotated results remain.
SILENT_RESULT = re.compile(r"=\s*\$?\s*(\d[\d,]*(?:\.\d+)?)")
ANNOTATED = re.compile(r"<<[^<>]*>>[\d,.]*")
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
    kind: (
        str  # unparsable, no-annotations, unreproducible, ambiguous, unexplained-number, no-inputs, not-whole
    )
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


def spelled_numbers(question: str) -> set[Fraction]:
    """The numbers 0 to 99 the question writes in words ("fifty-four", "twenty", "nine")."""
    found: set[Fraction] = set()
    for tens, unit, alone in NUMBER_WORD.findall(question.lower()):
        if alone:
            found.add(Fraction(_UNITS.index(alone)))
        else:
            found.add(Fraction(20 + 10 * _TENS.index(tens) + (_UNITS.index(unit) if unit else 0)))
    return found


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
    spelled = spelled_numbers(question)
    silent = {_number(m.rstrip(".")) for m in SILENT_RESULT.findall(ANNOTATED.sub(" ", solution))}
    written = [_number(m) for m in QUESTION_NUMBER.findall(question)]
    used_inputs: set[Fraction] = set()
    for step, earlier in zip(steps, results_before, strict=True):
        tokens = NUMBER.findall(step.expr)
        for token in tokens:
            v = _number(token)
            if v in earlier and v in inputs:
                return Refusal("ambiguous", f"{token} is both a question number and an earlier result")
            if v in inputs and v not in earlier:
                used_inputs.add(v)
                if sum(_number(t) == v for t in tokens) > written.count(v):
                    # "2 miles, there and back" gives 2*2, "4 cartons at $4.00" gives 4*4: one of
                    # them is not the question's number, and the replay cannot tell which to change.
                    return Refusal("ambiguous", f"'{step.expr}' uses {token} more often than the question")
            elif v not in earlier and (v in silent or (v not in spelled and v not in SAFE_CONSTANTS)):
                return Refusal(
                    "unexplained-number",
                    f"{token} is neither a question number nor an earlier result: "
                    "it may have been computed silently from the inputs",
                )
    if not used_inputs:
        return Refusal("no-inputs", "no number of the question feeds the calculation")
    lowered = question.lower()
    for v in used_inputs:
        words = CONSTANT_WORDS.get(int(v), ()) if v.denominator == 1 else ()
        if any(w in lowered for w in words):
            return Refusal("ambiguous", f"{_fmt(v)} may be the constant of a word in the question")
        if v in spelled:
            return Refusal("ambiguous", f"{_fmt(v)} is written both in digits and in words")
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
