"""The prompts strategies send. Each names the answer format the extractor then reads."""

from __future__ import annotations

from ponder.types import Message, Problem

DIRECT = (
    "Answer the question. Reply with only the final answer on one line, in the form 'Answer: <answer>'."
)
COT = (
    "Solve the problem step by step, showing your reasoning. "
    "Then give the final answer on its own last line, in the form 'Answer: <answer>'."
)


def messages(system: str, problem: Problem) -> list[Message]:
    return [Message("system", system), Message("user", problem.question)]
