"""Suite specs, static sets, the private secret, and `ponder tasks` through the CLI."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ponder import PonderError
from ponder.tasks import Item, load, parse_suite
from ponder.tasks.static import GSM8K_TEST, gsm8k_gold

GSM8K = GSM8K_TEST  # the copy shipped in the package


def ponder(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "ponder.cli.main", *args], capture_output=True, text=True, timeout=300
    )
    if check and proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return proc


def test_grammar() -> None:
    parts = parse_suite(
        "arithmetic@3+knights@frontier+gsm8k+gsm8k:x/t.jsonl+jsonl:x.jsonl:question=prompt:check=exact"
    )
    assert [str(p) for p in parts] == [
        "arithmetic@3",
        "knights@frontier",
        "gsm8k",
        "gsm8k:x/t.jsonl",
        "jsonl:x.jsonl:check=exact:question=prompt",
    ]


@pytest.mark.parametrize(
    ("suite", "fragment"),
    [
        ("", "empty suite"),
        ("arithmetic", "needs a level"),
        ("arithmetic@0", "levels start at 1"),
        ("nosuch@2", "unknown task family"),
        ("arithmetic@two", "bad suite part"),
        ("gsm8k:", "needs a path"),
        ("jsonl:x.jsonl:question=", "not key=value"),
    ],
)
def test_bad_suites(suite: str, fragment: str) -> None:
    with pytest.raises(PonderError, match=fragment):
        parse_suite(suite)


def test_mixes_are_round_robin() -> None:
    items = load("arithmetic@1+lists@2+knights@1", problems=7, seed=4)
    assert [i.family for i in items] == ["arithmetic", "lists", "knights"] * 2 + ["arithmetic"]
    assert items[0] == load("arithmetic@1", problems=1, seed=4)[0]


def test_gsm8k_is_shuffled_by_seed() -> None:
    a = load("gsm8k", problems=20, seed=1)
    b = load("gsm8k", problems=20, seed=2)
    assert a == load("gsm8k", problems=20, seed=1)
    assert [i.id for i in a] != [i.id for i in b]
    assert all(i.answer.lstrip("-").replace(".", "").isdigit() for i in a)
    assert gsm8k_gold("so #### 1,234") == "1234"
    with pytest.raises(PonderError, match="no private split"):
        load("gsm8k", problems=2, split="private")


def test_gsm8k_ships_in_the_package_and_a_path_reads_another_copy(tmp_path: Path) -> None:
    shipped = load("gsm8k", problems=2000)
    assert len(shipped) == 1319 and {i.family for i in shipped} == {"gsm8k"}
    folder = Path(str(GSM8K_TEST)).parent
    assert "MIT License" in (folder / "LICENSE").read_text(encoding="utf-8")
    assert "3101c7d5072418e28b9008a6636bde82a006892c" in (folder / "README.md").read_text(encoding="utf-8")
    other = tmp_path / "two.jsonl"
    other.write_text(
        '{"question": "1+1?", "answer": "so #### 2"}\n{"question": "2+2?", "answer": "#### 4"}\n'
    )
    assert sorted(i.answer for i in load(f"gsm8k:{other}", problems=5)) == ["2", "4"]


def test_nothing_reads_project_data_from_above_the_repository() -> None:
    root = Path(__file__).resolve().parent.parent
    above = ("parents" + "[2]", ".." + "/shared", "shared" + "/benchmarks")
    offenders = [
        f"{path.relative_to(root)}: {needle}"
        for folder in ("src", "tests", "studies")
        for path in sorted((root / folder).rglob("*"))
        if path.suffix in (".py", ".toml")
        for needle in above
        if needle in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_jsonl_fields_and_checks(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"prompt": "2+2?", "target": "4", "key": "a"}\n\n'
        '{"prompt": "Capital of France?", "target": "Paris", "key": "b"}\n'
    )
    items = load(f"jsonl:{path}:question=prompt:answer=target:id=key:check=exact", problems=5)
    assert sorted(i.id for i in items) == ["a", "b"]
    from ponder.tasks import correct

    paris = next(i for i in items if i.id == "b")
    assert correct(paris, "Paris") and not correct(paris, "Lyon")
    with pytest.raises(PonderError, match="lacks 'question'"):
        load(f"jsonl:{path}", problems=1)
    with pytest.raises(PonderError, match="check must be one of"):
        load(f"jsonl:{path}:question=prompt:answer=target:check=fuzzy", problems=1)
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(PonderError, match="not valid JSON"):
        load(f"jsonl:{tmp_path / 'bad.jsonl'}", problems=1)
    with pytest.raises(PonderError, match="not found"):
        load(f"jsonl:{tmp_path / 'none.jsonl'}", problems=1)


def test_frontier_needs_a_calibration() -> None:
    with pytest.raises(PonderError, match="needs a model"):
        load("arithmetic@frontier", problems=2)
    with pytest.raises(PonderError, match="tasks calibrate arithmetic"):
        load("arithmetic@frontier", problems=2, model="smollm2-135m")
    from ponder.store import open_store

    store = open_store()
    store.save_calibration("arithmetic", "smollm2-135m", 3, 2, 5, {})
    store.save_calibration("lists", "smollm2-135m", None, None, 1, {})
    store.close()
    with pytest.raises(PonderError, match="below 50% even at level 1"):
        load("lists@frontier", problems=2, model="smollm2-135m")
    assert {i.level for i in load("arithmetic@frontier", problems=3, model="smollm2-135m")} == {3}


@pytest.mark.parametrize("name", ["code", "counting"])
def test_a_frontier_study_never_scores_the_calibration_items(name: str) -> None:
    """At level 1 the item space is small: the seed offset alone let calibration items into the
    study. The calibration record keeps the hashes of every item it measured; the study skips them."""
    from ponder.lab.calibrate import CALIBRATION_SEED_OFFSET
    from ponder.store import open_store
    from ponder.tasks import generate
    from ponder.tasks.seeds import content_hash

    def hashes(items: list[Item]) -> set[str]:
        return {content_hash(i.family, i.question) for i in items}

    # what `ponder tasks calibrate NAME` measures at level 1 when the crossing lies near it
    calibration = hashes(generate.items(name, 1, 30, seed=CALIBRATION_SEED_OFFSET))
    assert hashes(generate.items(name, 1, 20)) & calibration  # the overlap the seed offset left
    store = open_store()
    store.save_calibration(name, "m", 1, 1, 2, {"item_hashes": sorted(calibration)})
    store.close()
    study = load(f"{name}@frontier", problems=20, model="m")
    assert len(study) == 20 and {i.level for i in study} == {1}
    assert not hashes(study) & calibration
    assert len({i.id for i in study}) == 20
    generate._CACHE.clear()  # ids and items are a function of (suite, seed, exclusions), not of the cache
    again = load(f"{name}@frontier", problems=20, model="m")
    assert [(i.id, i.question) for i in again] == [(i.id, i.question) for i in study]
    # the same level named outright is the sequence as it always was, with its usual ids
    plain = load(f"{name}@1", problems=20)
    assert [i.id for i in plain] == [f"{name}-L1-public-s0-{k}" for k in range(20)]
    assert not {i.id for i in plain} & {i.id for i in study}


def test_tasks_list_and_show_json() -> None:
    families = json.loads(ponder("tasks", "list", "--json").stdout)["families"]
    assert len([f for f in families if f["kind"] == "procedural"]) >= 7
    assert all(set(f) == {"name", "kind", "description", "answer_format"} for f in families)
    shown = json.loads(ponder("tasks", "show", "modular@2+countdown@1", "--n", "3", "--json").stdout)
    assert [i["family"] for i in shown["items"]] == ["modular", "countdown", "modular"]
    assert all({"id", "family", "level", "question", "answer"} <= set(i) for i in shown["items"])


def test_the_private_secret_is_made_once_and_never_shown(isolated_home: Path) -> None:
    out = ponder("tasks", "show", "lists@2", "--split", "private", "--n", "3", "--json").stdout
    secret_file = isolated_home / "task-secret"
    secret = secret_file.read_text().strip()
    assert len(secret) == 64 and stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    assert secret not in out
    again = ponder("tasks", "show", "lists@2", "--split", "private", "--n", "3", "--json").stdout
    assert json.loads(again)["items"] == json.loads(out)["items"]
    public = json.loads(ponder("tasks", "show", "lists@2", "--n", "3", "--json").stdout)["items"]
    assert {i["question"] for i in public}.isdisjoint(i["question"] for i in json.loads(out)["items"])


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["tasks", "show", "nosuch@1"], "unknown task family"),
        (["tasks", "show", "lists@1", "--split", "secret"], "unknown split"),
        (["tasks", "show", "lists@1", "--n", "0"], "at least 1"),
        (["tasks", "calibrate", "gsm8k", "-m", "smollm2-135m"], "unknown task family"),
        (["tasks", "calibrate", "lists", "-m", "smollm2-135m", "--budget", "3"], "--budget must be at least"),
        (["tasks", "saturation", "lists@1+knights@1", "-m", "smollm2-135m"], "one FAMILY@LEVEL"),
        (["tasks", "contamination", "lists@1", "-m", "smollm2-135m"], "one gsm8k or gsm8k:PATH"),
    ],
)
def test_tasks_bad_input(args: list[str], fragment: str) -> None:
    proc = ponder(*args, check=False)
    assert proc.returncode == 2 and fragment in proc.stderr and "Traceback" not in proc.stderr


def test_calibrate_and_probes_run_on_the_real_model(smol_path: Path) -> None:
    cal = json.loads(
        ponder(
            "tasks",
            "calibrate",
            "arithmetic",
            "-m",
            "smollm2-135m",
            "--problems",
            "2",
            "--max-tokens",
            "24",
            "--json",
        ).stdout
    )
    assert cal["family"] == "arithmetic" and "1" in {str(k) for k in cal["measured"]}
    assert cal["items"] == sum(m["total"] for m in cal["measured"].values()) == cal["budget"] == 12
    assert all({"correct", "total", "accuracy", "low", "high"} <= set(m) for m in cal["measured"].values())
    assert "profile likelihood" in cal["method"] and {"crossing", "low", "high", "a", "b"} <= set(cal["fit"])
    if cal["level"] is None:
        assert "below 50%" in cal["note"]
    sat = json.loads(
        ponder(
            "tasks",
            "saturation",
            "lists@1",
            "-m",
            "smollm2-135m",
            "--threshold",
            "0.5",
            "--problems",
            "4",  # the fewest at which 0.5 can be reached
            "--max-tokens",
            "16",
            "--json",
        ).stdout
    )
    assert sat["problems"] == 4 and 0 <= sat["ci_low"] <= sat["accuracy"] <= sat["ci_high"] <= 1
    con = json.loads(
        ponder(
            "tasks",
            "contamination",
            "gsm8k",
            "-m",
            "smollm2-135m",
            "--problems",
            "4",
            "--max-tokens",
            "16",
            "--json",
        ).stdout
    )
    assert con["perturbed"] + con["not_perturbed"] == 4
    assert sum(con["reasons"].values()) == con["not_perturbed"]
    assert con["ci_low"] <= con["difference"] <= con["ci_high"]
    assert con["control_low"] <= con["control_difference"] <= con["control_high"] and con["verdict"]
