"""The prompts: a reasoning style restates after the question that the reasoning comes first and the
problem's own answer instruction last, whatever the question says; a direct answer does not."""

from __future__ import annotations

from ponder.strategies import prompts
from ponder.types import Problem

WORDED = Problem("What is 17 × 3? Only reply with the final value.", instruction="End with 'Answer: <n>'.")


def test_cot_puts_the_reasoning_first_after_the_questions_own_wording() -> None:
    system, user = prompts.messages(prompts.COT, WORDED)
    assert system.role == "system" and system.content.startswith(prompts.COT.system)
    assert user.content.startswith(WORDED.question)  # the question is kept as written
    reminder = user.content.removeprefix(WORDED.question)
    # the last words the model reads ask for reasoning, then the problem's own answer instruction
    assert "reason step by step first" in reminder and reminder.rstrip().endswith(WORDED.instruction)
    assert user.content.index("Only reply") < user.content.index("reason step by step first")


def test_direct_answers_as_asked() -> None:
    system, user = prompts.messages(prompts.DIRECT, WORDED)
    assert user.content == WORDED.question and "Reply with the final answer only" in system.content
