"""Benchmark: programs per second through the sandbox, against plain `python -c`, and what dominates.

Variants, alternated within each repeat (order reversed every other repeat), each `--runs` times a
trivial program (`print(1)`) on the interpreter the sandbox uses:
- `bare`         `python -I -c` in a plain subprocess: the baseline;
- `bare_nosite`  the same with `-S` (no `site` import);
- `bwrap`        bubblewrap's namespaces and fresh root around the sandbox's interpreter flags, and
                 nothing else (no limits, no files, no runner);
- `sandbox`      `run_code` itself: temporary directory, files, limits, runner, cleanup;
- `concurrent`   `run_code` from `--workers` threads at once, as `pot@N` runs its programs.
`--parent-mb` first fills that much memory in this process, standing in for a model loaded in the
same process: spawning a child by fork copies the parent's page tables, by vfork not.

    python benchmarks/sandbox.py --json
prints {"ratio_vs_bare", "programs_per_second", "breakdown_ms", ...}: medians over the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ponder.sandbox import run_code
from ponder.sandbox.isolation import PYTHON_FLAGS, bwrap_argv, ensure_isolation, interpreter, privileged

PROGRAM = "print(1)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="programs per variant per repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--parent-mb", type=int, default=0, help="memory this process holds meanwhile")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    ballast = bytearray(args.parent_mb * 1024 * 1024)
    for i in range(0, len(ballast), 4096):  # touched, so that its pages are mapped
        ballast[i] = 1
    ensure_isolation()
    root = privileged()
    binary, _ = interpreter(root)
    inside: list[float] = []  # run_code's own figure: from the start of bwrap to its exit

    def spawn(argv: list[str]) -> Callable[[], None]:
        def run() -> None:
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)

        return run

    def sandboxed() -> None:
        result = run_code(PROGRAM)
        assert result.status == "passed" and result.stdout == "1\n", result
        inside.append(result.seconds)

    def concurrent() -> None:
        with ThreadPoolExecutor(args.workers) as pool:
            for result in pool.map(lambda _: run_code(PROGRAM), range(args.workers)):
                assert result.status == "passed", result

    with tempfile.TemporaryDirectory(prefix="ponder-bench-") as tmp:
        variants: dict[str, tuple[Callable[[], None], int]] = {
            "bare": (spawn([binary, "-I", "-c", PROGRAM]), 1),
            "bare_nosite": (spawn([binary, "-I", "-S", "-c", PROGRAM]), 1),
            "bwrap": (spawn([*bwrap_argv(Path(tmp), root), binary, *PYTHON_FLAGS, "-c", PROGRAM]), 1),
            "sandbox": (sandboxed, 1),
            "concurrent": (concurrent, args.workers),
        }
        sandboxed()  # warm-up: the isolation probe, the page cache
        inside.clear()
        rates: dict[str, list[float]] = {k: [] for k in variants}
        for r in range(args.repeats):
            order = list(variants) if r % 2 == 0 else list(reversed(variants))
            for name in order:
                run, programs = variants[name]
                t0 = time.perf_counter()
                for _ in range(args.runs):
                    run()
                rates[name].append(args.runs * programs / (time.perf_counter() - t0))
                print(f"repeat {r + 1} {name}: {rates[name][-1]:.1f} programs/s", file=sys.stderr)

    pps = {k: statistics.median(v) for k, v in rates.items()}
    ms = {k: 1000 / v for k, v in pps.items()}
    flags_ms = ms["bare_nosite"] if "-S" in PYTHON_FLAGS else ms["bare"]
    in_bwrap = 1000 * statistics.median(inside)
    report: dict[str, Any] = {
        "ratio_vs_bare": pps["sandbox"] / pps["bare"],
        "concurrent_ratio_vs_bare": pps["concurrent"] / pps["bare"],
        "programs_per_second": pps,
        "spread": {k: {"min": min(v), "max": max(v)} for k, v in rates.items()},
        "breakdown_ms": {
            # what one sandboxed program's time is made of, from differences between the variants
            "interpreter_startup": ms["bare_nosite"],
            "site_import": ms["bare"] - ms["bare_nosite"],  # paid by the sandbox only without -S
            "bwrap": ms["bwrap"] - flags_ms,  # namespaces, fresh root, mounts
            "runner_and_limits": in_bwrap - ms["bwrap"],  # the limits' launcher, the runner, the uid drop
            "files_and_cleanup": ms["sandbox"] - in_bwrap,  # temp dir, files, outputs read, rmtree
            "sandbox_total": ms["sandbox"],
        },
        "setup": {
            "interpreter": binary,
            "flags": list(PYTHON_FLAGS),
            "path": "root" if root else "unprivileged",
            "runs": args.runs,
            "repeats": args.repeats,
            "workers": args.workers,
            "parent_mb": args.parent_mb,
            "cores": os.cpu_count(),
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"sandbox: {pps['sandbox']:.1f} programs/s, bare python: {pps['bare']:.1f} "
            f"({report['ratio_vs_bare']:.2f}×); {args.workers} at once: {pps['concurrent']:.1f}/s"
        )
        for part, value in report["breakdown_ms"].items():
            print(f"  {part:>20}: {value:6.1f} ms")


if __name__ == "__main__":
    main()
