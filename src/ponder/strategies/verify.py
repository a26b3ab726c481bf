"""`verify`: a generative verifier. The judge role reads the problem and one candidate and is asked
whether it is correct; the candidate's score is P(yes).

P(yes) is read off the judge's first token: the probability mass of the yes-words among its likeliest
alternatives (`top_logprobs`, five of them), over the mass of the yes- and no-words together, so the
score is a probability in [0, 1] whatever else the judge might have said. Where the backend gives no
logprobs, or neither word is among those alternatives, the judge is asked again for a 0-10 grade,
parsed from its reply and divided by 10; the result's `method` says which way each pool was scored. A
candidate without an answer is not judged (it cannot win a selection that prefers answers) and
scores −inf.

All of a pool's judge calls go to the engine together (the judge's calls share its slots rather than
waiting one after another); each is a call of its own in the ledger, under the judge role, in one
child context (`judge calls` in the result's tree). The judge never sees the gold answer: it has
the problem as the strategy has it.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Sequence

from ponder.limits import LimitReached
from ponder.strategies.base import Context
from ponder.strategies.pooling import Scored, ScorePassInfo, register_score_pass
from ponder.types import Candidate, Message, Problem, Sample

JUDGE = "judge"
TOP = 5  # alternatives read at the judge's first token (the most some servers allow)
YES = frozenset({"yes", "y", "correct", "true", "right"})
NO = frozenset({"no", "n", "incorrect", "false", "wrong"})
BY_LOGPROBS = "P(yes) from the judge's first-token logprobs"
BY_GRADE = "a 0-10 grade parsed from the judge's reply, over 10 (no yes/no logprobs)"

SYSTEM = (
    "You check solutions to problems. Read the problem and the proposed solution, check each step "
    "and the final answer, and reply with one word: Yes if the solution is correct, No if it is not."
)
ASK = (
    "Problem:\n{question}\n\nProposed solution:\n{solution}\n\n"
    "Is the proposed solution correct? Reply Yes or No."
)
GRADE_SYSTEM = (
    "You check solutions to problems. Grade the proposed solution from 0 (certainly wrong) to 10 "
    "(certainly correct). Reply with the number only."
)
GRADE_ASK = "Problem:\n{question}\n\nProposed solution:\n{solution}\n\nGrade (0-10):"


def p_yes(sample: Sample) -> float | None:
    """P(yes | yes or no) from the first token's alternatives; None where neither word is among them."""
    yes = no = 0.0
    for token, logprob in sample.first_top:
        word = token.strip().strip(".,:!").lower()
        if word in YES:
            yes += math.exp(logprob)
        elif word in NO:
            no += math.exp(logprob)
    return yes / (yes + no) if yes + no > 0 else None


def grade(text: str) -> float | None:
    """The first integer 0-10 of a reply, over 10; None where there is none."""
    found = re.search(r"\b(10|[0-9])\b", text)
    return int(found.group(1)) / 10 if found else None


def _messages(system: str, ask: str, problem: Problem, candidate: Candidate) -> list[Message]:
    return [
        Message("system", system),
        Message("user", ask.format(question=problem.question, solution=candidate.text.strip())),
    ]


async def ask_judge(
    ctx: Context, yes_no: Sequence[Message], graded: Sequence[Message], index: int
) -> tuple[float, str]:
    """The judge's P(yes) to the `yes_no` prompt, else its 0-10 grade to the `graded` prompt over 10,
    else −inf; and which way it was found. Shared by `verify` and the step judge of a search."""
    if ctx.bound().backend.capabilities.logprobs:
        (sample,) = await ctx.generate(
            yes_no,
            1,
            temperature=0.0,
            max_tokens=1,
            top_logprobs=TOP,
            seed_offset=index,
        )
        score = p_yes(sample)
        if score is not None:
            return score, BY_LOGPROBS
    (reply,) = await ctx.generate(graded, 1, temperature=0.0, max_tokens=4, seed_offset=index)
    found = grade(reply.text)
    return (found, BY_GRADE) if found is not None else (float("-inf"), BY_GRADE)


async def _judge_one(problem: Problem, candidate: Candidate, ctx: Context, index: int) -> tuple[float, str]:
    yes_no = _messages(SYSTEM, ASK, problem, candidate)
    return await ask_judge(ctx, yes_no, _messages(GRADE_SYSTEM, GRADE_ASK, problem, candidate), index)


async def verify(problem: Problem, candidates: Sequence[Candidate], ctx: Context) -> Scored:
    """Each answered candidate's P(yes) (or grade), its judge calls in flight together."""
    judge = ctx.child(role=JUDGE)
    todo = [i for i, c in enumerate(candidates) if c.answer is not None]
    # Every judge call finishes (and is recorded) before the pass returns, even where the limit
    # refused some: those candidates go unscored and the context says it was stopped.
    found = await asyncio.gather(
        *(_judge_one(problem, candidates[i], judge, i) for i in todo), return_exceptions=True
    )
    scores = [float("-inf")] * len(candidates)
    methods = set()
    refused: list[LimitReached] = []
    for i, outcome in zip(todo, found, strict=True):
        if isinstance(outcome, LimitReached):
            refused.append(outcome)
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            scores[i], method = outcome
            methods.add(method)
    unscored = sum(1 for i in todo if scores[i] == float("-inf")) - len(refused)
    notes = [f"verify: {unscored} candidate(s) got neither yes/no nor a grade"] if unscored else []
    if refused:
        judge.stop(str(refused[0]))
        notes.append(f"verify: the limit refused the judge on {len(refused)} candidate(s), left unscored")
    method = " and ".join(sorted(methods)) if methods else "no answered candidate to judge"
    return Scored(scores, method, notes=notes)


register_score_pass(ScorePassInfo("verify", verify, roles=(JUDGE,), runs_code=False))
