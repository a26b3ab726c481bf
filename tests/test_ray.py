"""The Ray executor on a real local Ray cluster: the same requests, seeds and samples as the local
executor; an actor killed midway loses nothing; a request that fails on every try is recorded, not
dropped; either executor resumes the other's study."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ponder import PonderError
from ponder.backends.factory import BackendOptions, open_backend
from ponder.lab.study import StudyConfig, run_study
from ponder.lab.study.execute import Work
from ponder.lab.study.ray_executor import TRIES, _without_gold, deal
from ponder.models.resolve import ModelRef
from ponder.models.resolve import parse as parse_model
from ponder.tasks.base import Item
from ponder.tasks.generate import items as family_items
from ponder.types import Generation, Message, SamplingParams
from scripted import SeededBackend

ray = pytest.importorskip("ray", reason="Ray is an extra: pip install 'ponder[ray]' (make test installs it)")
MODEL = "smollm2-135m"


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[None]:
    from ray import cloudpickle  # the test's backends travel to the actors by value

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cloudpickle.register_pickle_by_value(sys.modules["scripted"])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def config(out: Path, **settings: Any) -> StudyConfig:
    base: dict[str, Any] = {
        "models": [MODEL],
        "suite": "arithmetic@1",
        "strategies": ["cot", "sc@2"],
        "problems": 4,
        "max_tokens": 24,
        "threads": 1,
        "timing_problems": 0,
        "out": str(out),
    }
    return StudyConfig(**(base | settings))


def requests(out: Path) -> dict[tuple[str, str, str], tuple[int, list[str]]]:
    """(model, problem, kind) → (seed, the samples' texts) of every stored request."""
    db = sqlite3.connect(out / "study.sqlite")
    found = {}
    rows = db.execute("SELECT id, model, problem_id, kind, seed FROM requests").fetchall()
    for rid, model, problem, kind, seed in rows:
        texts = db.execute("SELECT text FROM samples WHERE request_id = ? ORDER BY idx", (rid,)).fetchall()
        found[(model, problem, kind)] = (seed, [t for (t,) in texts])
    db.close()
    return found


def accuracies(summary: Path) -> dict[tuple[str, int], float]:
    rows = json.loads(summary.read_text())["rows"]
    return {(r["strategy"], r["budget"]): r["accuracy"] for r in rows}


def real(model: str, config: StudyConfig) -> tuple[Any, ModelRef]:
    ref = parse_model(model)
    options = BackendOptions(threads=config.threads, ctx=config.ctx)
    return open_backend(ref, options, slots=4), ref


def test_two_workers_draw_what_the_local_executor_draws(tmp_path: Path) -> None:
    local = run_study(config(tmp_path / "local"), quiet=True)
    on_ray = run_study(config(tmp_path / "ray", executor="ray", workers=2), quiet=True)
    a, b = requests(tmp_path / "local"), requests(tmp_path / "ray")
    assert set(a) == set(b) and len(a) == 8  # 4 problems × (a pool, a cot run)
    assert {k: seed for k, (seed, _) in a.items()} == {k: seed for k, (seed, _) in b.items()}
    # one thread per worker, as the local run: the same logits, so the same samples
    assert a == b
    assert accuracies(local) == accuracies(on_ray)


def die_once(marker: str) -> None:
    """Exit this worker process, as a lost node would, unless a worker already has: the marker
    file, created atomically, says so."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return
    os._exit(1)


def qa_suite(tmp: Path, count: int) -> str:
    """A stand-in suite of `count` questions, each answered "1"."""
    suite = tmp / "qa.jsonl"
    suite.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "question": f"Question {i}?", "answer": "1"}) + "\n"
            for i in range(count)
        )
    )
    return f"jsonl:{suite}:check=exact"


@dataclass
class DiesOnce:
    """The real engine, whose process exits on its third call (once across all actors: a marker
    file, created atomically, says it has happened)."""

    inner: Any
    marker: str
    calls: int = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        self.calls += 1
        if self.calls == 3:
            die_once(self.marker)
        result: Generation = await self.inner.generate(messages, params, n)
        return result


def test_an_actor_killed_midway_loses_nothing(tmp_path: Path) -> None:
    marker = str(tmp_path / "died")

    def dies_once(model: str, config: StudyConfig) -> tuple[Any, ModelRef]:
        backend, ref = real(model, config)
        return DiesOnce(backend, marker), ref

    summary = run_study(
        config(tmp_path / "ray", executor="ray", workers=2), quiet=True, backend_factory=dies_once
    )
    assert Path(marker).exists()  # an actor did die
    found = requests(tmp_path / "ray")
    assert len(found) == 8  # every request present, each once (the store's key is unique)
    db = sqlite3.connect(tmp_path / "ray" / "study.sqlite")
    assert db.execute("SELECT count(*) FROM failures").fetchone() == (0,)
    db.close()
    assert accuracies(summary)


@dataclass
class FailsOn(SeededBackend):
    """A stand-in model that raises on every question containing `poison`."""

    poison: str = ""

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        if self.poison and any(self.poison in m.content for m in messages):
            raise RuntimeError("this question breaks the model")
        return await super().generate(messages, params, n)


def test_a_request_that_fails_every_try_is_recorded_and_resume_finishes_it(tmp_path: Path) -> None:
    settings = {"suite": qa_suite(tmp_path, 4), "models": ["small"], "threads": 1}

    def breaks_q2(model: str, config: StudyConfig) -> tuple[Any, ModelRef]:
        return FailsOn(model=model, poison="Question 2?"), ModelRef(model, "embedded", model, None, 100)

    with pytest.raises(PonderError, match=r"2 request\(s\) failed on every try.*--resume"):
        on_ray = config(tmp_path / "s", executor="ray", workers=2, **settings)
        run_study(on_ray, quiet=True, backend_factory=breaks_q2)
    db = sqlite3.connect(tmp_path / "s" / "study.sqlite")
    failures = db.execute("SELECT problem_id, kind, tries, error FROM failures ORDER BY kind").fetchall()
    assert [(p, k, t) for p, k, t, _ in failures] == [("q2", "pool", TRIES), ("q2", "run:cot", TRIES)]
    assert all("this question breaks the model" in e for *_, e in failures)
    assert db.execute("SELECT count(*) FROM requests").fetchone() == (6,)  # every other request saved
    db.close()
    assert not (tmp_path / "s" / "summary.json").exists()  # no summary over missing requests

    def mended(model: str, config: StudyConfig) -> tuple[Any, ModelRef]:
        return FailsOn(model=model), ModelRef(model, "embedded", model, None, 100)

    # the local executor resumes what Ray began, and only the failed requests run
    run_study(config(tmp_path / "s", **settings), resume=True, quiet=True, backend_factory=mended)
    db = sqlite3.connect(tmp_path / "s" / "study.sqlite")
    assert db.execute("SELECT count(*) FROM requests").fetchone() == (8,)
    assert db.execute("SELECT count(*) FROM failures").fetchone() == (0,)
    db.close()


def test_more_workers_than_the_cluster_has_cores_is_one_clear_error(tmp_path: Path) -> None:
    cfg = config(tmp_path / "s", executor="ray", workers=2, threads=2)
    with pytest.raises(PonderError, match="need 4 CPUs and the Ray cluster has 2"):
        run_study(cfg, quiet=True)
    assert not (tmp_path / "s" / "study.sqlite").exists()  # nothing half-made


def _work(problem: str, n: int = 0, kind: str = "pool") -> Work:
    item = Item(problem, "qa", None, "public", "?", "1", "", "number")
    return Work("m", item, kind, None, n=n)


def test_deal_keeps_a_problem_on_one_actor_and_balances_the_load() -> None:
    work = [_work(f"p{i}", n=8) for i in range(6)] + [_work(f"p{i}", kind="run:cot") for i in range(6)]
    lanes = deal(work, 2)
    owners = {w.item.id: i for i, lane in enumerate(lanes) for w in lane}
    assert all(owners[w.item.id] == i for i, lane in enumerate(lanes) for w in lane)
    assert sorted(len(lane) for lane in lanes) == [6, 6]
    assert [w for lane in lanes for w in lane if w.item.id == "p0"] == [work[0], work[6]]  # plan order


def test_an_actor_receives_the_problem_and_no_gold() -> None:
    """The gold is the answer and the oracle's `data` (a suite's hidden tests, GSM8K's worked
    solution): neither travels; the problem a strategy sees (a writing task's rubric) does."""
    data = {
        "check": "humaneval",
        "prompt": "def f():",
        "tests": "assert f() == 'GOLD-TESTS'",
        "entry_point": "f",
    }
    code = Item(
        "h1", "humaneval", None, "public", "Complete f", "def f(): return 'GOLD'", "Write", "code", data=data
    )
    (writing,) = family_items("writing", 1, 1)
    for item in (code, writing):
        sent = _without_gold(Work("m", item, "pool", None, n=2))
        assert sent.item.problem() == item.problem() and sent.item.id == item.id
        travels = ray.cloudpickle.dumps(sent)
        assert b"GOLD" not in travels and sent.item.answer == "" and not sent.item.data


def test_a_worker_that_runs_another_ponder_is_refused(tmp_path: Path) -> None:
    def elsewhere(model: str, config: StudyConfig) -> tuple[Any, ModelRef]:
        from ponder.lab.study import outputs  # in the actor's process: a node with another install

        outputs.engine_versions = lambda: {"ponder": "0.0.1", "xllamacpp": None, "openai": None}
        return SeededBackend(model=model), ModelRef(model, "embedded", model, None, 100)

    cfg = config(tmp_path / "s", suite=qa_suite(tmp_path, 1), models=["small"], executor="ray")
    with pytest.raises(PonderError, match=r"a Ray worker runs other versions of .*ponder"):
        run_study(cfg, quiet=True, backend_factory=elsewhere)
    assert not (tmp_path / "s" / "study.sqlite").exists()  # nothing spent, nothing left


@dataclass
class DiesThenHangs(SeededBackend):
    """A stand-in model whose process exits on its second call (once across all actors), and whose
    replacement never finishes opening (a node that cannot take it)."""

    marker: str = ""
    calls: int = 0

    async def generate(self, messages: Sequence[Message], params: SamplingParams, n: int) -> Generation:
        self.calls += 1
        if self.calls == 2:
            die_once(self.marker)
        return await super().generate(messages, params, n)


def test_a_replacement_that_never_starts_is_given_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ponder.lab.study import ray_executor

    monkeypatch.setattr(ray_executor, "REPLACE_SECONDS", 5.0)
    marker = str(tmp_path / "died")

    def flaky(model: str, config: StudyConfig) -> tuple[Any, ModelRef]:
        if os.path.exists(marker):
            import time

            time.sleep(600)  # the replacement: its session never opens
        return DiesThenHangs(model=model, marker=marker), ModelRef(model, "embedded", model, None, 100)

    cfg = config(tmp_path / "s", suite=qa_suite(tmp_path, 4), models=["small"], executor="ray", workers=2)
    run_study(cfg, quiet=True, backend_factory=flaky)  # the surviving actor takes the rest
    assert Path(marker).exists()
    db = sqlite3.connect(tmp_path / "s" / "study.sqlite")
    assert db.execute("SELECT count(*) FROM requests").fetchone() == (8,)
    assert db.execute("SELECT count(*) FROM failures").fetchone() == (0,)
    db.close()
