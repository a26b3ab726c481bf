"""Every stored study re-analyses, read-only, to the summary.json stored beside it: a change to the
analysis that moves a published figure fails here, and must re-write the stored summaries on purpose
(with the reason in its note), never silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from ponder.lab.study import StudyConfig
from ponder.lab.study.analysis import analyse
from ponder.lab.study.outputs import provenance
from ponder.lab.study.runner import stored_config
from ponder.lab.study.store import StudyStore

RESULTS = Path(__file__).resolve().parent.parent / "studies" / "results"
STORES = sorted(RESULTS.rglob("study.sqlite"))


def test_the_repository_holds_stored_studies() -> None:
    assert len(STORES) >= 5  # the guard below must have something to guard


@pytest.mark.parametrize("db", STORES, ids=[str(p.parent.relative_to(RESULTS)) for p in STORES])
def test_a_stored_study_reanalyses_to_its_stored_summary(db: Path) -> None:
    folder = db.parent
    before = db.read_bytes()
    store = StudyStore(db, readonly=True)
    try:
        config = stored_config(store.meta("identity"), StudyConfig(models=["x"], suite="x", out=str(folder)))
        text = analyse(config, store, provenance(config, store)).to_json() + "\n"
    finally:
        store.close()
    assert text == (folder / "summary.json").read_text()
    assert db.read_bytes() == before  # read-only: the stored study is untouched
