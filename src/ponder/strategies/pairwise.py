"""`pairwise`: a pairwise judge. Every two candidates are compared on each criterion of the rubric,
in both orders, and a Bradley–Terry fit over the comparisons ranks all N.

One judge call per ordered pair and criterion: N(N−1)·C calls for N candidates and C criteria
(the count grows as N²: keep N small; a study here uses N ≤ 4). The pairs are in flight together,
each pair's criteria in turn, so the engine's prefix cache reads the two texts once per order.
Each call reads the task, "Text A" and "Text B" and one criterion, and answers with one letter.
P(first) is read off the judge's first token: the mass of "A" over that of "A" and "B" among its
likeliest alternatives; where the backend gives no logprobs, or neither letter is among them, the
judge's reply is parsed (A: 1, B: 0), and where it names neither the call counts for nothing.

Position bias cancels: i's preference over j on a criterion is the mean of P(i first wins) with
i shown first and 1 − P(first wins) with j shown first. Its size is kept: each call's P(first) is
in `details`, and `position_bias` is their mean less 1/2 (positive: the judge favours the text it
reads first). The preference over the rubric is the criteria's weighted mean; the Bradley–Terry
strengths (`bradley_terry`) are fitted to these soft wins, and a candidate's score is its log
strength. A candidate without an answer, where another has one, is not compared and scores −inf;
so does one whose every comparison went unread (the judge named neither text, or a limit refused it).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
from collections.abc import Sequence
from typing import Any

from ponder.limits import LimitReached
from ponder.rubric import Criterion
from ponder.strategies.base import Context
from ponder.strategies.pooling import Scored, ScorePassInfo, register_score_pass
from ponder.strategies.rubric_judge import rubric_of, to_judge
from ponder.strategies.verify import JUDGE, TOP
from ponder.types import Candidate, Message, Problem, Sample

SYSTEM = (
    "You compare two texts written for the same task, on one criterion. Reply with one letter: "
    "A if Text A meets the criterion better, B if Text B does."
)
ASK = (
    "Task:\n{task}\n\nText A:\n{a}\n\nText B:\n{b}\n\nCriterion: {description}\n"
    "Which text meets this criterion better? Reply A or B."
)
METHOD_LOGPROBS = "pairwise: P(first) from the judge's first-token logprobs, both orders, Bradley-Terry"
METHOD_REPLY = "pairwise: the judge's letter parsed from its reply, both orders, Bradley-Terry"
PRIOR = 0.5  # pseudo-comparisons each way per pair, half won: keeps strengths finite (all wins)
_LETTER = re.compile(r"\b([AB])\b")


def p_first(sample: Sample) -> float | None:
    """P(A | A or B) from the first token's alternatives; None where neither letter is there."""
    a = b = 0.0
    for token, logprob in sample.first_top:
        word = token.strip().strip(".,:*").upper()
        if word == "A":
            a += math.exp(logprob)
        elif word == "B":
            b += math.exp(logprob)
    return a / (a + b) if a + b > 0 else None


def parse_letter(text: str) -> float | None:
    found = _LETTER.search(text.strip().upper())
    return None if found is None else (1.0 if found.group(1) == "A" else 0.0)


def bradley_terry(wins: Sequence[Sequence[float]], iterations: int = 200) -> list[float]:
    """Log strengths θ (mean 0) of the Bradley–Terry model P(i beats j) = σ(θ_i − θ_j), fitted by
    Hunter's (2004) MM updates to soft win counts `wins[i][j]` (i over j), with `PRIOR`
    pseudo-comparisons per pair so that a candidate that won every comparison stays finite."""
    n = len(wins)
    if n == 0:
        return []
    w = [[wins[i][j] + (PRIOR / 2 if i != j else 0.0) for j in range(n)] for i in range(n)]
    pi = [1.0] * n
    for _ in range(iterations):
        new = []
        for i in range(n):
            games = sum((w[i][j] + w[j][i]) / (pi[i] + pi[j]) for j in range(n) if j != i)
            new.append(sum(w[i][j] for j in range(n) if j != i) / games if games > 0 else pi[i])
        scale = math.exp(sum(math.log(x) for x in new) / n)
        pi = [x / scale for x in new]
    return [math.log(x) for x in pi]


def messages(problem: Problem, first: str, second: str, c: Criterion) -> list[Message]:
    ask = ASK.format(task=problem.question, a=first.strip(), b=second.strip(), description=c.description)
    return [Message("system", SYSTEM), Message("user", ask)]


async def ask_order(
    problem: Problem, first: str, second: str, c: Criterion, ctx: Context, index: int
) -> tuple[float | None, str]:
    """P(the first text wins) on one criterion, and how it was read."""
    prompt = messages(problem, first, second, c)
    if ctx.bound().backend.capabilities.logprobs:
        (sample,) = await ctx.generate(
            prompt, 1, temperature=0.0, max_tokens=1, top_logprobs=TOP, seed_offset=index
        )
        found = p_first(sample)
        if found is not None:
            return found, METHOD_LOGPROBS
    (reply,) = await ctx.generate(prompt, 1, temperature=0.0, max_tokens=3, seed_offset=index)
    return parse_letter(reply.text), METHOD_REPLY


def position_bias(details: Sequence[dict[str, Any] | None]) -> float | None:
    """The mean P(first) over every ordered comparison of a pass, less 1/2."""
    firsts = [p for d in details if d for per in d["first"].values() for p in per if p is not None]
    return sum(firsts) / len(firsts) - 0.5 if firsts else None


async def pairwise_pass(problem: Problem, candidates: Sequence[Candidate], ctx: Context) -> Scored:
    rubric = rubric_of(problem)
    judge = ctx.child(role=JUDGE)
    todo = to_judge(candidates)
    first: dict[tuple[int, int, int], float | None] = {}
    methods: set[str] = set()
    refused = 0

    async def compare(i: int, j: int, index: int) -> None:
        """One ordered pair, its criteria in turn (they share the pair's prompt up to the last lines,
        which the engine's prefix cache then reads once)."""
        nonlocal refused
        for k, c in enumerate(rubric.criteria):
            try:
                first[i, j, k], method = await ask_order(
                    problem, candidates[i].text, candidates[j].text, c, judge, index * 64 + k
                )
                methods.add(method)
            except LimitReached:
                refused += 1
                first[i, j, k] = None

    await asyncio.gather(*(compare(i, j, n) for n, (i, j) in enumerate(itertools.permutations(todo, 2))))
    n = len(candidates)
    wins = [[0.0] * n for _ in range(n)]
    for i, j in itertools.combinations(todo, 2):
        weight = got = 0.0
        for k, c in enumerate(rubric.criteria):
            shown_first, shown_second = first[i, j, k], first[j, i, k]
            reads = [
                p for p in (shown_first, None if shown_second is None else 1 - shown_second) if p is not None
            ]
            if reads:
                got += c.weight * sum(reads) / len(reads)
                weight += c.weight
        if weight > 0:
            wins[i][j], wins[j][i] = got / weight, 1 - got / weight
    theta = bradley_terry([[wins[a][b] for b in todo] for a in todo]) if todo else []
    # A candidate no comparison was read for (a judge that named neither text, a limit) is unjudged:
    # −inf, as the rubric judge scores one with no criterion scored, not the prior's even strength.
    read = {x for (i, j, _), p in first.items() if p is not None for x in (i, j)}
    scores = [float("-inf")] * n
    for i, t in zip(todo, theta, strict=True):
        if len(todo) < 2 or i in read:
            scores[i] = t
    details: list[dict[str, Any] | None] = [None] * n
    for i in todo:
        details[i] = {
            "vs": {str(j): wins[i][j] for j in todo if j != i},
            # P(i wins) with i shown first, per opponent, one entry per criterion
            "first": {str(j): [first[i, j, k] for k in range(len(rubric.criteria))] for j in todo if j != i},
        }
    bias = position_bias(details)
    notes = [] if bias is None else [f"pairwise: position bias {bias:+.2f} (mean P(first) − 1/2)"]
    if refused:
        judge.stop(f"the limit refused {refused} judge call(s)")
        notes.append(f"pairwise: the limit refused the judge on {refused} comparison(s), left out")
    unread = sum(1 for v in first.values() if v is None) - refused
    if unread:
        notes.append(f"pairwise: {unread} comparison(s) named neither text, left out")
    method = " and ".join(sorted(methods)) if methods else "no two answered candidates to compare"
    return Scored(scores, method, notes=notes, details=details)


register_score_pass(ScorePassInfo("pairwise", pairwise_pass, roles=(JUDGE,), runs_code=False))
