"""Benchmark: the prompt tokens a step-level search pays, against those of a single chain.

A search continues each kept beam's text (a final assistant message), so the engine should find the
question and the beam's steps in its prefix cache and read only what is new. The issue's target: on
the embedded engine, the uncached prompt tokens of `beam@N` are at most 1.2× those of a single chain
of the same length (a chain pays its prompt once).

Per repeat, on a fresh engine (nothing cached from an earlier run):
- `search`   beam@N:width=W:steps=S:step_tokens=T (the policy's calls; the judge is measured apart);
- `stepwise` beam@1:width=1 with the same keys: one chain written step by step through the same
  continuation calls (what the step machinery itself costs);
- `chain`    the search's own prompt in one call, as long as the search's longest candidate.

The judge is, by default, a stand-in process reward model on a loopback port (`prm:URL`, scores from a
hash of the steps), so only the policy's prompts are on the engine; `--judge llm` makes the policy
model the step judge on the same engine and reports its prompt tokens too.

    python benchmarks/step_prefix.py --json
prints {"ratio": search's uncached policy prompt tokens / the chain's prompt tokens (median), ...};
`reread_calls` counts the continuations that found not even the question cached.

What it finds (docs/benchmarks.md): llama.cpp keeps the context of only the first sample of a call
(its other slots are cleared when they finish), and a cached context is moved, not copied, into the
slot that loads it. A search needs contexts to branch; the engine keeps one per call. So a kept beam
that was not its call's first sample reads its last step again, and where two kept beams need one
context, one of them reads everything again.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ponder.session import Options, Session
from ponder.strategies import build, samples_needed
from ponder.strategies.prompts import messages
from ponder.strategies.search import STEPS
from ponder.types import CallRecord, Problem, Result

QUESTIONS = [
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins "
    "for her friends every day with four. She sells the remainder at the farmers' market daily for $2 "
    "per fresh duck egg. How much in dollars does she make every day?",
    "A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in total does "
    "it take?",
    "Josh decides to try flipping a house. He buys a house for $80,000 and then puts in $50,000 in "
    "repairs. This increased the value of the house by 150%. How much profit did he make?",
    "James decides to run 3 sprints 3 times a week. He runs 60 meters each sprint. How many total "
    "meters does he run a week?",
]


@contextmanager
def stand_in_prm() -> Iterator[str]:
    """A process reward model that scores steps by a hash: deterministic, instant, no engine time."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            score = int.from_bytes(hashlib.sha256(body).digest()[:4], "big") / 2**32
            out = json.dumps({"score": score}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"prm:http://127.0.0.1:{server.server_address[1]}/score"
    finally:
        server.shutdown()
        server.server_close()


def paid(calls: list[CallRecord], role: str) -> dict[str, int]:
    """What a role's calls read and wrote: prompt tokens, those found cached, the rest, completion."""
    mine = [c for c in calls if c.role == role]
    prompt = sum(c.usage.prompt_tokens for c in mine)
    cached = sum(c.usage.cached_prompt_tokens for c in mine)
    completion = sum(c.usage.completion_tokens for c in mine)
    return {"calls": len(mine), "prompt": prompt, "cached": cached, "uncached": prompt - cached,
            "completion": completion}  # fmt: skip


def run(spec: str, problem: Problem, roles: dict[str, str], options: Options) -> Result:
    """The spec on a fresh engine: nothing in its cache but what this run put there."""
    with Session.open(roles, options, slots=samples_needed(spec)) as session:
        return asyncio.run(build(spec)(problem, session.context()))


def chain(problem: Problem, model: str, tokens: int, options: Options) -> dict[str, int]:
    """The search's prompt in one call of `tokens` new tokens, on a fresh engine."""

    async def one(session: Session) -> list[CallRecord]:
        ctx = session.context()
        await ctx.generate(messages(STEPS, problem), 1, temperature=0.7, max_tokens=tokens)
        return ctx.ledger.records

    with Session.open({"policy": model}, options) as session:
        return paid(asyncio.run(one(session)), "policy")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--width", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--step-tokens", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--judge", choices=("prm", "llm"), default="prm")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    keys = f"steps={args.steps}:step_tokens={args.step_tokens}"
    search_spec = f"beam@{args.n}:width={args.width}:{keys}"
    options = Options(max_tokens=args.steps * args.step_tokens, seed=0, threads=args.threads)
    rows = []
    with stand_in_prm() as prm:
        roles = {"policy": args.model} if args.judge == "llm" else {"policy": args.model, "judge": prm}
        for k in range(args.repeats):
            problem = Problem(QUESTIONS[k % len(QUESTIONS)])
            searched = run(search_spec, problem, roles, options)
            stepwise = run(f"beam@1:width=1:{keys}", problem, roles, options)
            longest = max((c.completion_tokens for c in searched.candidates), default=args.step_tokens)
            single = chain(problem, args.model, longest, options)
            policy = paid(searched.calls, "policy")
            continued = [c for c in searched.calls if c.role == "policy"][1:]
            # continuations that did not even find the question cached: their beam's context was gone
            policy["reread_calls"] = sum(c.usage.cached_prompt_tokens < single["prompt"] for c in continued)
            policy["continuations"] = len(continued)
            rows.append({
                "search": policy,
                "judge": paid(searched.calls, "judge"),
                "stepwise": paid(stepwise.calls, "policy"),
                "chain": single,
                "ratio": policy["uncached"] / single["prompt"],
                "stepwise_ratio": paid(stepwise.calls, "policy")["uncached"] / single["prompt"],
                "uncached_ratio": policy["prompt"] / single["prompt"],
                "reread_per_generated": (policy["uncached"] - single["prompt"]) / policy["completion"],
            })  # fmt: skip
    med = {k: statistics.median(r[k] for r in rows) for k in ("ratio", "stepwise_ratio", "uncached_ratio")}
    report = {
        "model": args.model,
        "spec": search_spec,
        "judge": args.judge,
        "repeats": args.repeats,
        "ratio": med["ratio"],
        "ratio_range": [min(r["ratio"] for r in rows), max(r["ratio"] for r in rows)],
        "stepwise_ratio": med["stepwise_ratio"],
        "without_cache_ratio": med["uncached_ratio"],
        "reread_per_generated": statistics.median(r["reread_per_generated"] for r in rows),
        "reread_calls": sum(r["search"]["reread_calls"] for r in rows),
        "continuations": sum(r["search"]["continuations"] for r in rows),
        "target_met": med["ratio"] <= 1.2,
        "rows": rows,
    }
    if args.json:
        json.dump(report, sys.stdout)
        print()
    else:
        print(
            f"{search_spec} on {args.model}: uncached policy prompt tokens {med['ratio']:.2f}× a single "
            f"chain's (one chain written step by step: {med['stepwise_ratio']:.2f}×; with no cache: "
            f"{med['uncached_ratio']:.2f}×)"
        )


if __name__ == "__main__":
    main()
