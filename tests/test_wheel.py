"""A wheel works too: built from the source, installed into a fresh venv outside the repository.

It installs ponder's dependencies from the package index, so it is marked `index` (which `make test`
runs; only `network` tests are deselected by default) and `slow`. The model cache (PONDER_MODELS) is
the one place outside the temporary folder it reads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(cmd: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(c) for c in cmd],
        capture_output=True,
        text=True,
        timeout=600,
        **kwargs,  # type: ignore[call-overload]
    )
    if proc.returncode != 0:
        raise AssertionError(f"{cmd} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc


@pytest.mark.slow
@pytest.mark.index
def test_the_wheel_serves_gsm8k_and_a_study_from_anywhere(tmp_path: Path, smol_path: Path) -> None:
    # 1. Build from a copy of the source, so the build leaves nothing in the repository.
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp_path / "dist", source])
    (wheel,) = (tmp_path / "dist").glob("ponder-*.whl")

    # 2. A fresh venv: ponder with the in-process engine, the study extra and the dependencies.
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", f"{wheel}[embedded,study]"])

    # 3. From a folder that is not the repository, with nothing of the repository on the path.
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PONDER_HOME"] = str(tmp_path / "home")  # PONDER_MODELS: the shared cache, set by conftest
    where = run([venv / "bin" / "python", "-c", "import ponder; print(ponder.__file__)"], cwd=work, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv)
    ponder = venv / "bin" / "ponder"
    shown = json.loads(
        run([ponder, "tasks", "show", "gsm8k", "--n", "2", "--json"], cwd=work, env=env).stdout
    )
    assert [i["family"] for i in shown["items"]] == ["gsm8k", "gsm8k"]
    study = [ponder, "study", "--model", "smollm2-135m", "--suite", "arithmetic@1", "--strategies", "cot,sc"]
    study += ["--max-n", "2", "--problems", "2", "--max-tokens", "16", "--out", "out"]
    run(study, cwd=work, env=env)
    summary = json.loads((work / "out" / "summary.json").read_text())
    assert summary and (work / "out" / "report.html").is_file()
