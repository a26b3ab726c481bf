"""`rubric`: a pointwise judge. The judge role scores each candidate on each criterion of a rubric,
with a short justification first, and the candidate's score is the rubric's weighted total on [0, 1].

One judge call per candidate and criterion: the candidates in flight together, each one's criteria
in turn, so that the engine's prefix cache reads the task and the text once per candidate (they
are every criterion's prompt but its last lines). Each call reads the task, the candidate's text
and one criterion with its scale, writes at most `JUSTIFY_TOKENS` tokens of
justification and ends "Score: N"; the last such line is the score, clamped to the scale. A call
that gives no score leaves its criterion out of that candidate's total (a note counts them); a
candidate with no criterion scored scores −inf, as one without an answer does where another has
one (it is not judged: `to_judge`).

The rubric is the problem's (a writing task's rules, then a reader's criteria), else
`ponder.rubric.DEFAULT`. The judge never sees a gold answer: only the task as the strategy has it.
Each candidate's per-criterion scores and justifications are kept (`Scored.details`), so a study
can compare the judge's verdict on a rule with the program's (`ponder.lab.judging`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

from ponder.limits import LimitReached
from ponder.rubric import DEFAULT, Criterion, Rubric
from ponder.strategies.base import Context
from ponder.strategies.pooling import Scored, ScorePassInfo, register_score_pass
from ponder.strategies.verify import JUDGE
from ponder.types import Candidate, Message, Problem

JUSTIFY_TOKENS = 64
SYSTEM = (
    "You grade a text against one criterion. Read the task and the text, write one short sentence "
    "that justifies your grade, then give the grade on its own last line as 'Score: N'."
)
ASK = (
    "Task:\n{task}\n\nText:\n{text}\n\nCriterion: {description}\n"
    "Scale: {low} ({low_word}) to {high} ({high_word}).\n"
    "Justify in one sentence, then write 'Score: N'."
)
_SCORE = re.compile(r"score\W{0,3}(-?\d+)", re.IGNORECASE)
METHOD = "rubric: each criterion scored by the judge after a one-sentence justification"


def rubric_of(problem: Problem) -> Rubric:
    return problem.rubric if problem.rubric is not None else DEFAULT


def to_judge(candidates: Sequence[Candidate]) -> list[int]:
    """The candidates a judge reads: those with an answer, or, where none has one (a free-form reply
    that no extractor reads), every one with text."""
    answered = [i for i, c in enumerate(candidates) if c.answer is not None and c.text.strip()]
    return answered or [i for i, c in enumerate(candidates) if c.text.strip()]


def parse_score(reply: str, c: Criterion) -> float | None:
    """The reply's last 'Score: N', clamped to the criterion's scale; None where it gives none."""
    found = _SCORE.findall(reply)
    if not found:
        return None
    low, high = c.scale
    return float(min(max(int(found[-1]), low), high))


def messages(problem: Problem, text: str, c: Criterion) -> list[Message]:
    low_word, high_word = ("it is not met", "it is met") if c.scale == (0, 1) else ("poor", "excellent")
    ask = ASK.format(
        task=problem.question,
        text=text.strip(),
        description=c.description,
        low=c.scale[0],
        high=c.scale[1],
        low_word=low_word,
        high_word=high_word,
    )
    return [Message("system", SYSTEM), Message("user", ask)]


async def judge_criterion(
    problem: Problem, text: str, c: Criterion, ctx: Context, index: int
) -> tuple[float | None, str]:
    """One criterion's score (None: the judge gave none) and the judge's reply."""
    (reply,) = await ctx.generate(
        messages(problem, text, c), 1, temperature=0.0, max_tokens=JUSTIFY_TOKENS, seed_offset=index
    )
    return parse_score(reply.text, c), reply.text.strip()


async def judge_text(
    problem: Problem, text: str, rubric: Rubric, ctx: Context, index: int = 0
) -> dict[str, Any]:
    """Every criterion of one text, in turn: {"scores": {name: score or None},
    "why": {name: reply}, "refused": criteria a limit refused}."""
    scores: dict[str, float | None] = {}
    why: dict[str, str] = {}
    refused = 0
    for k, c in enumerate(rubric.criteria):
        try:
            scores[c.name], why[c.name] = await judge_criterion(problem, text, c, ctx, index * 64 + k)
        except LimitReached:
            refused += 1
            scores[c.name] = None
    return {"scores": scores, "why": why, "refused": refused}


async def rubric_pass(problem: Problem, candidates: Sequence[Candidate], ctx: Context) -> Scored:
    """Each answered candidate's rubric total; the per-criterion scores in `details`."""
    rubric = rubric_of(problem)
    judge = ctx.child(role=JUDGE)
    todo = to_judge(candidates)
    judged = await asyncio.gather(*(judge_text(problem, candidates[i].text, rubric, judge, i) for i in todo))
    scores = [float("-inf")] * len(candidates)
    details: list[dict[str, Any] | None] = [None] * len(candidates)
    missing = refused = 0
    for i, d in zip(todo, judged, strict=True):
        total = rubric.total(d["scores"])
        scores[i] = total if total is not None else float("-inf")
        details[i] = d
        refused += d["refused"]
        missing += sum(s is None for s in d["scores"].values()) - d["refused"]
    notes = [f"rubric: {missing} criterion score(s) not given by the judge, left out"] if missing else []
    if refused:
        judge.stop(f"the limit refused {refused} judge call(s)")
        notes.append(f"rubric: the limit refused the judge on {refused} criterion score(s), left out")
    return Scored(scores, METHOD, notes=notes, details=details)


register_score_pass(ScorePassInfo("rubric", rubric_pass, roles=(JUDGE,), runs_code=False))
