"""`revise@R`: draft, critique, revise, for R rounds (after Self-Refine, Madaan et al. 2023).

    revise@R[:stop=true][:critique_tokens=K][:temperature=T]

1. Draft: one chain of thought (the `cot` prompt), greedy unless a temperature is set; inside
   `vote@4(revise@1)` the vote's temperature applies, so the four drafts differ.
2. Critique: the judge role (the policy's model unless `--judge` names another) reads the problem
   and the current draft, never the earlier rounds, and writes a short review (at most K tokens,
   greedy) that ends "Verdict: correct" or "Verdict: incorrect".
3. Revise: the policy continues its own conversation: the question, its draft as its turn, the
   review as the next user turn; it writes the whole solution again. The conversation grows every
   round, so each revision reads a longer prompt: completion tokens hide that cost, FLOPs show it,
   and the engine's prefix cache serves the part it has seen (`cached_prompt_tokens`).
With `stop=true`, a critique whose verdict is "correct" ends the loop: that draft stands, and the
rounds not run cost nothing. The answer is the last draft's (where it has none, the latest draft's
that has one); every draft is a candidate, in order, and each critique is a `judge calls` child in
the result's tree. A limit that refuses a later call ends the strategy with the latest draft.

With `rubric=true` the critique is against the problem's rubric (a writing task's rules and a
reader's criteria, else `ponder.rubric.DEFAULT`): the critic goes through the criteria one by one,
says for each whether the draft meets it and what to change, and its verdict is "correct" only
where every one is met. Where the answer is a written text (`answer_format` "text"), the reviser
is asked for the whole text again, not a solution step by step.
"""

from __future__ import annotations

import re

from ponder.answers import extract_answer
from ponder.strategies import prompts
from ponder.strategies.base import Context, Key, Strategy, StrategyInfo, register
from ponder.strategies.rubric_judge import rubric_of
from ponder.strategies.sampling import TEMPERATURE, to_candidate
from ponder.strategies.verify import JUDGE
from ponder.types import Candidate, Message, Problem, Result, Sample

CRITIQUE_TOKENS = 192

CRITIC_SYSTEM = (
    "You review solutions to problems. Check the proposed solution step by step: the reading of "
    "the problem, each calculation, the final answer. Point out each mistake briefly. End with a line "
    "'Verdict: correct' if the solution is right, or 'Verdict: incorrect' if it is not."
)
CRITIC_ASK = "Problem:\n{question}\n\nProposed solution:\n{solution}\n\nReview it, then give your verdict."
REVISE_ASK = (
    "A reviewer checked your solution:\n\n{critique}\n\n"
    "Write the complete solution again, step by step, fixing every mistake the review found and "
    "keeping what was right. {reminder}"
)
RUBRIC_SYSTEM = (
    "You review a text written for a task, against a list of criteria. Go through the criteria in "
    "order: for each, say in a few words whether the text meets it and, if not, what to change. "
    "End with a line 'Verdict: correct' if the text meets every criterion, or 'Verdict: incorrect' "
    "if it misses any."
)
RUBRIC_ASK = (
    "Task:\n{question}\n\nText:\n{solution}\n\nCriteria:\n{criteria}\n\nReview it, then give your verdict."
)
REWRITE_ASK = (
    "A reviewer checked your text:\n\n{critique}\n\n"
    "Write the complete text again, fixing everything the review found and keeping what was right. "
    "{reminder}"
)
_VERDICT = re.compile(r"verdict\W*(incorrect|not correct|wrong|correct|right)", re.IGNORECASE)


def verdict(critique: str) -> bool | None:
    """The critique's last verdict: True (correct), False (incorrect), None where it gives none."""
    found = _VERDICT.findall(critique)
    if not found:
        return None
    return found[-1].lower() in ("correct", "right")


def critic_messages(problem: Problem, draft: str, rubric: bool = False) -> list[Message]:
    if rubric:
        criteria = "\n".join(f"- {c.description}" for c in rubric_of(problem).criteria)
        ask = RUBRIC_ASK.format(question=problem.question, solution=draft.strip(), criteria=criteria)
        return [Message("system", RUBRIC_SYSTEM), Message("user", ask)]
    return [
        Message("system", CRITIC_SYSTEM),
        Message("user", CRITIC_ASK.format(question=problem.question, solution=draft.strip())),
    ]


def revision_turn(problem: Problem, critique: str) -> Message:
    if problem.answer_format == "text":
        return Message("user", REWRITE_ASK.format(critique=critique.strip(), reminder=problem.instruction))
    reminder = prompts.REASON_FIRST.format(instruction=problem.instruction)
    return Message("user", REVISE_ASK.format(critique=critique.strip(), reminder=reminder))


def revise(
    *,
    spec: str,
    n: int,
    stop: bool = False,
    critique_tokens: int = CRITIQUE_TOKENS,
    temperature: float | None = None,
    rubric: bool = False,
) -> Strategy:
    async def run(problem: Problem, ctx: Context) -> Result:
        t = temperature if temperature is not None else ctx.temperature
        t = 0.0 if t is None else t
        conversation = prompts.messages(prompts.COT, problem)
        drafts: list[tuple[Sample, str | None]] = []
        verdicts: list[bool | None] = []

        def chosen() -> str | None:
            return next((a for _, a in reversed(drafts) if a is not None), None)

        def candidates() -> list[Candidate]:
            return [to_candidate(s, a, None) for s, a in drafts]

        async def write(messages: list[Message], offset: int) -> Sample:
            (sample,) = await ctx.generate(messages, 1, temperature=t, stop=problem.stop, seed_offset=offset)
            drafts.append((sample, extract_answer(sample.text, problem.answer_format)))
            ctx.keep(chosen(), candidates(), scorer="last draft")
            return sample

        draft = await write(conversation, 0)
        for r in range(n):
            critic = ctx.child(role=JUDGE)
            (review,) = await critic.generate(
                critic_messages(problem, draft.text, rubric), 1, temperature=0.0, max_tokens=critique_tokens
            )
            verdicts.append(verdict(review.text))
            if stop and verdicts[-1] is True:
                break
            conversation = [
                *conversation,
                Message("assistant", draft.text),
                revision_turn(problem, review.text),
            ]
            draft = await write(conversation, r + 1)
        said = ", ".join({True: "correct", False: "incorrect", None: "no verdict"}[v] for v in verdicts)
        notes = [f"revise: {len(drafts) - 1} revision(s) after {len(verdicts)} critique(s) ({said})"]
        answer = chosen()
        votes = {answer: 1} if answer is not None else {}
        return ctx.result(
            answer=answer,
            strategy=spec,
            candidates=candidates(),
            votes=votes,
            scorer="last draft",
            notes=notes,
        )

    return run


register(
    StrategyInfo(
        "revise",
        "draft, critique (judge role), revise, for R rounds, e.g. revise@2:stop=true",
        revise,
        {
            "stop": Key(bool, False, "end early when the critique's verdict is 'correct'"),
            "critique_tokens": Key(int, CRITIQUE_TOKENS, "the most tokens a critique may take", low=1),
            "temperature": TEMPERATURE,
            "rubric": Key(bool, False, "critique against the problem's rubric, criterion by criterion"),
        },
        budget=True,
        default_n=1,
        counts="rounds",
        roles=("policy", JUDGE),
        runs_code=False,
    )
)
