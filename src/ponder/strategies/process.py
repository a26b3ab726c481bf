"""The process scorer of a step-level search: how likely the steps written so far are right.

The judge role's model decides which kind scores:
- a language model (by default the policy model itself) is a step judge: it reads the problem and the
  steps so far and is asked whether they are correct; the score is its P(yes) from the first token's
  top logprobs, else a 0-10 grade over 10, exactly as `verify` reads a judge (`verify.ask_judge`);
- a process reward model served over HTTP (`prm:URL`, `ponder.backends.prm`) scores (question,
  steps) itself. Each of its calls is recorded in the judge's ledger like a model call (one call, its
  wall seconds, the prompt tokens the server reports, else 0), admitted by the question's limit like
  one; its FLOPs and dollars are not counted (its size and price are unknown) and the result says so.

The prompt puts the steps last but for the closing question, so the step judge's prompt for a beam
extends the one it read for the beam's parent and the engine's prefix cache serves that part too.
The judge never sees a gold answer: it has the problem as the strategy has it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ponder.backends.prm import PRMBackend
from ponder.strategies.base import Context
from ponder.strategies.verify import ask_judge
from ponder.types import Generation, Message, Problem

STEP_SYSTEM = (
    "You check partial solutions to problems. Read the problem and the steps written so far, check "
    "each step, and reply with one word: Yes if every step so far is correct, No if any step is wrong."
)
STEP_ASK = "Problem:\n{question}\n\nSteps so far:\n{steps}\n\nAre the steps so far correct? Reply Yes or No."
STEP_GRADE_SYSTEM = (
    "You check partial solutions to problems. Grade the steps written so far from 0 (certainly wrong) "
    "to 10 (certainly correct). Reply with the number only."
)
STEP_GRADE_ASK = "Problem:\n{question}\n\nSteps so far:\n{steps}\n\nGrade (0-10):"


def by_prm(model: str) -> str:
    return f"the process reward model's score ({model})"


def _messages(system: str, ask: str, problem: Problem, steps: Sequence[str]) -> list[Message]:
    shown = "\n\n".join(s.strip() for s in steps)
    return [Message("system", system), Message("user", ask.format(question=problem.question, steps=shown))]


async def score_steps(
    problem: Problem, steps: Sequence[str], judge: Context, index: int
) -> tuple[float, str]:
    """The score of a partial solution (higher: more likely right) and how it was found; −inf where
    the step judge gave neither yes/no nor a grade."""
    bound = judge.bound()
    if not isinstance(bound.backend, PRMBackend):
        yes_no = _messages(STEP_SYSTEM, STEP_ASK, problem, steps)
        graded = _messages(STEP_GRADE_SYSTEM, STEP_GRADE_ASK, problem, steps)
        return await ask_judge(judge, yes_no, graded, index)
    # The same admission and record as `Context.generate` gives a model call.
    allowed = 1 if judge.spend is None else await judge.spend.admit(1, 1)
    try:
        scored = await bound.backend.score(problem.question, steps)
        judge.ledger.record(
            Generation([], scored.prompt_tokens, 0, 0, scored.wall_seconds),
            role=judge.role,
            model=bound.model,
            n=1,
            compute_parameters=bound.compute_parameters,
            local_cores=0,
        )
    finally:
        if judge.spend is not None:
            await judge.spend.release(1, allowed)
    judge.ledger.note(f"dollars of {bound.model} not counted: a process reward model has no price")
    return scored.score, by_prm(bound.model)
