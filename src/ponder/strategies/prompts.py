"""The prompts strategies send: a style (how to think) and the problem's own answer instruction.

The instruction comes from the problem (a task family states what form its answer takes, for example
"End with 'Answer: <number>'"), so the extractor and the prompt always agree.

A style that reasons (`COT`, and program of thought) also restates, after the question, that the
reasoning comes first and the answer line last. Questions from outside suites often end "only reply
with the final value"; under the system message alone a small model obeys the question's last words
and answers at once (measured in docs/strategies.md: the 0.5B model reasoned on almost no such
question). The reminder comes last because the last words of the prompt are the ones it follows.

A problem whose answer is a written text (`answer_format` "text": the whole reply is the answer)
is not asked to reason first, whatever the style: reasoning would become part of the text. A
reasoning style then gets `WRITE` as its system message; the extra compute such a problem gets is
in more drafts (`bon`) and in revision (`revise`), not in a chain of thought before the text.
"""

from __future__ import annotations

from dataclasses import dataclass

from ponder.types import Message, Problem

REASON_FIRST = (
    "Whatever the question says about the form of the reply, reason step by step first; "
    "only then, at the end: {instruction}"
)


@dataclass(frozen=True)
class Style:
    """How to think: the system message's opening, and whether a reminder follows the question
    (`reminder`, with the problem's instruction in place of `{instruction}`: by default
    `REASON_FIRST`; a program of thought's asks for the program first)."""

    system: str
    reason_first: bool = False
    reminder: str = REASON_FIRST

    def __str__(self) -> str:
        return self.system


DIRECT = Style("Answer the question without explaining. Reply with the final answer only.")
COT = Style("Solve the problem step by step, showing your reasoning.", reason_first=True)
WRITE = "Write what the task asks for, keeping every rule it states."


def messages(style: Style, problem: Problem) -> list[Message]:
    question = problem.question
    if style.reason_first and problem.answer_format == "text":
        return [Message("system", f"{WRITE} {problem.instruction}"), Message("user", question)]
    if style.reason_first:
        question = f"{question}\n\n{style.reminder.format(instruction=problem.instruction)}"
    return [Message("system", f"{style.system} {problem.instruction}"), Message("user", question)]
