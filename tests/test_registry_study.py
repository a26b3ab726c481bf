"""The study asks the registry, never a strategy's name: a strategy written in one module and
registered appears in a study and its report with no other change; a composed strategy is pooled
where its declaration says so, and run as written where not."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from ponder.lab.study import study
from ponder.strategies import REGISTRY
from test_study import factory, suite_file

MODULE = '''
"""`first@N`: N sampled chains of thought; the answer of the first sample that has one."""

from math import comb

import numpy as np

from ponder.strategies.base import Context, StrategyInfo, register
from ponder.strategies.pooling import Estimate, Pooling, PoolView
from ponder.strategies.sampling import draw, to_candidate


def first(*, spec, n):
    async def run(problem, ctx: Context):
        samples, answers = await draw(problem, ctx, n, None)
        answer = next((a for a in answers if a is not None), None)
        candidates = [to_candidate(s, a, None) for s, a in zip(samples, answers)]
        return ctx.result(answer=answer, strategy=spec, candidates=candidates, votes={})

    return run


def estimate(view: PoolView, ks):
    """In a random k-subset in random order the first answered sample is a uniform answered one."""
    n = view.correct.shape[1]
    valid = view.valid.sum(axis=1)
    right = (view.correct & view.valid).sum(axis=1)
    out = np.zeros((len(valid), len(ks)))
    for j, k in enumerate(ks):
        for i, (v, c) in enumerate(zip(valid, right)):
            some = 1 - comb(int(n - v), k) / comb(n, k)
            out[i, j] = some * (c / v) if v else 0.0
    return Estimate(out)


register(StrategyInfo("first", "the first answered sample", first, {}, budget=True, default_n=4,
                      pooling=lambda spec: Pooling(estimate)))
'''


@pytest.fixture
def first_strategy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "ponder_first_strategy.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / "mod"))
    __import__("ponder_first_strategy")
    yield
    REGISTRY.pop("first", None)
    sys.modules.pop("ponder_first_strategy", None)


def test_a_new_pooled_strategy_joins_a_study_and_its_report(tmp_path: Path, first_strategy: None) -> None:
    summary = study("small", suite_file(tmp_path), strategies="sc,first,coverage", max_n=4, problems=8,
                    out=str(tmp_path / "out"), seed=3, backend_factory=factory)  # fmt: skip
    rows = {(r["strategy"], r["budget"]): r for r in summary["rows"]}
    assert {k for s, k in rows if s == "first"} == {1, 2, 4}
    # drawn from the same pool as sc: at k=1 every pooled strategy is the pool's pass@1
    assert rows[("first", 1)]["accuracy"] == pytest.approx(rows[("coverage", 1)]["accuracy"])
    assert rows[("first", 4)]["mean_flops"] == rows[("sc", 4)]["mean_flops"]
    page = (tmp_path / "out" / "report.html").read_text()
    assert '<td class="">first</td>' in page and "<th>first@4</th>" in page  # its rows and its bin columns
    import sqlite3

    with sqlite3.connect(tmp_path / "out" / "study.sqlite") as db:
        kinds = {k for (k,) in db.execute("SELECT DISTINCT kind FROM requests")}
    assert not any(k.startswith("run:first") for k in kinds)  # pooled, never run on its own


def test_a_composed_strategy_runs_as_written_and_is_charged_so(tmp_path: Path) -> None:
    summary = study("small", suite_file(tmp_path), strategies="sc@4,vote@4(cot),vote@2(sc@2)", problems=8,
                    out=str(tmp_path / "out"), seed=3, backend_factory=factory)  # fmt: skip
    rows = {(r["strategy"], r["budget"]): r for r in summary["rows"]}
    # a vote over runs is never pooled: once per problem at its own budget, each run its own request
    assert [k for s, k in rows if s == "vote(cot)"] == [4]
    assert [k for s, k in rows if s == "vote(sc@2)"] == [2]
    import sqlite3

    with sqlite3.connect(tmp_path / "out" / "study.sqlite") as db:
        per_run = db.execute(
            "SELECT count(*) FROM calls JOIN requests ON calls.request_id = requests.id "
            "WHERE requests.kind = 'run:vote@4(cot)' GROUP BY requests.id"
        ).fetchall()
        models = {m for (m,) in db.execute("SELECT DISTINCT model FROM calls")}
        trees = db.execute(
            "SELECT children FROM trees JOIN requests ON trees.request_id = requests.id "
            "WHERE requests.kind = 'run:vote@4(cot)'"
        ).fetchall()
    assert {n for (n,) in per_run} == {4}  # four independent requests, each reading the prompt
    assert models == {"small"}  # every call names its model
    import json

    assert len(trees) == 8 and all(len(json.loads(t)) == 4 for (t,) in trees)  # each run's four children
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count("its 4 inner runs") == 8 and page.count('<ul class="children">') >= 8
    assert rows[("vote(cot)", 4)]["mean_flops"] > rows[("sc", 4)]["mean_flops"]
    assert np.isfinite(rows[("vote(sc@2)", 2)]["mean_flops"])


def test_a_study_refuses_roles_and_limits_it_cannot_use(tmp_path: Path) -> None:
    from ponder.errors import PonderError
    from ponder.lab.study import StudyConfig

    def config(**kw: object) -> StudyConfig:
        return StudyConfig(models=["small"], suite=suite_file(tmp_path), out=str(tmp_path / "o"), **kw)  # type: ignore[arg-type]

    with pytest.raises(PonderError, match=r"no strategy in .* calls a judge role"):
        config(roles={"judge": "big"}).check()
    with pytest.raises(PonderError, match="bad limit"):
        config(limit="tokens=many").check()
    with pytest.raises(PonderError, match="--role"):
        config(roles={"policy": "big"}).check()
    config(limit="tokens=100").check()


def test_the_dry_run_plans_without_loading_or_writing(tmp_path: Path) -> None:
    import json
    import os
    import subprocess

    out = tmp_path / "planned"
    args = ["study", "--model", "smollm2-135m", "--suite", "arithmetic@1", "--problems", "2",
            "--strategies", "cot,sc@4,coverage", "--out", str(out), "--dry-run"]  # fmt: skip
    run = [sys.executable, "-m", "ponder.cli.main", *args]
    proc = subprocess.run(
        [*run, "--json"], capture_output=True, text=True, env=os.environ.copy(), timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["problems"] == 2 and [m["model"] for m in plan["models"]] == ["smollm2-135m"]
    assert not out.exists()  # nothing written
    text = subprocess.run(run, capture_output=True, text=True, env=os.environ.copy(), timeout=120)
    assert text.returncode == 0 and "smollm2-135m" in text.stdout
