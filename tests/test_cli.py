"""`ponder` as a user runs it: a real process, the real small model, a store in a temporary home."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

QUESTION = "A farmer has 17 sheep, buys 23 and sells 8. How many does he have now?"


def ponder(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "ponder.cli.main", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"ponder {' '.join(args)} failed: {proc.stderr}")
    return proc


def run_count(home: Path) -> int:
    db = home / "ponder.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])


def test_ask_json_usage_adds_up_and_is_recorded(isolated_home: Path, smol_path: Path) -> None:
    out = ponder(
        "ask",
        QUESTION,
        "-m",
        "smollm2-135m",
        "-s",
        "sc@4",
        "--max-tokens",
        "32",
        "--seed",
        "1",
        "--json",
    )
    data = json.loads(out.stdout)
    for key in ("answer", "strategy", "model", "candidates", "votes", "usage"):
        assert key in data
    assert data["strategy"] == "sc@4" and data["model"] == "smollm2-135m"
    assert len(data["candidates"]) == 4
    for c in data["candidates"]:
        assert set(c) >= {"text", "answer", "score", "completion_tokens"}
    usage = data["usage"]
    assert usage["completion_tokens"] == sum(c["completion_tokens"] for c in data["candidates"])
    assert usage["calls"] == 1 and usage["prompt_tokens"] > 0
    assert usage["flops"] == 2 * 134_515_008 * (
        usage["prompt_tokens"] - usage["cached_prompt_tokens"] + usage["completion_tokens"]
    )
    assert usage["wall_seconds"] > 0 and usage["cost_usd"] > 0
    assert sum(data["votes"].values()) == sum(c["answer"] is not None for c in data["candidates"])

    listed = json.loads(ponder("runs", "list", "--json").stdout)["runs"]
    assert [r["id"] for r in listed] == [data["run_id"]]
    shown = json.loads(ponder("runs", "show", data["run_id"][:6], "--json").stdout)
    assert shown["completion_tokens"] == usage["completion_tokens"]
    assert [s["completion_tokens"] for s in shown["samples"]] == [
        c["completion_tokens"] for c in data["candidates"]
    ]
    assert len(shown["calls"]) == 1


def test_a_composed_strategy_on_the_real_model_sums_its_calls(isolated_home: Path, smol_path: Path) -> None:
    """`vote@3(cot)`: three child runs at the vote's temperature, usage equal to the sum of its calls,
    the tree kept in the store and shown by `runs show`."""
    args = ["ask", QUESTION, "-m", "smollm2-135m", "-s", "vote@3(cot)", "--max-tokens", "24", "--seed", "3"]
    data = json.loads(ponder(*args, "--json").stdout)
    assert len(data["children"]) == 3 and len(data["calls"]) == 3
    for key in ("calls", "prompt_tokens", "cached_prompt_tokens", "completion_tokens", "flops", "cost_usd"):
        assert data["usage"][key] == pytest.approx(sum(c[key] for c in data["calls"]))
        assert data["usage"][key] == pytest.approx(sum(c["usage"][key] for c in data["children"]))
    assert data["usage"]["completion_tokens"] == sum(c["completion_tokens"] for c in data["candidates"])
    assert sum(data["votes"].values()) == sum(c["answer"] is not None for c in data["children"])
    shown = ponder("runs", "show", data["run_id"])
    assert shown.stdout.count("cot on smollm2-135m") == 3
    stored = json.loads(ponder("runs", "show", data["run_id"], "--json").stdout)
    assert [c["usage"] for c in stored["children"]] == [c["usage"] for c in data["children"]]


def test_a_limit_holds_on_the_real_model(isolated_home: Path, smol_path: Path) -> None:
    args = ["ask", QUESTION, "-m", "smollm2-135m", "-s", "vote@4(cot)", "--max-tokens", "32"]
    data = json.loads(ponder(*args, "--limit", "tokens=40", "--seed", "2", "--json").stdout)
    assert data["usage"]["completion_tokens"] <= 40
    assert data["stopped"] is not None and "limit" in data["stopped"]
    assert len(data["children"]) == 4 and len(data["calls"]) < 4


def test_ask_for_people(smol_path: Path) -> None:
    out = ponder("ask", "What is 2+2?", "-m", "smollm2-135m", "-s", "sc@2", "--max-tokens", "16")
    assert "answer:" in out.stdout and "compute" in out.stdout and "runs show" in out.stdout


def test_models_lists_the_catalog(smol_path: Path) -> None:
    models = json.loads(ponder("models", "--json").stdout)["models"]
    by_name = {m["name"]: m for m in models}
    assert {"smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "gemma-3-270m"} <= set(by_name)
    assert by_name["smollm2-135m"]["present"] is True
    assert by_name["qwen2.5-coder-0.5b"]["default"] is True
    assert all(m["license"] and m["parameters"] and m["size_mb"] > 0 for m in models)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["ask", QUESTION, "-m", "no-such-model"], "unknown model 'no-such-model'"),
        (["ask", QUESTION, "-m", "smollm2-135m", "-s", "magic@3"], "unknown strategy 'magic'"),
        (["ask", QUESTION, "-m", "smollm2-135m", "-s", "sc@100000"], "between 1 and"),
        (["ask", QUESTION, "-m", "smollm2-135m", "-s", "sc@0"], "between 1 and"),
        (["ask", QUESTION, "-m", "smollm2-135m", "--max-tokens", "0"], "--max-tokens"),
        (["ask", QUESTION, "-m", "smollm2-135m", "--temperature", "5"], "--temperature"),
        (["ask", QUESTION, "-m", "smollm2-135m", "--threads", "0"], "--threads"),
        (["ask", "  ", "-m", "smollm2-135m"], "question is empty"),
        (["ask", "word " * 3000, "-m", "smollm2-135m", "--ctx", "256"], "raise the context"),
        (["ask", QUESTION, "-m", "openai:some-model"], "--base-url"),
        (["ask", QUESTION, "-m", "openai:m", "--base-url", "http://127.0.0.1:9/v1"], "cannot reach"),
        (["ask", QUESTION, "-m", "/nowhere/model.gguf"], "not found"),
        (["runs", "show", "ffffffff"], "no run 'ffffffff'"),
        (["runs", "show", "%"], "no run '%'"),
        (["ask", QUESTION, "-m", "smollm2-135m", "-s", "cot:temperature=nan"], "between 0 and 2"),
        (["ask", QUESTION, "-m", "smollm2-135m", "-s", "sc@2:temperature=-3"], "between 0 and 2"),
        (["ask", QUESTION, "-m", "smollm2-135m", "--ctx", "100000000"], "trained context"),
        (["ask", QUESTION, "-m", "smollm2-135m", "--seed", "-1"], "--seed"),
        (["ask", QUESTION, "-m", "smollm2-135m", "--limit", "tokens=lots"], "bad limit"),
        (["ask", QUESTION, "-m", "smollm2-135m", "--role", "judge"], "--role"),
        (["ask", QUESTION, "-m", "smollm2-135m", "-s", "sc@2(cot)"], "does not wrap"),
        (["ask", QUESTION, "-m", "smollm2-135m", "--judge", "gpt-5"], "no strategy in cot calls a judge"),
        (["ask", QUESTION, "-m", "smollm2-135m", "--judge", ""], "name the model"),
        (["ask", QUESTION, "-m", "smollm2-135m", "-s", "vote@64(sc@64)"], "more than 256"),
        (["models", "pull", "gpt-5"], "unknown model"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    args: list[str], fragment: str, isolated_home: Path, smol_path: Path
) -> None:
    proc = ponder(*args, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert run_count(isolated_home) == 0


def test_usage_errors_exit_nonzero_without_traceback() -> None:
    proc = ponder("ask", check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr


def test_version() -> None:
    assert ponder("--version").stdout.startswith("ponder ")


def test_a_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch, smol_path: Path) -> None:
    import ponder as api
    from ponder import PonderError

    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # as if the extra were not installed
    with pytest.raises(PonderError, match=r"pip install 'ponder\[embedded\]'"):
        api.ask("2+2?", model="smollm2-135m")
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(PonderError, match=r"pip install 'ponder\[openai\]'"):
        api.ask("2+2?", model="openai:m", base_url="http://127.0.0.1:9/v1")


def test_a_corrupt_store_is_one_line_and_costs_no_model_call(isolated_home: Path, smol_path: Path) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / "ponder.db").write_text("this is not a database")
    proc = ponder("ask", QUESTION, "-m", "smollm2-135m", check=False)
    assert proc.returncode == 2 and "run store" in proc.stderr and "Traceback" not in proc.stderr


def test_text_that_looks_like_markup_prints_as_text(smol_path: Path) -> None:
    question = "Repeat [/b] and [bold] exactly."
    out = ponder("ask", question, "-m", "smollm2-135m", "--max-tokens", "8")
    assert "answer:" in out.stdout
    listed = ponder("runs", "list")
    assert "[/b]" in listed.stdout
    run_id = json.loads(ponder("runs", "list", "--json").stdout)["runs"][0]["id"]
    assert "[/b]" in ponder("runs", "show", run_id).stdout


def test_python_api_returns_the_recorded_result(isolated_home: Path, smol_path: Path) -> None:
    import ponder as api

    result = api.ask(
        "What is 2+2?", model="smollm2-135m", strategy="bon@2:scorer=vote", max_tokens=12, seed=3
    )
    assert isinstance(result, api.Result) and result.run_id is not None
    assert len(result.candidates) == 2 and result.scorer == "vote"
    assert result.usage.completion_tokens == sum(c.completion_tokens for c in result.candidates)
    assert run_count(isolated_home) == 1
    with pytest.raises(api.PonderError, match="unknown answer format"):
        api.ask("2+2?", model="smollm2-135m", answer_format="yaml")
    assert run_count(isolated_home) == 1
