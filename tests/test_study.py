"""The study: outputs as specified, estimators consistent at k=1, resumable, killable, real-model run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from ponder import PonderError
from ponder.backends.base import Capabilities
from ponder.lab.study import StudyConfig, budgets, study
from ponder.models.resolve import ModelRef
from ponder.types import Generation, Message, SamplingParams
from scripted import SeededBackend

TESTS = Path(__file__).resolve().parent
ROW_KEYS = {
    "model", "strategy", "budget", "accuracy", "ci_low", "ci_high", "mean_completion_tokens", "mean_flops",
    "mean_seconds", "mean_cost_usd", "truncated_rate", "problems",
}  # fmt: skip


def suite_file(tmp: Path, count: int = 8) -> str:
    path = tmp / "qa.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "question": f"Question {i}?", "answer": str(1 + i % 3)}) + "\n"
            for i in range(count)
        )
    )
    return f"jsonl:{path}:check=exact"


def factory(model: str, config: StudyConfig) -> tuple[SeededBackend, ModelRef]:
    params = {"small": 100, "large": 400}[model]
    return SeededBackend(model=model), ModelRef(model, "embedded", model, None, params)


def run(tmp: Path, out: str = "out", **settings: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "strategies": "cot,sc,bon,bon:scorer=vote,coverage",
        "max_n": 4,
        "problems": 8,
        "out": str(tmp / out),
        "seed": 3,
    }
    defaults.update(settings)
    return study("small,large", suite_file(tmp), backend_factory=factory, **defaults)


def test_budgets() -> None:
    assert budgets(8) == [1, 2, 4, 8] and budgets(12) == [1, 2, 4, 8, 12] and budgets(1) == [1]


def test_summary_and_samples_are_as_specified(tmp_path: Path) -> None:
    summary = run(tmp_path)
    prov = summary["provenance"]
    for key in ("ponder", "engine", "models", "suite", "sampling", "prompts", "threads", "budgets"):
        assert key in prov
    assert prov["sampling"] == {"max_tokens": 320, "temperature": 0.7, "seed": 3}
    rows = summary["rows"]
    assert all(set(r) >= ROW_KEYS for r in rows)
    per_model = {(r["strategy"], r["budget"]) for r in rows if r["model"] == "small"}
    assert per_model == {("cot", 1)} | {
        (s, k) for s in ("sc", "bon", "bon:scorer=vote", "coverage") for k in (1, 2, 4)
    }
    assert len(rows) == 2 * len(per_model)
    for r in rows:
        assert 0 <= r["ci_low"] <= r["accuracy"] <= r["ci_high"] <= 1
        assert r["problems"] == 8
        if r["strategy"] != "cot":
            assert r["coverage"] >= r["accuracy"] - 1e-9  # no selection beats the oracle's pick
    # at k=1 every pool estimator is the fraction of correct samples
    for model in ("small", "large"):
        at1 = {
            r["strategy"]: r["accuracy"]
            for r in rows
            if r["model"] == model and r["budget"] == 1 and r["strategy"] != "cot"
        }
        assert max(at1.values()) - min(at1.values()) < 1e-9
    # cost grows with the budget, FLOPs with the model
    sc = {r["budget"]: r for r in rows if r["model"] == "small" and r["strategy"] == "sc"}
    assert sc[1]["mean_flops"] < sc[2]["mean_flops"] < sc[4]["mean_flops"]
    assert sc[4]["mean_completion_tokens"] == pytest.approx(4 * sc[1]["mean_completion_tokens"])
    assert summary["headline"]["sentence"]
    assert {"small", "large"} == set(summary["coverage_law"]) and summary["frontier"]

    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "out" / "samples.parquet")
    for col in (
        "model",
        "problem_id",
        "sample_index",
        "answer",
        "correct",
        "score",
        "completion_tokens",
        "finish_reason",
    ):
        assert col in table.column_names
    assert table.num_rows == 2 * 8 * (4 + 1)  # a pool of 4 and one cot sample per problem and model


def test_resume_redoes_nothing_and_checks_settings(tmp_path: Path) -> None:
    first = run(tmp_path)
    db = tmp_path / "out" / "study.sqlite"
    count = sqlite3.connect(db).execute("SELECT count(*) FROM requests").fetchone()[0]
    with pytest.raises(PonderError, match="already holds a study"):
        run(tmp_path)
    with pytest.raises(PonderError, match="other settings"):
        run(tmp_path, resume=True, max_tokens=99)
    again = run(tmp_path, resume=True)
    assert sqlite3.connect(db).execute("SELECT count(*) FROM requests").fetchone()[0] == count
    assert again == first
    with pytest.raises(PonderError, match="no study to resume"):
        run(tmp_path, out="elsewhere", resume=True)


KILLABLE = """
import sys
sys.path.insert(0, {tests!r})
from scripted import SeededBackend
from ponder.lab.study import study
from ponder.models.resolve import ModelRef

def factory(model, config):
    params = {{"small": 100, "large": 400}}[model]
    return SeededBackend(model=model, delay=0.02), ModelRef(model, "embedded", model, None, params)

study("small,large", {suite!r}, strategies="cot,sc,bon,coverage", max_n=4, problems=40, out={out!r}, seed=3,
      backend_factory=factory, resume={resume})
"""


def test_a_study_killed_with_sigkill_resumes_to_the_same_summary(tmp_path: Path) -> None:
    suite = suite_file(tmp_path, 40)
    out = str(tmp_path / "killed")
    script = KILLABLE.format(tests=str(TESTS), suite=suite, out=out, resume=False)
    proc = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy())
    db = Path(out) / "study.sqlite"
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if db.exists():
            try:
                done = sqlite3.connect(db).execute("SELECT count(*) FROM requests").fetchone()[0]
            except sqlite3.Error:
                continue
            if done >= 20:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(db)
    before = conn.execute("SELECT * FROM samples ORDER BY request_id, idx").fetchall()
    kept = conn.execute("SELECT count(*) FROM requests").fetchone()[0]
    conn.close()
    whole = 2 * 40 * 2 + 2 * 3 * 2  # pools and cot runs, and timing requests at k = 1, 2 on 3 problems
    assert 20 <= kept < whole  # killed mid-way: some requests done, not all
    resumed = subprocess.run(
        [sys.executable, "-c", KILLABLE.format(tests=str(TESTS), suite=suite, out=out, resume=True)],
        timeout=120,
    )
    assert resumed.returncode == 0
    conn = sqlite3.connect(db)
    after = conn.execute("SELECT * FROM samples ORDER BY request_id, idx").fetchall()
    assert after[: len(before)] == before  # stored samples unchanged
    assert conn.execute("SELECT count(*) FROM requests").fetchone()[0] == whole
    whole = str(tmp_path / "whole")
    subprocess.run(
        [sys.executable, "-c", KILLABLE.format(tests=str(TESTS), suite=suite, out=whole, resume=False)],
        timeout=120,
        check=True,
    )
    a = json.loads((Path(out) / "summary.json").read_text())
    b = json.loads((Path(whole) / "summary.json").read_text())
    assert a["rows"] == b["rows"] and a["headline"] == b["headline"] and a["difficulty"] == b["difficulty"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["study", "--suite", "lists@1"], "needs --model and --suite"),
        (["study", "-m", "smollm2-135m", "--suite", "lists@1", "--strategies", "magic"], "unknown strategy"),
        (["study", "-m", "smollm2-135m", "--suite", "lists@1", "--max-n", "0"], "--max-n"),
        (["study", "-m", "smollm2-135m", "--suite", "nosuch@1"], "unknown task family"),
        (["study", "-m", "smollm2-135m,smollm2-135m", "--suite", "lists@1"], "named twice"),
        (["study", "--config", "/nowhere.toml"], "cannot read the config"),
        (["study", "-m", "smollm2-135m", "--suite", "lists@1", "--executor", "dask"], "unknown executor"),
        (["study", "-m", "smollm2-135m", "--suite", "lists@1", "--workers", "2"], "are for --executor ray"),
        (
            ["study", "-m", "smollm2-135m", "--suite", "lists@1", "--executor", "ray", "--workers", "0"],
            "--workers",
        ),
        (  # nothing answers there: one line at once (Ray itself waits on it for minutes)
            [
                "study",
                "-m",
                "smollm2-135m",
                "--suite",
                "lists@1",
                "--executor",
                "ray",
                "--address",
                "127.0.0.1:9",
            ],
            "cannot join Ray at 127.0.0.1:9",
        ),
    ],
)
def test_bad_study_input(args: list[str], fragment: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ponder.cli.main", *args, "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and fragment in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "o" / "study.sqlite").exists()


def test_a_small_real_study_from_a_config_file(tmp_path: Path, smol_path: Path) -> None:
    config = tmp_path / "study.toml"
    config.write_text(
        '[study]\nmodels = ["smollm2-135m"]\nsuite = "arithmetic@1"\nstrategies = "cot,sc,coverage"\n'
        f'max_n = 2\nproblems = 3\nmax_tokens = 24\nout = "{tmp_path / "real"}"\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "ponder.cli.main", "study", "--config", str(config)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "accuracy against compute" in proc.stdout
    summary = json.loads((tmp_path / "real" / "summary.json").read_text())
    assert summary["provenance"]["models"]["smollm2-135m"]["sha256"].startswith("b179c952")
    sc2 = next(r for r in summary["rows"] if r["strategy"] == "sc" and r["budget"] == 2)
    assert sc2["mean_flops"] > 0 and sc2["mean_seconds"] > 0 and sc2["problems"] == 3


def test_a_model_may_have_its_own_strategies(tmp_path: Path) -> None:
    summary = run(tmp_path, only={"large": ["cot"]})
    large = {(r["strategy"], r["budget"]) for r in summary["rows"] if r["model"] == "large"}
    assert large == {("cot", 1)}
    headline = summary["headline"]
    assert headline["b"]["model"] == "large" and headline["a"]["model"] == "small"
    assert headline["a"]["mean_flops"] <= headline["b"]["mean_flops"]
    assert headline["ci_low"] <= headline["difference"] <= headline["ci_high"]
    with pytest.raises(PonderError, match="not studied"):
        run(tmp_path, out="o2", only={"medium": ["cot"]})


def test_named_pairs_are_compared(tmp_path: Path) -> None:
    summary = run(tmp_path, compare=["sc@4/small vs cot/large", "bon@2/small vs sc@2/small"])
    first, second = summary["comparisons"]
    assert first["a"]["strategy"] == "sc" and first["a"]["budget"] == 4 and first["b"]["model"] == "large"
    assert first["ci_low"] <= first["difference"] <= first["ci_high"]
    assert second["a"]["strategy"] == "bon" and second["b"]["strategy"] == "sc"
    for bad, fragment in [
        ("sc@4/small", "SPEC@K/MODEL vs"),
        ("sc@16/small vs cot/large", "does not run"),
        ("sc@4/medium vs cot/large", "not studied"),
    ]:
        with pytest.raises(PonderError, match=fragment):
            run(tmp_path, out=f"bad-{len(fragment)}", compare=[bad])


def test_a_private_study_keeps_its_questions_out_of_the_report(tmp_path: Path) -> None:
    out = tmp_path / "private"
    study(
        "small",
        "lists@2",
        backend_factory=factory,
        strategies="cot,sc",
        max_n=2,
        problems=3,
        out=str(out),
        split="private",
    )
    html = (out / "report.html").read_text()
    summary = json.loads((out / "summary.json").read_text())
    store_questions = [
        json.loads(p)["question"]
        for (p,) in sqlite3.connect(out / "study.sqlite").execute("SELECT item FROM problems")
    ]
    assert summary["provenance"]["split"] == "private" and len(store_questions) == 3
    assert not any(q[:40] in html for q in store_questions)
    assert html.count('class="problem"') == 3


# -- concurrency ------------------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [2, 5])
def test_concurrent_work_draws_what_one_at_a_time_draws(tmp_path: Path, concurrency: int) -> None:
    """Seeds follow (model, problem, request), not the order of work: requests in flight at once
    store the same samples and verdicts, and the same figures but for seconds and dollars."""
    one = run(tmp_path, out="one")
    many = run(tmp_path, out="many", concurrency=concurrency)
    query = "SELECT model, problem_id, kind, seed, n, answer, correct, completion_tokens FROM requests"
    samples = (
        "SELECT r.model, r.problem_id, r.kind, s.idx, s.text, s.answer, s.correct, s.score"
        " FROM samples s JOIN requests r ON r.id = s.request_id"
    )
    for sql in (query, samples):
        a = sorted(sqlite3.connect(tmp_path / "one" / "study.sqlite").execute(sql).fetchall())
        b = sorted(sqlite3.connect(tmp_path / "many" / "study.sqlite").execute(sql).fetchall())
        assert a == b
    timed = {"mean_seconds", "mean_cost_usd"}
    for a, b in zip(one["rows"], many["rows"], strict=True):
        assert {k: v for k, v in a.items() if k not in timed} == {
            k: v for k, v in b.items() if k not in timed
        }


@dataclass
class Sleepy:
    """A local engine whose calls take real time and report it: concurrent calls overlap."""

    model: str = "sleepy"
    seconds: float = 0.05
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(max_n=64, logprobs=True, prefix_sharing=True, local_cores=2)
    )

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        import asyncio

        started = time.perf_counter()
        drawn = await SeededBackend(model=self.model).generate(messages, params, n)
        await asyncio.sleep(self.seconds)
        return replace(drawn, wall_seconds=time.perf_counter() - started)

    def close(self) -> None:
        pass


def sleepy(model: str, config: StudyConfig) -> tuple[Sleepy, ModelRef]:
    return Sleepy(model=model), ModelRef(model, "embedded", model, None, 100)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_overlapping_calls_on_one_engine_share_its_dollars(tmp_path: Path, concurrency: int) -> None:
    """The cores were held once: with calls in flight together, each call's dollars come from its
    wall seconds divided among the calls in flight, so the study's local dollars add up to the time
    the engine was busy, not to the sum of overlapping walls."""
    out = tmp_path / "s"
    started = time.perf_counter()
    study("m", suite_file(tmp_path, 12), strategies="cot,sc", max_n=2, problems=12, timing_problems=0,
          out=str(out), backend_factory=sleepy, concurrency=concurrency)  # fmt: skip
    elapsed = time.perf_counter() - started
    db = sqlite3.connect(out / "study.sqlite")
    per_second = 2 * 0.045 / 3600  # 2 cores at the default core-hour price
    walls, dollars = db.execute("SELECT sum(wall_seconds), sum(cost_usd) FROM requests").fetchone()
    calls = db.execute("SELECT sum(wall_seconds), sum(cost_usd) FROM calls").fetchone()
    assert calls == pytest.approx((walls, dollars))  # each request is the sum of its calls
    if concurrency == 1:
        assert dollars == pytest.approx(walls * per_second)  # nothing overlapped: as recorded
    else:
        # 4 in flight: less than the overlapping walls (about a quarter of them on an idle machine; a
        # loaded one overlaps the calls less, as saves wait their turn)
        assert dollars < 0.8 * walls * per_second
        assert dollars <= elapsed * per_second  # never more than the cores' time while the study ran
        assert dollars >= 0.2 * walls * per_second  # and the whole busy time is charged


class Failing(SeededBackend):
    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        import asyncio

        if "Question 5?" in messages[-1].content:
            await asyncio.sleep(0.05)
            raise PonderError("the engine refused the request: a test failure")
        return await super().generate(messages, params, n)


def factory_of(kind: type[SeededBackend]) -> Any:
    def make(model: str, config: StudyConfig) -> tuple[SeededBackend, ModelRef]:
        return kind(model=model), ModelRef(model, "embedded", model, None, 100)

    return make


def test_a_failing_request_stops_the_study_in_one_line_and_keeps_what_finished(tmp_path: Path) -> None:
    failing = factory_of(Failing)
    with pytest.raises(PonderError, match="a test failure"):
        study("m", suite_file(tmp_path), strategies="cot,sc", max_n=2, problems=8, timing_problems=0,
              out=str(tmp_path / "s"), backend_factory=failing, concurrency=3)  # fmt: skip
    db = sqlite3.connect(tmp_path / "s" / "study.sqlite")
    kept = {pid for (pid,) in db.execute("SELECT problem_id FROM requests")}
    assert kept and "q5" not in kept  # finished requests saved, the failed one not
    seeded = factory_of(SeededBackend)
    resumed = study("m", suite_file(tmp_path), strategies="cot,sc", max_n=2, problems=8, timing_problems=0,
                    out=str(tmp_path / "s"), backend_factory=seeded, resume=True)  # fmt: skip
    assert all(r["problems"] == 8 for r in resumed["rows"])


def test_a_concurrent_study_killed_with_sigkill_resumes_to_the_same_summary(tmp_path: Path) -> None:
    suite = suite_file(tmp_path, 40)
    out = str(tmp_path / "killed")
    script = KILLABLE.replace("seed=3,", "seed=3, concurrency=4,").replace("delay=0.02", "delay=0.05")
    proc = subprocess.Popen(
        [sys.executable, "-c", script.format(tests=str(TESTS), suite=suite, out=out, resume=False)],
        env=os.environ.copy(),
    )
    db = Path(out) / "study.sqlite"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            if (
                db.exists()
                and sqlite3.connect(db).execute("SELECT count(*) FROM requests").fetchone()[0] >= 30
            ):
                break
        except sqlite3.Error:
            continue
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = sqlite3.connect(db).execute("SELECT count(*) FROM requests").fetchone()[0]
    whole = 2 * 40 * 2 + 2 * 3 * 2
    assert 30 <= kept < whole
    resumed = script.format(tests=str(TESTS), suite=suite, out=out, resume=True)
    assert subprocess.run([sys.executable, "-c", resumed], timeout=120).returncode == 0
    assert sqlite3.connect(db).execute("SELECT count(*) FROM requests").fetchone()[0] == whole
    alone = str(tmp_path / "alone")
    subprocess.run(
        [sys.executable, "-c", KILLABLE.format(tests=str(TESTS), suite=suite, out=alone, resume=False)],
        timeout=120,
        check=True,
    )
    a = json.loads((Path(out) / "summary.json").read_text())
    b = json.loads((Path(alone) / "summary.json").read_text())
    timed = {"mean_seconds", "mean_cost_usd"}
    assert [{k: v for k, v in r.items() if k not in timed} for r in a["rows"]] == [
        {k: v for k, v in r.items() if k not in timed} for r in b["rows"]
    ]


def test_concurrency_is_a_setting_of_the_run_not_of_the_study(tmp_path: Path) -> None:
    first = run(tmp_path)
    assert run(tmp_path, resume=True, concurrency=3) == first  # resumed at another concurrency
    with pytest.raises(PonderError, match="--concurrency"):
        run(tmp_path, out="bad", concurrency=0)
    config = tmp_path / "c.toml"
    config.write_text('[study]\nmodels = "small"\nsuite = "lists@1"\nconcurrency = 4\n')
    assert StudyConfig.from_toml(config).concurrency == 4


# -- the store's schema -----------------------------------------------------------------------------


def test_the_store_has_a_schema_an_older_store_reads_a_newer_is_refused(tmp_path: Path) -> None:
    from ponder.lab.study.store import STORE_SCHEMA

    first = run(tmp_path)
    db = tmp_path / "out" / "study.sqlite"
    conn = sqlite3.connect(db)
    assert (
        json.loads(conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]) == STORE_SCHEMA
    )
    with conn:
        conn.execute("DELETE FROM meta WHERE key = 'schema'")  # as a store written before the schema
    assert run(tmp_path, resume=True) == first
    with conn:
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (json.dumps(STORE_SCHEMA + 1),))
    conn.close()
    with pytest.raises(PonderError) as refused:
        run(tmp_path, resume=True)
    message = str(refused.value)
    assert "\n" not in message and "newer ponder" in message and "upgrade ponder" in message
    proc = subprocess.run(
        [sys.executable, "-m", "ponder.cli.main", "report", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "newer ponder" in proc.stderr and "Traceback" not in proc.stderr


def test_new_verdicts_are_saved_with_their_request_or_not_at_all(tmp_path: Path) -> None:
    from ponder.lab.study.execute import Drawn, Record
    from ponder.lab.study.store import StudyStore
    from ponder.tasks.base import Item
    from ponder.types import Usage

    store = StudyStore(tmp_path / "study.sqlite")
    store.initialise([Item("q0", "qa", None, "public", "?", "1", "", "number")], {})
    drawn = tuple(Drawn(f"Answer: {a}", "", a, None, 3, "stop") for a in ("1", "2"))
    record = Record("m", "q0", "pool", 1, Usage(calls=1), drawn, (), verdicts=(True, False))
    store.save(record, {"1": True, "2": False})
    assert (store.verdict("q0", "1"), store.verdict("q0", "2")) == (True, False)
    with pytest.raises(sqlite3.IntegrityError):  # the same request twice: the transaction rolls back whole
        store.save(record, {"3": True})
    assert store.verdict("q0", "3") is None
    store.close()


def test_a_ray_address_that_is_not_a_string_is_one_line(tmp_path: Path) -> None:
    config = StudyConfig(models=["m"], suite="lists@1", executor="ray", address=6379, out=str(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(PonderError, match="'address' must be a string"):
        config.check()
