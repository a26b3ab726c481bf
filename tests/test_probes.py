"""The probes' statistics: saturation can fire at its defaults, and every GSM8K twin's gold is right.

The twins are checked against a recomputation written here, independently of perturb.py: its own
number pattern, its own evaluator, its own substitution over the original solution.
"""

from __future__ import annotations

import ast
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from fractions import Fraction
from functools import cache
from typing import Any

import pytest
from typer.testing import CliRunner

from ponder.errors import PonderError
from ponder.lab import evaluate
from ponder.lab.perturb import Refusal, Twin, perturb
from ponder.lab.probes import (
    _paired_binary_diff,
    contamination,
    contamination_verdict,
    problems_to_saturate,
    saturation,
    saturation_problems,
    twins,
)
from ponder.lab.stats import wilson
from ponder.tasks.base import Item
from ponder.tasks.static import GSM8K_TEST, gsm8k

GSM8K = GSM8K_TEST  # the copy shipped in the package


class PerfectEvaluator:
    """Stands in for a model that answers every item correctly (or per `right`)."""

    def __init__(self, right: Any = None) -> None:
        self.right = right or (lambda item: True)
        self.judged: list[Item] = []

    async def judge(self, items: list[Item], progress: Any = None) -> list[Any]:
        self.judged.extend(items)
        for _ in items:
            if progress is not None:
                progress()
        return [type("Verdict", (), {"correct": bool(self.right(item)), "item": item})() for item in items]

    def close(self) -> None:
        pass


# Saturation ----------------------------------------------------------------------------------------


def test_problems_to_saturate_is_the_fewest_that_can_fire() -> None:
    for threshold in (0.5, 0.8, 0.9, 0.95):
        for misses in (0, 1, 2):
            n = problems_to_saturate(threshold, misses)
            assert wilson(n - misses, n).low > threshold >= wilson(n - 1 - misses, n - 1).low
    assert problems_to_saturate(0.9) == 35 and problems_to_saturate(0.9, misses=1) == 53


async def test_saturation_fires_at_its_defaults() -> None:
    perfect = await saturation(PerfectEvaluator(), "arithmetic", 1)  # type: ignore[arg-type]
    assert perfect.saturated and perfect.suggested_level == 2
    first = True

    def one_miss(item: Item) -> bool:
        nonlocal first
        miss, first = first, False
        return not miss

    assert (await saturation(PerfectEvaluator(one_miss), "arithmetic", 1)).saturated  # type: ignore[arg-type]


def test_saturation_cli_fires_at_its_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from ponder.cli.main import app

    monkeypatch.setattr(evaluate.Evaluator, "open", classmethod(lambda cls, *a, **k: PerfectEvaluator()))
    out = CliRunner().invoke(app, ["tasks", "saturation", "arithmetic@1", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["saturated"] is True and data["problems"] == 53


async def test_unreachable_settings_are_refused() -> None:
    with pytest.raises(PonderError, match="at least 35 problems") as e:
        saturation_problems(0.9, 20)
    assert "\n" not in str(e.value)
    assert saturation_problems(0.9, 35) == 35
    with pytest.raises(PonderError, match="at least 73 problems"):
        await saturation(PerfectEvaluator(), "arithmetic", 1, problems=72, threshold=0.95)  # type: ignore[arg-type]


def test_unreachable_settings_are_refused_by_the_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ponder.cli.main", "tasks", "saturation", "arithmetic@1", "--problems", "20"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "at least 35 problems" in proc.stderr and "--threshold 0.9" in proc.stderr


# Contamination --------------------------------------------------------------------------------------


def test_paired_binary_interval() -> None:
    same = [True, False] * 20
    d, low, high = _paired_binary_diff(same, same)
    assert d == 0 and low < 0 < high  # a score interval is never a point
    better = _paired_binary_diff([True] * 30, [False] * 20 + [True] * 10)
    assert better[0] == pytest.approx(20 / 30) and better[1] > 0.4 and better[2] < 0.85
    # 12 both right, 9 only a, 2 only b, 21 neither: Newcombe's method 10 (a second, separate
    # implementation gives the same bounds).
    a = [True] * 12 + [True] * 9 + [False] * 2 + [False] * 21
    b = [True] * 12 + [False] * 9 + [True] * 2 + [False] * 21
    d, low, high = _paired_binary_diff(a, b)
    assert (round(low, 4), round(high, 4)) == (0.0112, 0.2954) and d == pytest.approx(7 / 44)


def test_verdict_needs_a_clear_difference_beyond_the_control() -> None:
    assert contamination_verdict(0.3, 0.15, 0.45, (0.0, -0.1, 0.1))[0]
    likely, text = contamination_verdict(0.1, 0.02, 0.2, (0.0, -0.12, 0.12))
    assert not likely and text.startswith("inconclusive")
    likely, text = contamination_verdict(0.1, -0.02, 0.2, (0.0, -0.05, 0.05))
    assert not likely and text.startswith("no sign")


async def test_contamination_reports_twin_against_twin() -> None:
    items = gsm8k()[:60]
    memorised = {item.question for item in items}
    evaluator = PerfectEvaluator(lambda item: item.question in memorised)
    reports: list[tuple[int, int]] = []
    result = await contamination(evaluator, items, progress=lambda *r: reports.append(r))  # type: ignore[arg-type]
    n = 3 * result.perturbed  # each original and its two twins, reported as they are answered
    assert reports == [(done, n) for done in range(n + 1)]
    assert result.perturbed > 20 and result.accuracy_original == 1
    assert result.accuracy_perturbed == result.accuracy_control == 0
    assert result.control_difference == 0 and result.control_low < 0 < result.control_high
    assert result.likely and result.verdict.startswith("contamination likely")
    assert len(evaluator.judged) == 3 * result.perturbed
    assert result.perturbed + result.not_perturbed == 60 == result.perturbed + sum(result.reasons.values())


# Every twin's gold, recomputed independently ---------------------------------------------------------

_NUM = re.compile(r"(?<![\d.])(?:\d+\.?\d*|\.\d+)")
_CALC = re.compile(r"<<(.*?)=(.*?)>>")
_QUESTION_NUM = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?!\d)|(?<![\w.])\d+(?:\.\d+)?(?!\d)")


def _value(text: str) -> Fraction:
    return Fraction(text.replace(",", "").rstrip("."))


def _eval(expr: str) -> Fraction:
    """A small evaluator of its own: + - * / ** % and parentheses over exact fractions."""

    def walk(node: ast.expr) -> Fraction:
        if isinstance(node, ast.Constant):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp):
            return -walk(node.operand) if isinstance(node.op, ast.USub) else walk(node.operand)
        assert isinstance(node, ast.BinOp), ast.dump(node)
        x, y = walk(node.left), walk(node.right)
        ops = {ast.Add: x + y, ast.Sub: x - y, ast.Mult: x * y}
        if type(node.op) in ops:
            return ops[type(node.op)]  # type: ignore[index]
        if isinstance(node.op, ast.Div):
            return x / y
        if isinstance(node.op, ast.Mod):
            return x % y
        assert isinstance(node.op, ast.Pow) and y.denominator == 1
        return Fraction(x ** int(y))

    return walk(ast.parse(expr.strip(), mode="eval").body)


def recompute(solution: str, changed: dict[str, str]) -> Fraction:
    """The twin's answer: walk the original annotations in order; a number equal to an earlier
    annotation's stated result follows that step's new value, a changed question number takes its
    new value, anything else stays."""
    new = {_value(k): _value(v) for k, v in changed.items()}
    followed: dict[Fraction, Fraction] = {}
    last = Fraction(0)
    for expr, stated in _CALC.findall(solution):

        def sub(m: re.Match[str]) -> str:
            v = _value(m.group(0))
            v = followed.get(v, new.get(v, v))
            return f"({v.numerator}/{v.denominator})"

        last = _eval(_NUM.sub(sub, expr))
        followed.setdefault(_value(stated.strip()), last)
    return last


def rewritten(question: str, changed: dict[str, str]) -> str:
    new = {_value(k): v for k, v in changed.items()}

    def sub(m: re.Match[str]) -> str:
        v = _value(m.group(0))
        if v not in new:
            return m.group(0)
        return f"{int(new[v]):,}" if "," in m.group(0) else new[v]

    return _QUESTION_NUM.sub(sub, question)


@cache
def all_twins() -> tuple[int, dict[str, tuple[list[tuple[Item, Item]], dict[str, int]]]]:
    items = gsm8k()
    return len(items), {"A": twins(items, 0), "B": twins(items, 0, "control")}


@pytest.mark.parametrize("stream", ["A", "B"])
def test_every_twin_gold_matches_an_independent_recomputation(stream: str) -> None:
    total, sets = all_twins()
    pairs, reasons = sets[stream]
    assert total == 1319 and len(pairs) + sum(reasons.values()) == total
    assert 550 < len(pairs) < 650, (len(pairs), reasons)  # 590 (A) and 589 (B) at seed 0
    wrong, silent = [], []
    for original, twin in pairs:
        changed = twin.data["changed"]
        solution = original.data["solution"]
        if recompute(solution, changed) != _value(twin.answer) or twin.question != rewritten(
            original.question, changed
        ):
            wrong.append(original.id)
        if kept_numbers(original.question, solution) & silent_results(solution):
            silent.append(original.id)
    assert wrong == [] and silent == []


def kept_numbers(question: str, solution: str) -> set[Fraction]:
    """The numbers of the annotations that are neither the question's digits nor earlier results:
    the twin keeps them as they are."""
    given = {_value(m) for m in _QUESTION_NUM.findall(question)}
    kept: set[Fraction] = set()
    results: set[Fraction] = set()
    for expr, stated in _CALC.findall(solution):
        kept |= {_value(t) for t in _NUM.findall(expr)} - given - results
        results.add(_value(stated.strip()))
    return kept


def silent_results(solution: str) -> set[Fraction]:
    """Numbers the text computes without an annotation ("2g = 10"): a number kept from these would
    be stale in the twin."""
    text = re.sub(r"<<.*?>>[\d,.]*", " ", solution)
    return {_value(m) for m in re.findall(r"=\s*\$?\s*(\d[\d,]*\.?\d*)", text)}


# GSM8K items whose twins (at seed 0, before the unexplained-number rule) carried a wrong gold: each
# step used a number the solution had computed silently from the inputs (Gretchen's 40 is (110-30)/2),
# or a digit that the question also wrote in words (9 inpatients, nine hours), or a number used twice
# where the question writes it once ($4.00 a carton, 60/15 = 4 cartons: 4*4).
WRONG_BEFORE = {
    "gsm8k-33": "Gretchen: 2*x=80, x=<<40=40>>40",
    "gsm8k-84": "2L = 22 - 8 = 14",
    "gsm8k-183": "60 - 3 = 57 ...",
    "gsm8k-189": "$20.25 + $15.75 + $66 = $102",
    "gsm8k-219": "1/2 (68) + 10 = 44",
    "gsm8k-232": "1/2 * 50 = 25",
    "gsm8k-263": "5+2(3)=11",
    "gsm8k-279": "27 - 9 = 18",
    "gsm8k-342": "2*24 = 48",
    "gsm8k-386": "65+94+81+86+74 = <<400=400>>",
    "gsm8k-753": "96-10= 86",
    "gsm8k-950": "3B = 75, B = <<25=25>>",
    "gsm8k-970": "7 + 13 = 20",
    "gsm8k-1190": "B = 78 - 59 = <<19=19>>",
    "gsm8k-1000": "9 inpatients and nine hours",
    "gsm8k-27": "$4.00 a carton and 4 cartons: 4*4",
    "gsm8k-58": "40*.25 = $10.00, then <<40+10+7=57>>",
    "gsm8k-660": "2g = 10, then <<10/2=5>>",
}


def test_twins_with_a_silently_derived_number_are_refused() -> None:
    rows = {
        f"gsm8k-{i}": json.loads(line)
        for i, line in enumerate(GSM8K.read_text(encoding="utf-8").splitlines())
    }
    kinds = Counter()
    for item_id in WRONG_BEFORE:
        row = rows[item_id]
        gold = row["answer"].rsplit("####", 1)[1].strip().replace(",", "")
        twin = perturb(row["question"], row["answer"], gold, random.Random(0))
        assert isinstance(twin, Refusal), (item_id, twin)
        kinds[twin.kind] += 1
    assert kinds == {"unexplained-number": 16, "ambiguous": 2}


def test_safe_constants_are_kept() -> None:
    question = (
        "Jeff's work is 3 miles away. He walks there and back each day. How far does he walk in 5 days?"
    )
    solution = "3*2=<<3*2=6>>6 miles a day, 6*5=<<6*5=30>>30 miles.\n#### 30"
    twin = perturb(question, solution, "30", random.Random(1))
    assert isinstance(twin, Twin)
    new = {Fraction(k): Fraction(v) for k, v in twin.changed.items()}
    assert Fraction(twin.answer) == new.get(Fraction(3), 3) * 2 * new.get(Fraction(5), 5)
    twice = "Jeff's work is 2 miles away. He walks there and back each day. How far does he walk in 5 days?"
    refused = perturb(
        twice,
        solution.replace("3*2", "2*2")
        .replace("=6>>6", "=4>>4")
        .replace("6*5", "4*5")
        .replace("=30>>30", "=20>>20")
        .replace("#### 30", "#### 20"),
        "20",
        random.Random(1),
    )
    assert isinstance(refused, Refusal) and refused.kind == "ambiguous"
