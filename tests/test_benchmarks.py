"""The benchmark scripts run and print what docs/benchmarks.md quotes (speed itself is not tested)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_adaptive_benchmark_compares_with_sc_from_one_pool(tmp_path: Path) -> None:
    """Offline: the synthetic pool without an argument, and a stored study (scripted samples) with one."""
    bench = [sys.executable, str(ROOT / "benchmarks/adaptive.py")]
    out = subprocess.run([*bench, "--problems", "60", "--json"], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report["source"].startswith("synthetic") and report["problems"] == 60
    (point,) = report["points"]
    assert 1 <= point["adaptive"]["mean_samples"] < point["sc"]["mean_samples"] == 16
    assert point["samples_ratio"] == point["adaptive"]["mean_samples"] / 16
    assert point["target_met"] == (point["within_sc_interval"] and point["samples_ratio"] <= 0.4)
    assert report["estimator_seconds_ratio"] > 0

    from ponder.lab.study import study
    from test_adaptive import agreeing
    from test_study import suite_file

    study("small", suite_file(tmp_path), strategies="sc,adaptive", max_n=16, problems=8, seed=3,
          out=str(tmp_path / "s"), backend_factory=agreeing)  # fmt: skip
    out = subprocess.run([*bench, str(tmp_path / "s"), "--json"], capture_output=True, text=True, check=True)
    (point,) = json.loads(out.stdout)["points"]
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    rows = {(r["strategy"], r["budget"]): r for r in summary["rows"]}
    assert point["model"] == "small" and point["adaptive"]["accuracy"] == rows[("adaptive", 16)]["accuracy"]
    assert point["adaptive"]["mean_samples"] == rows[("adaptive", 16)]["mean_samples"] < 16
    assert point["sc"]["ci_low"] == rows[("sc", 16)]["ci_low"]


def test_sandbox_benchmark_reports_its_ratio_and_breakdown() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/sandbox.py"), "--runs", "1", "--repeats", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(proc.stdout)
    assert report["ratio_vs_bare"] > 0 and report["concurrent_ratio_vs_bare"] > 0
    assert set(report["programs_per_second"]) == {"bare", "bare_nosite", "bwrap", "sandbox", "concurrent"}
    breakdown = report["breakdown_ms"]
    assert breakdown["sandbox_total"] == pytest.approx(1000 / report["programs_per_second"]["sandbox"])
    assert {"interpreter_startup", "site_import", "bwrap", "runner_and_limits", "files_and_cleanup"} < set(
        breakdown
    )
    assert report["setup"]["runs"] == 1 and report["setup"]["flags"] == ["-I", "-S"]


def test_step_prefix_benchmark_reports_its_ratio(smol_path: Path) -> None:
    """A step-level search against a single chain, on the real embedded engine, at the smallest size."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/step_prefix.py"), "--n", "2", "--steps", "2",
         "--step-tokens", "4", "--repeats", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )  # fmt: skip
    report = json.loads(proc.stdout)
    (row,) = report["rows"]
    assert report["spec"] == "beam@2:width=2:steps=2:step_tokens=4" and report["judge"] == "prm"
    assert report["ratio"] == row["search"]["uncached"] / row["chain"]["prompt"] > 0
    assert row["search"]["cached"] > 0 and row["judge"]["calls"] > 0
    assert report["target_met"] == (report["ratio"] <= 1.2)


def test_the_store_benchmark_reports_saves_per_second(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/store_saves.py"), "--samples", "4", "--requests", "5",
         "--repeats", "1", "--dir", str(tmp_path), "--json"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    report = json.loads(proc.stdout)
    assert report["setup"]["samples_per_request"] == 4
    assert report["store_saves_per_s"] > 0 and report["bare_saves_per_s"] > 0
    assert isinstance(report["ratio_vs_bare"], float) and report["driver_saves_per_s"] > 0
    assert isinstance(report["verdict_ms"], float)


def test_ray_benchmark_reports_its_overhead_per_request() -> None:
    pytest.importorskip("ray", reason="Ray is an extra: pip install 'ponder[ray]' (make test installs it)")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/ray_executor.py"), "--problems", "6", "--skip-model",
         "--json"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    report = json.loads(proc.stdout)
    assert report["requests"] == 12  # 6 problems × (a pool, a cot run)
    assert report["local_ms_per_request"] > 0 and report["ray_ms_per_request"] > 0
    assert isinstance(report["overhead_ms_per_request"], float)
