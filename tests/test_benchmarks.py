"""The benchmark scripts run and print what docs/benchmarks.md quotes (speed itself is not tested)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_batching_benchmark_reports_its_ratios(smol_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks/batching.py"),
            "--model",
            "smollm2-135m",
            "--n",
            "2",
            "--tokens",
            "4",
            "--repeats",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(proc.stdout)
    for key in (
        "ratio_vs_sequential",
        "overhead_vs_raw",
        "raw_engine_ratio_vs_sequential",
        "logprobs_overhead_vs_raw",
    ):
        assert isinstance(report[key], float)
    assert report["setup"]["n"] == 2 and report["setup"]["tokens_per_sample"] == 4


def test_study_concurrency_benchmark_reports_its_ratios(smol_path: Path) -> None:
    """Requests in flight together on the real embedded engine, called from several threads."""
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks/study_concurrency.py"),
            "--problems",
            "2",
            "--max-n",
            "2",
            "--max-tokens",
            "4",
            "--concurrency",
            "1,2",
            "--repeats",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(proc.stdout)
    assert set(report["ratio_vs_first"]) == {"1", "2"} and report["ratio_vs_first"]["1"] == 1.0
    assert report["tokens"]["1"] > 0 and report["best"] in (1, 2)
