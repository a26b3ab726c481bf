"""`think@T`: budget forcing (Muennighoff et al. 2025, s1): control how long the model thinks.

    think@T[:min=M][:waits=W][:answer_tokens=A][:temperature=X]

The model thinks inside a `<think>` block that ponder opens: the reply is continued from an assistant
turn that starts `<think>` (see docs/backends.md, Continuation), so the same code drives a model
that thinks natively (its own `<think>` blocks, as Qwen3 and DeepSeek-R1 write them) and the
packaged models, which do not think natively: for them the block is a chain of thought opened by
ponder's thinking prompt (`THINK_SYSTEM`), and what they write there is ordinary reasoning.
- Cap: thinking stops at T tokens. Where the model is still thinking, the block is closed for it
  (`</think>`) and the answer is forced: the model continues after the closed block, with at most A
  tokens, from a cue ("Answer:", s1's "Final Answer:"; none for code, whose answer is a block).
  Thinking may span several calls where the session's `max_tokens` is below T; each continues the
  last, so the engine's prefix cache serves the thoughts already written.
- Floor (`min=M`): where the model ends its thinking (writes `</think>` or stops) before M tokens,
  the end is suppressed and "Wait" appended, and it thinks on, at most W times (default 4).
The budget counts every token the thinking calls generate; the ledger's `thinking_tokens` (and the
candidate's) are those the backend attributes to the block, which leaves out the token that closes
it, and are 0 where a backend cannot attribute tokens. The forced answer's tokens are not thinking.
A server with a reasoning parser returns the thoughts as `reasoning_content`: they go into the block
as its text would. The answer is read from the text after the block; where that has none, from
the thoughts, and a note says so.

A server must allow a final assistant message to be continued (vLLM and SGLang do; llama.cpp's server
refuses prefill while a template's thinking is switched on: start it with thinking off). A template
that itself opens `<think>` in the generation prompt would see the block opened twice.
"""

from __future__ import annotations

from ponder.answers import extract_answer
from ponder.backends.thinking import CLOSE, OPEN
from ponder.errors import PonderError
from ponder.strategies.base import Context, Key, Strategy, StrategyInfo, register
from ponder.strategies.sampling import TEMPERATURE
from ponder.types import Candidate, Message, Problem, Result

WAIT = "Wait"
NO_CUE = frozenset({"code", "boxed"})  # answers that are not an answer line: no "Answer:" cue
WAITS = 4
ANSWER_TOKENS = 128

THINK_SYSTEM = (
    "Think the problem through step by step inside <think> and </think>. After </think>, give the "
    "answer. {instruction}"
)


def think_messages(problem: Problem) -> list[Message]:
    return [
        Message("system", THINK_SYSTEM.format(instruction=problem.instruction)),
        Message("user", problem.question),
    ]


def think(
    *,
    spec: str,
    n: int,
    min: int = 0,
    waits: int = WAITS,
    answer_tokens: int = ANSWER_TOKENS,
    temperature: float | None = None,
) -> Strategy:
    floor = min
    if floor > n:
        raise PonderError(f"'{spec}': min={floor} is more than the budget of {n} thinking tokens: lower min")

    async def run(problem: Problem, ctx: Context) -> Result:
        t = temperature if temperature is not None else ctx.temperature
        t = 0.0 if t is None else t
        messages = think_messages(problem)
        thoughts, used, thinking, waited, offset = "", 0, 0, 0, 0
        forced = False
        while used < n:
            prefix = f"{OPEN}\n{thoughts}"
            (s,) = await ctx.generate(
                [*messages, Message("assistant", prefix)],
                1,
                temperature=t,
                stop=(CLOSE,),
                max_tokens=n - used,
                seed_offset=offset,
            )
            offset += 1
            # A server with a reasoning parser returns the new thoughts as reasoning_content
            # (`thoughts`), the text empty: they are the block's all the same.
            thoughts += s.text or s.thoughts
            used += s.completion_tokens
            thinking += s.thinking_tokens  # as the backend attributes them: what the ledger sums
            ctx.keep(extract_answer(thoughts, problem.answer_format), scorer="thoughts so far")
            if s.finish_reason == "length" and s.completion_tokens > 0:
                forced = used >= n
                continue  # the call's cap, not the budget: think on; the budget: force the answer
            # (a cut call that counted no tokens, from a server reporting no usage, would never
            # fill the budget: it ends the thinking below instead of looping)
            if s.completion_tokens == 0 and not s.text:
                break  # nothing more to say: never loop on an empty continuation
            if used < floor and waited < waits:
                thoughts = f"{thoughts.rstrip()}\n{WAIT}"
                waited += 1
                continue
            break
        cue = "" if problem.answer_format in NO_CUE else "Answer:"
        closed = f"{OPEN}\n{thoughts.rstrip()}\n{CLOSE}\n\n{cue}"
        (reply,) = await ctx.generate(
            [*messages, Message("assistant", closed)],
            1,
            temperature=t,
            stop=(*problem.stop, "\n") if cue else problem.stop,  # a cued answer is its line
            max_tokens=answer_tokens,
            seed_offset=offset,
        )
        notes = [
            f"think: {used} thinking tokens of {n}"
            + (", cut at the budget and the answer forced" if forced else "")
            + (f", {waited} Wait(s) appended to reach {floor}" if waited else "")
        ]
        text = cue + reply.text
        answer = extract_answer(text, problem.answer_format)
        if answer is None:
            answer = extract_answer(thoughts, problem.answer_format)
            if answer is not None:
                notes.append("think: no answer after the thinking block; read from the thoughts")
        candidate = Candidate(
            text=text,
            answer=answer,
            score=None,
            completion_tokens=used + reply.completion_tokens,
            thoughts=thoughts.strip(),
            finish_reason=reply.finish_reason,
            thinking_tokens=thinking,
        )
        votes = {answer: 1} if answer is not None else {}
        return ctx.result(answer=answer, strategy=spec, candidates=[candidate], votes=votes, notes=notes)

    return run


register(
    StrategyInfo(
        "think",
        "budget forcing: think at most T tokens in a <think> block, then answer; :min=M forces on",
        think,
        {
            "min": Key(int, 0, "think at least this many tokens, appending 'Wait' when it stops", low=0),
            "waits": Key(int, WAITS, "the most times 'Wait' is appended", low=0, high=64),
            "answer_tokens": Key(int, ANSWER_TOKENS, "most tokens of the answer after thinking", low=1),
            "temperature": TEMPERATURE,
        },
        budget=True,
        default_n=512,
        counts="tokens",
        runs_code=False,
    )
)
