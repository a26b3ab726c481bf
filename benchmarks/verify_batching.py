"""Benchmark: the verifier's judge calls in flight together against scoring one candidate at a time.

`verify` sends one judge prompt per candidate (the problem and that candidate, ~200-300 tokens) and
reads one token's logprobs. With the engine's slots sized for the pool, the n prompts are in flight
together and llama.cpp evaluates them in shared batches; the baseline scores the same candidates one
after another through the same pass. Judging is almost all prompt processing, which batching helps
less than decoding (a prompt's tokens are already a batch), so expect a smaller ratio than n samples
in one request get.

Variants, alternated within each repeat on one engine (with its prompt cache cleared by distinct
seeds it does not use: every repeat's prompts are new text, so no variant reads another's cache):
- `together`    the verify pass over n candidates (all judge calls in flight);
- `one_by_one`  the same pass called on one candidate at a time.

    python benchmarks/verify_batching.py --json
prints {"ratio": one_by_one / together wall seconds (median), ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time

from ponder.session import Options, Session, parse_roles
from ponder.strategies.pooling import SCORE_PASSES
from ponder.strategies.verify import BY_LOGPROBS
from ponder.types import Candidate, Problem

QUESTION = (
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins "
    "for her friends every day with four. She sells the remainder at the farmers' market daily for "
    "$2 per fresh duck egg. How much in dollars does she make every day? (run {run})"
)


def candidates(n: int, run: int) -> list[Candidate]:
    """n different solutions, right and wrong, each a few steps long."""
    out = []
    for i in range(n):
        eaten = 3 + i % 3
        left = 16 - eaten - 4
        text = (
            f"Janet's ducks lay 16 eggs a day. She eats {eaten} and bakes with 4, so {16 - eaten - 4} "
            f"eggs are left to sell (draft {run}.{i}). Each sells for $2, so she makes {left} × 2 = "
            f"${2 * left} a day.\nAnswer: {2 * left}"
        )
        out.append(Candidate(text=text, answer=str(2 * left), score=None, completion_tokens=40))
    return out


async def together(session: Session, problem: Problem, pool: list[Candidate], seed: int) -> list[str]:
    scored = await SCORE_PASSES["verify"].run(problem, pool, session.context(seed=seed))
    return [scored.method]


async def one_by_one(session: Session, problem: Problem, pool: list[Candidate], seed: int) -> list[str]:
    methods = []
    for c in pool:
        scored = await SCORE_PASSES["verify"].run(problem, [c], session.context(seed=seed))
        methods.append(scored.method)
    return methods


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    roles = parse_roles(args.model, [], None)
    seconds: dict[str, list[float]] = {"together": [], "one_by_one": []}
    methods: set[str] = set()
    with Session.open(roles, Options(max_tokens=8, seed=0, threads=args.threads), slots=args.n) as session:
        run = 0
        for _ in range(args.repeats):
            for name, variant in (("together", together), ("one_by_one", one_by_one)):
                run += 1  # new text every time: no variant finds another's prompts cached
                problem = Problem(QUESTION.format(run=run))
                start = time.perf_counter()
                methods.update(asyncio.run(variant(session, problem, candidates(args.n, run), run)))
                seconds[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in seconds.items()}
    report = {
        "model": args.model,
        "n": args.n,
        "repeats": args.repeats,
        "seconds": {k: {"median": m, "min": min(seconds[k]), "max": max(seconds[k])} for k, m in med.items()},
        "ratio": med["one_by_one"] / med["together"],
        "judged_by_logprobs": methods == {BY_LOGPROBS},
    }
    if args.json:
        json.dump(report, sys.stdout)
        print()
    else:
        print(
            f"{args.model}, {args.n} judge prompts: together {med['together']:.2f} s, "
            f"one by one {med['one_by_one']:.2f} s: {report['ratio']:.2f}×"
        )


if __name__ == "__main__":
    main()
