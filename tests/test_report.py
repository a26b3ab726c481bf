"""The report in a real browser: headless Chromium renders it; plots, problems and console are checked."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_study import run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    run(tmp, strategies="cot,sc,bon,coverage", max_n=8, only={"large": ["cot"]})
    return tmp / "out"


@pytest.fixture(scope="module")
def page(study_dir: Path) -> Iterator[tuple[Any, list[str]]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.on(
            "request", lambda r: errors.append(f"fetched {r.url}") if not r.url.startswith("file:") else None
        )
        tab.goto((study_dir / "report.html").as_uri())
        yield tab, errors
        browser.close()


def expected(summary: dict[str, Any]) -> dict[str, tuple[int, int]]:
    rows = summary["rows"]
    selection = [r for r in rows if r["strategy"] != "coverage"]
    pairs = {(r["model"], r["strategy"]) for r in selection}
    out = {plot: (len(pairs), len(selection)) for plot in ("tokens", "flops", "seconds", "dollars")}
    covered = [r for r in rows if r["strategy"] == "coverage"]
    ladders = {(r["model"], r["strategy"]) for r in selection if r["budget"] > 1}
    laddered = [r for r in selection if (r["model"], r["strategy"]) in ladders]
    out["coverage"] = (len({r["model"] for r in covered}) + len(ladders), len(covered) + len(laddered))
    return out


def test_every_plot_holds_its_series_and_points(page: tuple[Any, list[str]], study_dir: Path) -> None:
    tab, _ = page
    summary = json.loads((study_dir / "summary.json").read_text())
    drawn = tab.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('svg.plot')).map(s => [s.dataset.plot,"
        " [s.querySelectorAll('g.series').length, s.querySelectorAll('circle.point').length]]))"
    )
    assert {k: tuple(v) for k, v in drawn.items()} == expected(summary)
    assert tab.locator("svg[data-plot=flops] g.frontier").count() == 1
    assert tab.locator("svg[data-plot=coverage] g.fit").count() >= 1


def test_the_problem_list_holds_every_problem_and_filters(
    page: tuple[Any, list[str]], study_dir: Path
) -> None:
    tab, _ = page
    summary = json.loads((study_dir / "summary.json").read_text())
    ids = tab.evaluate("Array.from(document.querySelectorAll('.problem')).map(p => p.dataset.id)")
    assert ids == summary["provenance"]["problem_ids"]
    samples = tab.locator(".sample").count()
    assert samples == 8 * (8 + 1) + 8  # small: a pool of 8 and a cot answer; large: a cot answer
    tab.click("button[data-filter=wrong]")
    visible = tab.evaluate(
        "Array.from(document.querySelectorAll('.sample:not(.hidden)')).map(s => s.className)"
    )
    assert visible and all("wrong" in c for c in visible)
    tab.click("button[data-filter=all]")
    assert tab.locator(".sample.hidden").count() == 0


def test_the_console_is_clean_and_nothing_is_fetched(page: tuple[Any, list[str]], study_dir: Path) -> None:
    _, errors = page
    assert errors == []
    html = (study_dir / "report.html").read_text()
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert "<script src" not in html and "<link" not in html


def test_report_rerenders_from_the_store(study_dir: Path) -> None:
    before = (study_dir / "report.html").read_text()
    (study_dir / "report.html").unlink()
    proc = subprocess.run(
        [sys.executable, "-m", "ponder.cli.main", "report", str(study_dir)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert (study_dir / "report.html").read_text() == before
    missing = subprocess.run(
        [sys.executable, "-m", "ponder.cli.main", "report", str(study_dir / "nope")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "holds no finished study" in missing.stderr
