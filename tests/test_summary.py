"""summary.json through its types: written once, read back equal, older files upgraded, newer refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ponder import PonderError
from ponder.lab.stats import fit_coverage_law
from ponder.lab.study.summary import SCHEMA, Summary
from test_study import run


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("summary")
    run(tmp, max_n=8, compare=["sc@4/small vs cot/large"])
    return tmp / "out"


def raw(study_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((study_dir / "summary.json").read_text())
    return data


def test_the_file_is_the_summary_written_once(study_dir: Path) -> None:
    text = (study_dir / "summary.json").read_text()
    summary = Summary.load(study_dir / "summary.json")
    assert summary.to_json() + "\n" == text  # loading keeps every figure as stored
    assert Summary.from_dict(json.loads(summary.to_json())) == summary
    data = raw(study_dir)
    assert next(iter(data)) == "schema" and data["schema"] == SCHEMA
    assert summary.headline is not None and summary.comparisons and summary.frontier
    assert all(r.coverage is None for r in summary.rows if r.strategy == "cot")
    assert all("coverage" not in r for r in data["rows"] if r["strategy"] == "cot")


def test_a_summary_without_a_schema_loads(study_dir: Path) -> None:
    current = Summary.load(study_dir / "summary.json")
    old = raw(study_dir)
    del old["schema"]  # schema 1: every summary.json written before the field existed
    assert Summary.from_dict(old) == current
    # An early schema-1 file, before intervals, charged seconds and the chosen-among count were
    # written, reads with the values the report assumed for them then.
    for r in old["rows"]:
        for key in ("ci_method", "seconds_method", "derived", "mean_cached_prompt_tokens"):
            del r[key]
    for key in ("chosen_among", "flops_condition", "ci_method"):
        del old["headline"][key]
    for key in ("comparisons", "notes", "estimators"):
        del old[key]
    early = Summary.from_dict(old)
    assert early.rows[0].seconds_method == "recorded" and early.rows[0].derived == ()
    assert early.headline is not None and early.headline.chosen_among == 1
    assert early.comparisons == () and [r.accuracy for r in early.rows] == [r.accuracy for r in current.rows]
    assert json.loads(early.to_json())["schema"] == SCHEMA


def test_a_newer_schema_is_refused_in_one_line(study_dir: Path, tmp_path: Path) -> None:
    newer = {**raw(study_dir), "schema": SCHEMA + 1}
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(newer))
    with pytest.raises(PonderError) as caught:
        Summary.load(path)
    message = str(caught.value)
    assert "\n" not in message
    assert f"is summary schema {SCHEMA + 1}, this ponder reads up to {SCHEMA}: upgrade ponder" in message
    for bad in ("2", 0, None, True):
        with pytest.raises(PonderError, match="unknown summary schema"):
            Summary.from_dict({**newer, "schema": bad})
    with pytest.raises(PonderError, match=r"not a study summary \(no 'rows'\)"):
        Summary.from_dict({k: v for k, v in raw(study_dir).items() if k != "rows"})
    # The report says the same, without a traceback.
    (tmp_path / "study.sqlite").write_bytes((study_dir / "study.sqlite").read_bytes())
    proc = subprocess.run(
        [sys.executable, "-m", "ponder.cli.main", "report", str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "upgrade ponder" in proc.stderr and "Traceback" not in proc.stderr


def test_the_coverage_law_predicts_what_it_was_fitted_on(study_dir: Path) -> None:
    summary = Summary.load(study_dir / "summary.json")
    for model, law in summary.coverage_law.items():
        assert law is not None
        observed = {
            r.budget: r.accuracy for r in summary.rows if r.model == model and r.strategy == "coverage"
        }
        for k, residual in zip(law.ks, law.residuals, strict=True):
            if k in observed:  # the rows hold pass@k at the ladder's budgets, the fit every k ≤ n
                assert law.predict(k) + residual == pytest.approx(observed[int(k)], abs=1e-12)
        assert law.holdout_error == pytest.approx(law.holdout_predicted - law.holdout_observed)
    # On coverage that follows the law exactly, the fit recovers it at every k.
    ks = [1.0, 2.0, 4.0, 8.0, 16.0]
    exact = fit_coverage_law(ks, [0.2 ** (k**-0.5) for k in ks])
    assert exact is not None and exact.max_abs_residual < 1e-12
    assert [exact.predict(k) for k in ks] == pytest.approx([0.2 ** (k**-0.5) for k in ks], abs=1e-12)
