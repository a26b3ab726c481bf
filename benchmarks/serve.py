"""Benchmark: what `ponder serve` adds, and what it gains from sharing the engine's slots.

Three figures, each a comparison within one run (issue 15):

1. `processes.overhead_ms`: the median latency of a `direct` request through `ponder serve` in front
   of an upstream, less the median of the same request sent to the upstream directly (target ≤ 5
   ms). The upstream is a stand-in on loopback that answers at once, so the difference is the
   proxy's own work (HTTP in and out, the strategy, the ledger), not a model's. Requests alternate,
   `--requests` of each. The upstream, `ponder serve` (its command, defaults but `--no-record`) and
   the client each run in their own process, as deployed; `overhead_ms` at the top level is the same
   with all three in this one process (the app in a thread), which also charges the interpreter
   lock's handoffs between them to the proxy.
2. `concurrency_ratio`: 8 concurrent `direct` requests to the embedded model (default
   qwen2.5-coder-0.5b, `--tokens` each) take this fraction of the time of the same 8 sent one after
   another (target ≤ 0.6; the engine decodes about 2× faster at 8 slots than at one, FIELD.md).
   `--skip-model` leaves it out.
3. `usage_exact`: for `sc@4` in front of the stand-in upstream, the response's usage equals the sum
   of the counts the upstream reported for every internal call, to the token.

    python benchmarks/serve.py --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from ponder.serve import ServeConfig
from ponder.serve.app import create_app
from served import free_port, serving

SEEN: list[tuple[int, int]] = []  # (prompt, completion) tokens the upstream reported, per call


class Upstream(BaseHTTPRequestHandler):
    """An OpenAI-compatible stand-in: n choices, each 'Answer: 4', usage counted per choice."""

    protocol_version = "HTTP/1.1"
    # One write per response, sent at once: headers and body written apart, with Nagle's algorithm
    # on, meet the client's delayed ACK and cost an async client ~40 ms a request (measured: 48 ms
    # against 4.6 for the sync client), which would be charged to the proxy.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        n = int(body.get("n") or 1)
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        completion = 3 * n
        SEEN.append((prompt, completion))
        reply = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "up"),
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": "Answer: 4"},
                    "finish_reason": "stop",
                }
                for i in range(n)
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def alternate(upstream: str, proxy: str, requests: int) -> dict[str, list[float]]:
    """Seconds of `requests` `direct` requests to the upstream and through the proxy, alternating,
    after 10 of each to warm both paths."""
    messages = [{"role": "user", "content": "What is 2 + 2?"}]
    paths = (
        ("upstream", openai.OpenAI(base_url=upstream, api_key="x", max_retries=0), "up"),
        ("proxy", openai.OpenAI(base_url=proxy, api_key="x", max_retries=0), "direct/up"),
    )
    times: dict[str, list[float]] = {"upstream": [], "proxy": []}
    for i in range(requests + 10):
        for name, client, model in paths:
            start = time.perf_counter()
            client.chat.completions.create(model=model, messages=messages, max_tokens=8)  # type: ignore[arg-type]
            if i >= 10:
                times[name].append(time.perf_counter() - start)
    return times


def overhead(requests: int) -> dict[str, Any]:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{upstream.server_address[1]}/v1"
    messages = [{"role": "user", "content": "What is 2 + 2?"}]
    try:
        config = ServeConfig(models=("up",), upstream=base, upstream_retries=0, record=False)
        with serving(create_app(config)) as url:
            proxied = openai.OpenAI(base_url=url, api_key="x", max_retries=0)
            times = alternate(base, url, requests)
            SEEN.clear()
            r = proxied.chat.completions.create(model="sc@4/up", messages=messages, max_tokens=8)  # type: ignore[arg-type]
            prompt, completion = sum(p for p, _ in SEEN), sum(c for _, c in SEEN)
            assert r.usage is not None
            exact = (r.usage.prompt_tokens, r.usage.completion_tokens) == (prompt, completion)
    finally:
        upstream.shutdown()
    up, px = statistics.median(times["upstream"]), statistics.median(times["proxy"])
    return {
        "upstream_ms": 1000 * up,
        "proxy_ms": 1000 * px,
        "overhead_ms": 1000 * (px - up),
        "requests": requests,
        "usage_exact": exact,
        "usage": {
            "response": [r.usage.prompt_tokens, r.usage.completion_tokens],
            "upstream": [prompt, completion],
        },
        "upstream_calls": len(SEEN),
    }


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def overhead_processes(requests: int) -> dict[str, Any]:
    """The deployment's shape: the stand-in upstream, `ponder serve` and the client, each its own
    process, so no two of them share an interpreter's lock (in one process, the lock's handoffs
    between the client's, the proxy's and the upstream's threads are charged to the proxy)."""
    up_port, px_port = free_port(), free_port()
    base = f"http://127.0.0.1:{up_port}/v1"
    upstream = subprocess.Popen([sys.executable, __file__, "--stand-in", str(up_port)])
    proxy = subprocess.Popen(
        [sys.executable, "-m", "ponder.cli.main", "serve", "--upstream", base, "-m", "up",
         "--port", str(px_port), "--no-record"],
        stdout=subprocess.DEVNULL,  # its access log, written as deployed, read by no one here
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait(f"http://127.0.0.1:{up_port}/health", upstream)
        _wait(f"http://127.0.0.1:{px_port}/health", proxy)
        times = alternate(base, f"http://127.0.0.1:{px_port}/v1", requests)
    finally:
        for proc in (proxy, upstream):
            proc.terminate()
            proc.wait(timeout=30)
    up, px = statistics.median(times["upstream"]), statistics.median(times["proxy"])
    return {"upstream_ms": 1000 * up, "proxy_ms": 1000 * px, "overhead_ms": 1000 * (px - up)}


def stand_in(port: int) -> None:
    """Serve the stand-in upstream on `port` until killed (`--stand-in PORT`), with /health."""

    class WithHealth(Upstream):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    ThreadingHTTPServer(("127.0.0.1", port), WithHealth).serve_forever()


def concurrency(model: str, tokens: int, repeats: int) -> dict[str, Any]:
    config = ServeConfig(models=(model,), max_concurrency=8, max_n=8, record=False)
    questions = [f"Write a story of about 200 words about the number {i}." for i in range(8)]
    with serving(create_app(config)) as url:
        sync = openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=600)

        def ask(q: str) -> Any:
            return sync.chat.completions.create(
                model=f"direct/{model}", messages=[{"role": "user", "content": q}], max_tokens=tokens
            )

        async def together() -> list[Any]:
            # a client per event loop: its connections belong to the loop that opened them
            aio = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0, timeout=600)
            return await asyncio.gather(
                *(aio.chat.completions.create(
                    model=f"direct/{model}", messages=[{"role": "user", "content": q}], max_tokens=tokens
                ) for q in questions)
            )  # fmt: skip

        # A first round, not counted: the first pass of each kind ran 2× slower in every run here
        # (36 s against 15 s one after another), whatever came before it.
        [ask(q) for q in questions]
        asyncio.run(together())
        ratios, seq, par = [], [], []
        for _ in range(repeats):
            start = time.perf_counter()
            one = [ask(q) for q in questions]
            s = time.perf_counter() - start
            start = time.perf_counter()
            many = asyncio.run(together())
            p = time.perf_counter() - start
            seq.append(s)
            par.append(p)
            ratios.append(p / s)
        tokens_seq = sum(r.usage.completion_tokens for r in one)
        tokens_par = sum(r.usage.completion_tokens for r in many)
    return {
        "model": model,
        "tokens": tokens,
        "sequential_s": seq,
        "concurrent_s": par,
        "concurrency_ratio": statistics.median(ratios),
        "completion_tokens": {"sequential": tokens_seq, "concurrent": tokens_par},
        "engine": engine_alone(model, tokens, questions, repeats),
    }


def engine_alone(model: str, tokens: int, questions: list[str], repeats: int) -> dict[str, Any]:
    """The same requests straight to the engine (no server, no strategy), as the server's engine is
    opened: what batching them gives at best. Also the engine's own best case, one prompt drawn
    8 times in one call, against one sample of it (the prompt evaluated once)."""
    from ponder.backends.factory import BackendOptions, open_backend
    from ponder.models.resolve import parse
    from ponder.types import Message, SamplingParams

    backend = open_backend(parse(model), BackendOptions(), slots=8)
    params = SamplingParams(max_tokens=tokens, ignore_eos=True)

    def chat(q: str) -> list[Message]:
        return [Message("user", q)]

    async def one_by_one() -> None:
        for q in questions:
            await backend.generate(chat(q), params, 1)

    async def together() -> None:
        await asyncio.gather(*(backend.generate(chat(q), params, 1) for q in questions))

    def timed(run: Any) -> float:
        start = time.perf_counter()
        asyncio.run(run)
        return time.perf_counter() - start

    try:
        timed(one_by_one())  # a first round, not counted (as above)
        timed(together())
        ratios = [timed(together()) / timed(one_by_one()) for _ in range(repeats)]
        one = timed(backend.generate(chat(questions[0]), params, 1))
        eight = timed(backend.generate(chat(questions[0]), params, 8))
    finally:
        backend.close()
    return {"concurrency_ratio": statistics.median(ratios), "one_prompt_n8_over_8_singles": eight / (8 * one)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-model", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--stand-in", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stand_in is not None:
        stand_in(args.stand_in)
        return
    out = overhead(args.requests)
    out["processes"] = overhead_processes(args.requests)
    if not args.skip_model:
        out["concurrency"] = concurrency(args.model, args.tokens, args.repeats)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    p = out["processes"]
    print(
        f"proxy overhead (median), each in its own process: {p['overhead_ms']:.2f} ms "
        f"({p['proxy_ms']:.2f} against {p['upstream_ms']:.2f}); all in one process: "
        f"{out['overhead_ms']:.2f} ms"
    )
    print(f"usage equals the upstream's counts: {out['usage_exact']} {out['usage']}")
    if "concurrency" in out:
        c = out["concurrency"]
        print(f"8 concurrent / 8 sequential direct requests on {c['model']}: {c['concurrency_ratio']:.2f}")


if __name__ == "__main__":
    main()
