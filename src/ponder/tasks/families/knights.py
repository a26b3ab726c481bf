"""`knights`: knights and knaves. Knights always tell the truth, knaves always lie.

Level L has L+2 islanders, each making one statement about the others (from level 4, some make two).
Statements are drawn until exactly one assignment of knights and knaves is consistent, found by a
backtracking search that stops at the second solution. The answer is the set of knights.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ponder.answers.extract import extract_answer
from ponder.tasks.base import Content
from ponder.tasks.families.common import NAMES

Assignment = dict[int, bool]


@dataclass(frozen=True)
class Statement:
    speaker: int
    about: tuple[int, ...]
    text: str
    holds: Callable[[Assignment], bool]


def _statements(rng: random.Random, speaker: int, others: list[int], names: list[str]) -> Statement:
    a = rng.choice(others)
    b = rng.choice([o for o in others if o != a] or [a])
    na, nb = names[a], names[b]
    options: list[tuple[tuple[int, ...], str, Callable[[Assignment], bool]]] = [
        ((a,), f"{na} is a knight.", lambda w: w[a]),
        ((a,), f"{na} is a knave.", lambda w: not w[a]),
        ((speaker, a), f"{na} and I are the same kind.", lambda w: w[speaker] == w[a]),
        ((speaker, a), f"{na} and I are different kinds.", lambda w: w[speaker] != w[a]),
    ]
    if b != a:
        options += [
            ((a, b), f"{na} and {nb} are both knights.", lambda w: w[a] and w[b]),
            ((a, b), f"At least one of {na} and {nb} is a knave.", lambda w: not (w[a] and w[b])),
            ((a, b), f"Exactly one of {na} and {nb} is a knight.", lambda w: w[a] != w[b]),
            ((a, b), f"{na} or {nb} is a knight.", lambda w: w[a] or w[b]),
        ]
    about, text, holds = rng.choice(options)
    return Statement(speaker, about, text, holds)


def count_solutions(n: int, statements: list[Statement], limit: int = 2) -> int:
    """Consistent assignments (a speaker is a knight iff their statement holds), up to `limit`."""
    by_last: dict[int, list[Statement]] = {}
    for s in statements:
        by_last.setdefault(max((s.speaker, *s.about)), []).append(s)
    world: Assignment = {}
    found = 0

    def search(i: int) -> None:
        nonlocal found
        if found >= limit:
            return
        if i == n:
            found += 1
            return
        for value in (True, False):
            world[i] = value
            if all(world[s.speaker] == s.holds(world) for s in by_last.get(i, [])):
                search(i + 1)
        del world[i]

    search(0)
    return found


class Knights:
    name = "knights"
    description = "knights and knaves: who tells the truth, given what everyone says (unique solution)"
    instruction = (
        "Give the final answer on its own last line as 'Answer: <names of all knights, "
        "separated by commas>', or 'Answer: none' if there are no knights."
    )
    answer_format = "names"

    def generate(self, rng: random.Random, level: int) -> Content:
        n = level + 2
        names = rng.sample(NAMES, n)
        truth = {i: rng.random() < 0.5 for i in range(n)}
        per_person = 2 if level >= 4 else 1
        for _ in range(200):
            statements: list[Statement] = []
            for speaker in range(n):
                others = [o for o in range(n) if o != speaker]
                for _ in range(per_person):
                    while True:
                        s = _statements(rng, speaker, others, names)
                        if s.holds(truth) == truth[speaker]:
                            statements.append(s)
                            break
            if count_solutions(n, statements) == 1:
                break
        else:  # pragma: no cover - 200 draws without a unique puzzle has not been seen
            raise RuntimeError("could not make a puzzle with a unique solution")
        said = " ".join(f'{names[s.speaker]} says: "{s.text}"' for s in statements)
        question = (
            f"On an island, knights always tell the truth and knaves always lie. You meet "
            f"{n} islanders: {', '.join(names[:-1])} and {names[-1]}. {said} Who are the knights?"
        )
        knights = sorted(names[i] for i in range(n) if truth[i])
        answer = ", ".join(knights) if knights else "none"
        return Content(question, answer, {"people": n, "statements": len(statements)})

    def check(self, gold: str, pred: str | None, data: dict[str, Any]) -> bool:
        if pred is None:
            return False
        canonical = extract_answer(f"Answer: {pred}", "names")
        return canonical is not None and canonical == gold

    def space(self, level: int) -> int:
        return 10**7
