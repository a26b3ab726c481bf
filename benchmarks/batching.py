"""Benchmark: n samples in one request against n sequential requests, and ponder's overhead.

Variants, alternated within each repeat on one engine (so drift and heat hit all alike):
- `ponder_n`     ponder's embedded backend, n samples in one call (as `sc@n` asks);
- `ponder_seq`   ponder's embedded backend, n sequential n=1 calls;
- `raw_n`        the bare xllamacpp call with the same n and token count (the baseline);
- `raw_seq`      n sequential bare n=1 calls (the engine's own batching ratio);
- `ponder_n_lp`  as ponder_n with the model's logprobs, which `bon@n:scorer=logprob` pays for.
Every generation has a fixed length (ignore_eos), so every variant produces the same tokens.

    python benchmarks/batching.py --json
prints {"ratio_vs_sequential", "overhead_vs_raw", ...}: medians over the repeats, with their spread.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ponder.backends.embedded import EmbeddedBackend
from ponder.models.resolve import parse
from ponder.types import Message, SamplingParams

PROMPT = [
    Message("system", "Solve the problem step by step, briefly. End with 'Answer: <answer>'."),
    Message(
        "user",
        "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes "
        "muffins for her friends every day with four. She sells the remainder at the farmers' "
        "market daily for $2 per fresh duck egg. How much in dollars does she make every day?",
    ),
]


def spread(xs: list[float]) -> dict[str, float]:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    ref = parse(args.model)
    assert ref.path is not None, "the benchmark runs an embedded model"
    engine = EmbeddedBackend(ref.path, model=ref.name, threads=args.threads, n_parallel=args.n, n_ctx=1024)
    params = SamplingParams(max_tokens=args.tokens, temperature=0.8, seed=0, ignore_eos=True)
    raw_body = {
        "messages": [m.to_dict() for m in PROMPT],
        "n": args.n,
        "max_tokens": args.tokens,
        "temperature": 0.8,
        "seed": 0,
        "ignore_eos": True,
    }

    def ponder_n() -> int:
        return asyncio.run(engine.generate(PROMPT, params, args.n)).completion_tokens

    def ponder_n_lp() -> int:
        with_lp = replace(params, logprobs=True)
        return asyncio.run(engine.generate(PROMPT, with_lp, args.n)).completion_tokens

    def ponder_seq() -> int:
        return sum(asyncio.run(engine.generate(PROMPT, params, 1)).completion_tokens for _ in range(args.n))

    def raw_n() -> int:
        response = engine.handle_chat(raw_body)
        return args.n * args.tokens if "choices" in response else 0

    def raw_seq() -> int:
        done = 0
        for i in range(args.n):
            response = engine.handle_chat(dict(raw_body, n=1, seed=i))
            done += args.tokens if "choices" in response else 0
        return done

    variants: dict[str, Callable[[], int]] = {
        "ponder_n": ponder_n,
        "ponder_seq": ponder_seq,
        "raw_n": raw_n,
        "raw_seq": raw_seq,
        "ponder_n_lp": ponder_n_lp,
    }
    ponder_n()  # warm-up: load weights into the caches, fill the prompt cache
    seconds: dict[str, list[float]] = {k: [] for k in variants}
    tokens: dict[str, int] = {}
    for r in range(args.repeats):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        for name in order:
            t0 = time.perf_counter()
            tokens[name] = variants[name]()
            seconds[name].append(time.perf_counter() - t0)
            print(f"repeat {r + 1} {name}: {seconds[name][-1]:.2f}s", file=sys.stderr)

    tps = {k: [tokens[k] / s for s in v] for k, v in seconds.items()}
    ratios = [a / b for a, b in zip(tps["ponder_n"], tps["ponder_seq"], strict=True)]
    overheads = [p / r - 1 for p, r in zip(seconds["ponder_n"], seconds["raw_n"], strict=True)]
    engine_ratios = [a / b for a, b in zip(tps["raw_n"], tps["raw_seq"], strict=True)]
    logprob_costs = [p / r - 1 for p, r in zip(seconds["ponder_n_lp"], seconds["raw_n"], strict=True)]
    report: dict[str, Any] = {
        "ratio_vs_sequential": statistics.median(ratios),
        "overhead_vs_raw": statistics.median(overheads),
        "raw_engine_ratio_vs_sequential": statistics.median(engine_ratios),
        "logprobs_overhead_vs_raw": statistics.median(logprob_costs),
        "ratio_spread": spread(ratios),
        "overhead_spread": spread(overheads),
        "tokens_per_second": {k: spread(v) for k, v in tps.items()},
        "seconds": {k: spread(v) for k, v in seconds.items()},
        "setup": {
            "model": ref.name,
            "n": args.n,
            "tokens_per_sample": args.tokens,
            "repeats": args.repeats,
            "threads": args.threads,
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        ratio = report["ratio_vs_sequential"]
        print(f"n={args.n} in one call vs {args.n} sequential: {ratio:.2f}x tokens/s")
        print(f"ponder overhead over the raw engine call: {100 * report['overhead_vs_raw']:.1f}%")


if __name__ == "__main__":
    main()
