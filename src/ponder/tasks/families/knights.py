"""`knights`: knights and knaves. Knights always tell the truth, knaves always lie.

Level L has L+2 islanders, each making one statement about the others (from level 4, some make two).
Statements are drawn until exactly one assignment of knights and knaves is consistent, found by a
backtracking search with propagation that stops at the second solution. Names come from a fixed
list, then made-up ones (`common.people`), so the level has no ceiling. The answer is the set of knights.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ponder.answers.extract import extract_answer
from ponder.tasks.base import Content
from ponder.tasks.families.common import out_of_reach, people

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
    """Consistent assignments (a speaker is a knight iff their statement holds), up to `limit`.

    Backtracking with propagation: a statement with one islander left undecided often allows only one
    kind for them, which is then forced. Hundreds of islanders take milliseconds, where a plain search
    in order took minutes at a hundred."""
    watching: dict[int, list[Statement]] = {i: [] for i in range(n)}
    for s in statements:
        for v in {s.speaker, *s.about}:
            watching[v].append(s)
    world: Assignment = {}

    def consistent(s: Statement) -> bool:
        return world[s.speaker] == s.holds(world)

    def assign(var: int, value: bool, trail: list[int]) -> bool:
        """Set var and whatever that forces; False on a contradiction (`trail` lists what was set)."""
        queue = [(var, value)]
        while queue:
            v, val = queue.pop()
            if v in world:
                if world[v] != val:
                    return False
                continue
            world[v] = val
            trail.append(v)
            for s in watching[v]:
                free = [u for u in {s.speaker, *s.about} if u not in world]
                if not free and not consistent(s):
                    return False
                if len(free) == 1:
                    u = free[0]
                    allowed = []
                    for kind in (True, False):
                        world[u] = kind
                        if consistent(s):
                            allowed.append(kind)
                    del world[u]
                    if not allowed:
                        return False
                    if len(allowed) == 1:
                        queue.append((u, allowed[0]))
        return True

    found = 0

    def search() -> None:
        nonlocal found
        var = next((v for v in range(n) if v not in world), None)
        if var is None:
            found += 1
            return
        for value in (True, False):
            trail: list[int] = []
            if assign(var, value, trail):
                search()
            for v in trail:
                del world[v]
            if found >= limit:
                return

    search()
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
        names = people(rng, n)
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
        else:
            raise out_of_reach(self.name, level, "200 draws made no puzzle with a unique solution")
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
