"""Task items and families: the protocol every procedural family and static benchmark follows.

A family turns (level, a random generator) into one problem with its exact answer. Levels start at 1
and have no maximum: a higher level changes the problem's structure (more steps, more operands, more
distractors), and the family reports that structure in `Item.structure` so tests can measure it.
Each family states its own instruction (what the model is told about the answer's form) and answer
format (how the answer is extracted), and its own oracle, which alone sees the gold answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Protocol

from ponder.types import Problem

# A code answer is complete when its block closes: the model's explanation after it is paid for and
# unread. The engine drops the stop string, so the block is left open; extraction accepts that.
CODE_STOP = ("\n```\n",)
NUMBER_INSTRUCTION = "Give the final answer on its own last line, in the form 'Answer: <number>'."


@dataclass(frozen=True)
class Content:
    """What a family generates: the question, the gold answer, and the size of its structure."""

    question: str
    answer: str
    structure: dict[str, int]
    data: dict[str, Any] = field(default_factory=dict)  # what the oracle needs beyond the answer


@dataclass(frozen=True)
class Item:
    """One problem of a suite, with its gold answer (for oracles) and where it came from."""

    id: str
    family: str
    level: int | None
    split: str
    question: str
    answer: str
    instruction: str
    answer_format: str
    structure: dict[str, int] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def problem(self) -> Problem:
        """The problem a strategy sees (the gold stays with the item, for the oracle), with the
        family's rubric where it states one (`Family.rubric(data)`: the task's own rules)."""
        from ponder.tasks.registry import FAMILIES

        rubric_of = getattr(FAMILIES.get(self.family), "rubric", None)
        return Problem(
            question=self.question,
            id=self.id,
            answer_format=self.answer_format,
            instruction=self.instruction,
            stop=CODE_STOP if self.answer_format == "code" else (),
            rubric=rubric_of(self.data) if rubric_of is not None else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "family": self.family,
            "level": self.level,
            "split": self.split,
            "question": self.question,
            "answer": self.answer,
            "instruction": self.instruction,
            "answer_format": self.answer_format,
            "structure": dict(self.structure),
            "data": dict(self.data),
        }


class Family(Protocol):
    name: str
    description: str
    instruction: str
    answer_format: str

    def generate(self, rng: random.Random, level: int) -> Content: ...

    def check(self, gold: str, pred: str | None, data: dict[str, Any]) -> bool:
        """The oracle: is `pred` (already extracted) a correct answer, given the gold answer and data?"""
        ...

    def space(self, level: int) -> int:
        """A lower bound on the number of distinct items at `level` (for split and repeat guarantees)."""
        ...
