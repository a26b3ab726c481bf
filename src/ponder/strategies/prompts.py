"""The prompts strategies send: a style (how to think) and the problem's own answer instruction.

The instruction comes from the problem (a task family states what form its answer takes, for example
"End with 'Answer: <number>'"), so the extractor and the prompt always agree.
"""

from __future__ import annotations

from ponder.types import Message, Problem

DIRECT = "Answer the question without explaining. Reply with the final answer only."
COT = "Solve the problem step by step, showing your reasoning."


def messages(style: str, problem: Problem) -> list[Message]:
    return [Message("system", f"{style} {problem.instruction}"), Message("user", problem.question)]
