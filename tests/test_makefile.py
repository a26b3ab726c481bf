"""The Makefile: each command installs the system packages it needs, as root or through sudo."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def dry_run(target: str) -> str:
    assert MAKE is not None
    return subprocess.run(
        [MAKE, "-n", target], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout


def test_run_installs_bubblewrap_only_and_test_adds_chromium() -> None:
    run, test = dry_run("run"), dry_run("test")
    assert "bwrap:bubblewrap" in run and "chromium" not in run
    assert "bwrap:bubblewrap" in test and "chromium:chromium" in test


def sysdeps(tmp_path: Path, uid: int, apt: bool = True) -> tuple[subprocess.CompletedProcess[str], str]:
    """`make sysdeps` for a missing package, with stand-ins for id, sudo and apt-get on a bare PATH."""
    assert MAKE is not None
    stubs, log = tmp_path / "bin", tmp_path / "calls.log"
    stubs.mkdir()
    scripts = {"id": f"echo {uid}", "sudo": f'echo "sudo $*" >> {log}; exec "$@"'}
    if apt:
        scripts["apt-get"] = f'echo "apt-get $*" >> {log}'
    for name, body in scripts.items():
        (stubs / name).write_text(f"#!/bin/sh\n{body}\n")
        (stubs / name).chmod(0o755)
    (stubs / "env").symlink_to(shutil.which("env") or "/usr/bin/env")
    proc = subprocess.run(
        [MAKE, "--no-print-directory", "sysdeps", "PACKAGES=ponder-absent:ponder-absent-pkg"],
        cwd=ROOT,
        env={"PATH": str(stubs), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc, log.read_text() if log.exists() else ""


def test_a_user_gets_sudo_apt_get(tmp_path: Path) -> None:
    proc, calls = sysdeps(tmp_path, uid=1000)
    assert proc.returncode == 0, proc.stderr
    assert calls.splitlines() == [
        "sudo apt-get update -qq",
        "apt-get update -qq",
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ponder-absent-pkg",
        "apt-get install -y -qq ponder-absent-pkg",
    ]


def test_root_runs_apt_get_itself(tmp_path: Path) -> None:
    proc, calls = sysdeps(tmp_path, uid=0)
    assert proc.returncode == 0, proc.stderr
    assert calls.splitlines() == ["apt-get update -qq", "apt-get install -y -qq ponder-absent-pkg"]


def test_without_apt_one_line_says_what_to_install(tmp_path: Path) -> None:
    proc, calls = sysdeps(tmp_path, uid=1000, apt=False)
    assert proc.returncode != 0 and calls == ""
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("make")]
    assert len(lines) == 1 and "ponder-absent-pkg" in lines[0] and "package manager" in lines[0]


def test_a_python_without_venv_gets_python3_venv_first() -> None:
    """Debian's python3 makes no venv until python3-venv is installed: setting up checks for it."""
    assert MAKE is not None
    plan = subprocess.run(
        [MAKE, "-n", "-B", ".venv/.installed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    check, venv = plan.index("import ensurepip"), plan.index("-m venv")
    assert check < venv and "python3-venv" in plan[check:venv]
