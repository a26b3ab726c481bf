"""`exec@N`: execution-based selection for code (after CodeT and AlphaCode's clustering).

Voting on program text splits the vote of correct programs written differently. Here candidates are
grouped by what they do:
1. The tests: the examples the problem states (`>>> f(...)` and the output, as HumanEval's
   docstrings and the `code` family give them), and up to `PROPOSED` more that a model writes under
   the `proposer` role (one call per problem, greedy): calls with literal arguments, with the output
   it expects where it says one. Both are parsed defensively (`calls.py`); hidden tests never reach
   a `Problem`, so they cannot reach this pass.
2. Each distinct program runs once in the sandbox on every test input (all of them in ONE run, each
   call under its own timer), recorded as a `sandbox` tool call.
3. Its behaviour key is the tuple of its outputs (a digest of each repr, an error as its type);
   programs with equal keys form a cluster. A program that fails on every input (it does not
   define the function, it crashes, it runs out of time) joins no cluster.
4. Score = 1000 × stated examples passed + proposed tests passed (`EXAMPLE_WEIGHT`): the same for
   every member of a cluster, since it is a function of the outputs.
5. The pick: the cluster that passes the most stated examples (their outputs are given, so a
   cluster failing one is known wrong: AlphaCode's filter, made soft), then the largest, then the
   one passing the most proposed tests (CodeT's agreement); among equals the cluster seen first.
   Its first member is the answer.
Where there is no input to run (no stated example, no usable proposal), candidates group by program
text, as `sc` does, and the result says so.

The same pass scores a study's pool once per problem (`score:exec`), the proposer's call charged
whole at every budget and the sandbox runs per sample scored. `cluster_estimate` derives exec@k from
that pool: the expected correctness of step 5 over every k-subset, exact (no Monte Carlo).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import secrets
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ponder.strategies.base import Context, Strategy, StrategyInfo, register
from ponder.strategies.calls import Call, entry_names, proposed_tests, stated_examples
from ponder.strategies.pooling import (
    Estimate,
    Pooling,
    PoolView,
    Scored,
    ScorePassInfo,
    register_score_pass,
)
from ponder.strategies.sampling import TEMPERATURE, draw, to_candidate, vote
from ponder.types import Candidate, Message, Problem, Result

if TYPE_CHECKING:
    from ponder.sandbox import SandboxResult

PROPOSED = 6  # tests asked of the proposer, at most
PROPOSER_TOKENS = 400
CALL_SECONDS = 2.0  # each call's own timer in the sandbox
SHOWN = 300  # characters of a call's value or error shown to a model (repair's feedback)
EXAMPLE_WEIGHT = 1000  # a stated example passed outweighs any number of proposed tests
CONCURRENT_RUNS = 4
BY_OUTPUTS = (
    "clusters of equal outputs on the stated examples and the proposer's tests; "
    "score = 1000 × stated examples passed + proposed tests passed"
)

PROPOSER_PROMPT = (
    "Here is a programming task.\n\n{question}\n\n"
    "Write {count} test cases that tell a correct solution from a wrong one: typical inputs and edge "
    "cases. Write each on its own line as a Python assertion that calls the function with literal "
    "arguments and compares with the output you expect, for example:\nassert {example}\n"
    "Write only the assertions."
)

# The tests' half of a sandbox run: each call under its own timer and with its prints swallowed;
# one line per call on the real stdout, marked with a nonce the program never sees:
# [index, output key, passed, what it returned or raised, cut to SHOWN characters].
_HARNESS = """
import ast as _pa, contextlib as _pc, hashlib as _ph, io as _pi, json as _pj, signal as _ps, sys as _py
class _PonderLate(BaseException):
    pass
def _ponder_alarm(*_):
    raise _PonderLate()
def _ponder_cut(s):
    return s if len(s) <= {shown} else s[:{shown}] + " ..."
def _ponder_norm(v):
    if isinstance(v, (set, frozenset)):
        try:
            return ("set", sorted(v))
        except Exception:
            return v
    return v
_ps.signal(_ps.SIGALRM, _ponder_alarm)
for _pn, (_pcall, _pexp) in enumerate({cases!r}):
    _pok = None
    try:
        _ps.setitimer(_ps.ITIMER_REAL, {seconds!r})
        try:
            with _pc.redirect_stdout(_pi.StringIO()):
                _pv = eval(_pcall)
                _pkey = "=" + _ph.sha256(repr(_ponder_norm(_pv)).encode()).hexdigest()[:16]
                _pgot = _ponder_cut(repr(_pv))
                if _pexp is not None:
                    try:
                        _pok = bool(_pv == _pa.literal_eval(_pexp))
                    except Exception:
                        _pok = False
        finally:
            _ps.setitimer(_ps.ITIMER_REAL, 0)
    except _PonderLate:
        _pkey, _pok = "!timeout", (None if _pexp is None else False)
        _pgot = "no result within {seconds} seconds"
    except BaseException as _pe:
        _pkey, _pok = "!" + type(_pe).__name__, (None if _pexp is None else False)
        _pgot = "raised " + _ponder_cut(type(_pe).__name__ + ": " + str(_pe))
    _py.__stdout__.write({mark!r} + _pj.dumps([_pn, _pkey, _pok, _pgot]) + "\\n")
    _py.__stdout__.flush()
"""


class CallsRun(NamedTuple):
    """One program run on a list of calls: per call its output key (`=digest`, `!Error`, or `!lost`
    where the run ended before it), whether it gave the expected output (None: none known), and
    what it returned or raised as shown to a model (None: not run); and the sandbox's result."""

    keys: list[str]
    passed: list[bool | None]
    shown: list[str | None]
    result: SandboxResult


def run_calls(program: str, tests: Sequence[Call]) -> CallsRun:
    """One program on every call, in one sandbox run, each call under its own timer (exec's
    clusters, repair's feedback)."""
    from ponder.sandbox import Limits, run_code

    mark = f"@@ponder-{secrets.token_hex(8)}@@"
    cases = [(t.source, t.expected) for t in tests]
    harness = _HARNESS.format(cases=cases, seconds=CALL_SECONDS, mark=mark, shown=SHOWN)
    limits = Limits(timeout=min(120.0, 5.0 + CALL_SECONDS * len(tests)))
    result = run_code(program, harness, limits)
    keys: list[str] = ["!lost"] * len(tests)
    passed: list[bool | None] = [None if t.expected is None else False for t in tests]
    shown: list[str | None] = [None] * len(tests)
    seen: set[int] = set()
    for line in result.stdout.split("\n"):
        if not line.startswith(mark):
            continue
        try:
            index, key, ok, got = json.loads(line[len(mark) :])
        except (ValueError, TypeError):
            continue
        if isinstance(index, int) and 0 <= index < len(tests) and index not in seen:
            seen.add(index)
            keys[index], shown[index] = str(key), str(got)
            passed[index] = ok if tests[index].expected is not None and isinstance(ok, bool) else None
    return CallsRun(keys, passed, shown, result)


def run_program(program: str, tests: Sequence[Call]) -> tuple[list[str], list[bool | None], float]:
    """One program on every test, in one sandbox run: each call's output key, whether it gave the
    expected output (None: none known), and the run's seconds (`run_calls`)."""
    ran = run_calls(program, tests)
    return ran.keys, ran.passed, ran.result.seconds


async def propose(problem: Problem, ctx: Context, stated: list[Call]) -> tuple[list[Call], list[str]]:
    """The proposer's tests: one greedy call under the `proposer` role, parsed defensively."""
    names = entry_names(problem.question, stated)
    if stated:
        example = f"{stated[0].source} == {stated[0].expected}"
    else:
        example = f"{min(names) if names else 'f'}(...) == ..."
    prompt = PROPOSER_PROMPT.format(question=problem.question, count=PROPOSED, example=example)
    samples = await ctx.generate(
        [Message("user", prompt)], 1, temperature=0.0, role="proposer", max_tokens=PROPOSER_TOKENS
    )
    tests = proposed_tests(samples[0].text, names, PROPOSED, stated)
    notes = [] if tests else ["exec: the proposer's reply held no usable test"]
    return tests, notes


async def execution_pass(problem: Problem, candidates: Sequence[Candidate], ctx: Context) -> Scored:
    """Behaviour groups and scores of the candidates (the module docstring's steps 1 to 4)."""
    programs = list(dict.fromkeys(c.answer for c in candidates if c.answer))
    stated = stated_examples(problem.question)
    proposed, notes = await propose(problem, ctx, stated) if programs else ([], [])
    tests = stated + proposed
    if not tests:
        method = "no test to run (no stated example, no usable proposal): grouped by program text"
        scores = [0.0 if c.answer else -math.inf for c in candidates]
        return Scored(scores, method, [c.answer or None for c in candidates], [*notes, f"exec: {method}"])
    gate = asyncio.Semaphore(CONCURRENT_RUNS)

    async def one(program: str) -> tuple[str | None, float]:
        async with gate:
            keys, passed, seconds = await asyncio.to_thread(run_program, program, tests)
        ctx.tool("sandbox", seconds)
        if all(k.startswith("!") for k in keys):
            return None, -math.inf  # it ran on nothing: no group
        digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:12]
        examples = sum(ok is True for ok, t in zip(passed, tests, strict=True) if t.stated)
        others = sum(ok is True for ok, t in zip(passed, tests, strict=True) if not t.stated)
        return f"exec:{digest}", float(EXAMPLE_WEIGHT * examples + others)

    ran = dict(zip(programs, await asyncio.gather(*(one(p) for p in programs)), strict=True))
    groups = [ran[c.answer][0] if c.answer else None for c in candidates]
    scores = [ran[c.answer][1] if c.answer else -math.inf for c in candidates]
    expected = sum(t.expected is not None for t in proposed)
    notes.append(
        f"exec: {len(stated)} stated examples, {len(proposed)} proposed tests ({expected} with an "
        f"expected output), {len(set(g for g in groups if g))} clusters of {len(candidates)} candidates"
    )
    return Scored(scores, BY_OUTPUTS, groups, notes)


def _rank(score: float) -> tuple[float, float]:
    """(stated examples passed, proposed tests passed) from a score; −inf ranks below everything."""
    if not math.isfinite(score):
        return -1.0, 0.0
    examples, proposed = divmod(score, EXAMPLE_WEIGHT)
    return examples, proposed


def choose(groups: Sequence[str | None], scores: Sequence[float]) -> int | None:
    """The first member of the best cluster: most stated examples passed, then the largest, then
    most proposed tests passed, then the first seen; None where no candidate joined a cluster."""
    clusters: dict[str, list[int]] = {}
    for i, (g, s) in enumerate(zip(groups, scores, strict=True)):
        if g is not None and math.isfinite(s):
            clusters.setdefault(g, []).append(i)
    if not clusters:
        return None

    def key(g: str) -> tuple[float, int, float, int]:
        members = clusters[g]
        examples, proposed = _rank(max(scores[i] for i in members))
        return examples, len(members), proposed, -members[0]

    return clusters[max(clusters, key=key)][0]


def _problem_curve(
    clusters: list[tuple[int, float, float, int]], blank: int, n: int, ks: Sequence[int]
) -> np.ndarray:
    """Expected correctness of `choose` over the k-subsets of one pool, exact, for each k.

    `clusters`: (size m, examples passed e, proposed passed f, correct members a); `blank`: samples
    in no cluster. In a subset holding x of a cluster's m members, those x are a uniform draw from
    the m, so the pick (the first of them, the subset's order being exchangeable) is correct with
    probability a/m; a t-way tie for the top goes to each with probability 1/t. For a cluster g and
    its count x, the subsets where g is on top are counted by a generating function over the other
    clusters (a polynomial in the subset's size, and in the ties at the top): a cluster above g on
    examples must be absent, one below may hold any count, one level with it must hold fewer (more
    proposed tests passed), at most x (fewer), or exactly x and tie (equal). Clusters alike in
    (m, e, f) share that count, so it is computed once per kind."""
    comb = math.comb
    width = len(clusters) + 1
    out = np.zeros(len(ks))
    kinds: Counter[tuple[int, float, float]] = Counter()
    right: Counter[tuple[int, float, float]] = Counter()
    for m, e, f, a in clusters:
        kinds[(m, e, f)] += 1
        right[(m, e, f)] += a
    for kind, correct in right.items():
        if correct == 0:
            continue
        m, e, f = kind
        others = [c for c in clusters if c[:3] != kind] + [(*kind, 0)] * (kinds[kind] - 1)
        for x in range(1, m + 1):
            ways = np.zeros((n + 1, width))
            ways[: blank + 1, 0] = [comb(blank, y) for y in range(blank + 1)]
            for mh, eh, fh, _ in others:
                tie = False
                if eh > e:
                    cap = 0
                elif eh < e:
                    cap = mh
                elif fh > f:
                    cap = min(mh, x - 1)
                else:
                    cap = min(mh, x)
                    tie = fh == f and cap == x
                grown = np.zeros_like(ways)
                for y in range(cap + 1):
                    if tie and y == x:
                        grown[y:, 1:] += comb(mh, y) * ways[: n + 1 - y, :-1]
                    else:
                        grown[y:] += comb(mh, y) * ways[: n + 1 - y]
                ways = grown
            shared = ways @ (1.0 / np.arange(1, width + 1))  # each tie splits the credit
            for j, k in enumerate(ks):
                if k >= x:
                    out[j] += (correct / m) * comb(m, x) * shared[k - x]
    values: np.ndarray = out / np.array([float(comb(n, k)) for k in ks])
    return values


def cluster_estimate(view: PoolView, ks: Sequence[int]) -> Estimate:
    """exec@k from the pool: the exact expected correctness of `choose` over every k-subset, the
    pool's labels being the pass's behaviour groups and its scores the tests passed."""
    problems, n = view.labels.shape
    values = np.zeros((problems, len(ks)))
    seen: dict[tuple[int, tuple[tuple[int, float, float, int], ...]], np.ndarray] = {}
    for i in range(problems):
        members: dict[int, list[int]] = {}
        for j in range(n):
            if view.labels[i, j] >= 0 and math.isfinite(view.scores[i, j]):
                members.setdefault(int(view.labels[i, j]), []).append(j)
        clusters = []
        for js in members.values():
            e, f = _rank(max(float(view.scores[i, j]) for j in js))
            clusters.append((len(js), e, f, int(view.correct[i, js].sum())))
        key = (n - sum(c[0] for c in clusters), tuple(sorted(clusters)))
        if key not in seen:
            seen[key] = _problem_curve(list(key[1]), key[0], n, ks)
        values[i] = seen[key]
    exact = {str(k): "exact (every k-subset, by counting)" for k in ks}
    return Estimate(np.clip(values, 0.0, 1.0), {"methods": exact, "mc_error": dict.fromkeys(exact, 0.0)})


register_score_pass(
    ScorePassInfo(
        "exec", execution_pass, roles=("proposer",), per_problem_roles=("proposer",), runs_code=True
    )
)


def execution(*, spec: str, n: int, temperature: float | None = None) -> Strategy:
    async def run(problem: Problem, ctx: Context) -> Result:
        samples, answers = await draw(problem, ctx, n, temperature)
        drawn = [to_candidate(s, a, None) for s, a in zip(samples, answers, strict=True)]
        ctx.keep(vote(answers)[0], drawn)  # the text vote, should a limit refuse the proposer
        scored = await execution_pass(problem, drawn, ctx)
        groups = scored.groups or [None] * len(drawn)
        pick = choose(groups, scored.scores)
        sizes = Counter(g for g in groups if g is not None)
        votes = dict(sorted(sizes.items(), key=lambda gs: (-gs[1], groups.index(gs[0]))))
        candidates = [to_candidate(s, a, x) for s, a, x in zip(samples, answers, scored.scores, strict=True)]
        return ctx.result(
            answer=None if pick is None else answers[pick],
            strategy=spec,
            candidates=candidates,
            votes=votes,
            scorer="exec",
            notes=scored.notes,
        )

    return run


register(
    StrategyInfo(
        "exec",
        "execution-based selection for code: N programs clustered by their outputs on stated and "
        "proposed tests, the best cluster's",
        execution,
        {"temperature": TEMPERATURE},
        budget=True,
        default_n=8,
        pooling=lambda spec: Pooling(cluster_estimate, scorer="exec"),
        roles=("policy", "proposer"),
        runs_code=True,
    )
)
