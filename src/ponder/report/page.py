"""The study report: one self-contained HTML page (inline CSS, SVG and a few lines of JS).

It reads only the study's folder (summary.json, as a typed `Summary`, and study.sqlite), so
`ponder report DIR` re-renders it without a model, and it opens offline: no CDN, no external file.

This module writes the page: its header, headline and notes, and the order of the sections, each made
by its own module (charts, points, scores, judging, matched, difficulty, problems; the CSS and script
in assets).
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from ponder.lab.study.store import StudyStore
from ponder.lab.study.summary import Headline, Summary
from ponder.report import charts, difficulty, judging, matched, points, problems, scores
from ponder.report.assets import CSS, SCRIPT

REPORT = "report.html"


def _headline_note(headline: Headline | None) -> str:
    if headline is None:
        return ""
    among = headline.chosen_among
    chosen = (
        f"The first point was chosen as the best of {among} after seeing the data; its interval is "
        f"adjusted for that choice ({escape(headline.ci_method)})."
        if among > 1
        else f"Interval: {escape(headline.ci_method)}."
    )
    return f'<p class="sub">{chosen}</p>'


def _notes(summary: Summary) -> str:
    """What the figures could not include, and what a strategy does not do (`findings.py`)."""
    if not summary.notes:
        return ""
    items = "".join(f"<li>{escape(note)}</li>" for note in summary.notes)
    return f'<p class="sub">Notes:</p><ul class="sub">{items}</ul>'


def render(folder: Path) -> Path:
    """Write DIR/report.html from DIR/summary.json and DIR/study.sqlite."""
    from ponder.errors import PonderError

    summary_path = folder / "summary.json"
    store_path = folder / "study.sqlite"
    if not summary_path.is_file() or not store_path.is_file():
        raise PonderError(
            f"{folder} holds no finished study (summary.json and study.sqlite): run `ponder study` first"
        )
    summary = Summary.load(summary_path)
    prov = summary.provenance
    store = StudyStore(store_path)
    try:
        problem_list = problems.section(store, private=prov.split == "private")
    finally:
        store.close()
    headline = summary.headline
    models = ", ".join(prov.models)
    levels = f" (level {', '.join(map(str, prov.levels))})" if prov.levels else ""
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ponder study · {escape(prov.suite)}</title><style>{CSS}</style></head>
<body>
<h1>ponder study</h1>
<p class="sub">{escape(models)} on <code>{escape(prov.suite)}</code>{levels} · {prov.problems} problems ·
temperature {prov.sampling.temperature} · up to {prov.sampling.max_tokens} tokens per sample</p>
<p class="headline">{
        escape(headline.sentence) if headline is not None else "No comparison: the study has one point."
    }</p>
{_headline_note(headline)}
{"".join(f'<p class="headline compare">{escape(c.sentence)}</p>' for c in summary.comparisons)}
<h2>Accuracy against compute</h2>
<p class="sub">{prov.problems} problems per point. Bands and whiskers are 95% intervals over problems ({
        escape(points.interval_methods(summary))
    }). Budgets k are derived from one pool of samples per problem, so a pool point's tokens, FLOPs,
seconds and dollars are derived estimates (see the table); the dashed black line is the compute-optimal
frontier (Pareto over accuracy and mean FLOPs).</p>
{charts.section(summary)}
{charts.law_note(summary)}
<h2>All points</h2>{points.section(summary)}
{_notes(summary)}
{scores.section(summary)}
{judging.section(summary)}
{matched.section(summary)}
<h2>By difficulty</h2>
{difficulty.section(summary)}
<h2>Truncation</h2>{points.truncation(summary)}
<h2>Problems</h2>{problem_list}
<h2>Provenance</h2><div class="provenance"><pre>{escape(json.dumps(prov.to_dict(), indent=2))}</pre></div>
<script>{SCRIPT}</script>
</body></html>
"""
    out = folder / REPORT
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(html)
    tmp.replace(out)
    return out
