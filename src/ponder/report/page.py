"""The study report: one self-contained HTML page (inline CSS, SVG and a few lines of JS).

It reads only the study's folder (summary.json, as a typed `Summary`, and study.sqlite), so
`ponder report DIR` re-renders it without a model, and it opens offline: no CDN, no external file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from ponder.lab.study.store import StudyStore
from ponder.lab.study.summary import Bin, Headline, Row, Summary
from ponder.report import judging, matched, scores
from ponder.report.html import pct as _pct
from ponder.report.html import table as _table
from ponder.report.svg import PALETTE, Dot, Line, plot

REPORT = "report.html"
AXES: tuple[tuple[str, Callable[[Row], float], str], ...] = (
    ("tokens", lambda r: r.mean_completion_tokens, "completion tokens per problem"),
    ("flops", lambda r: r.mean_flops, "FLOPs per problem"),
    ("seconds", lambda r: r.mean_seconds, "seconds per problem"),
    ("dollars", lambda r: r.mean_cost_usd, "dollars per problem"),
)
# Drawn only where some point thought (a think@T ladder): the rows that spent thinking tokens.
THINKING: tuple[str, Callable[[Row], float], str] = (
    "thinking",
    lambda r: r.mean_thinking_tokens or 0.0,
    "thinking tokens per problem",
)
CSS = """
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #0f172a; background: #f8fafc; }
body { margin: 0 auto; max-width: 1180px; padding: 24px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; } h2 { font-size: 1.2rem; margin: 32px 0 8px; }
.sub { color: #475569; margin: 0 0 16px; }
.headline { background: #fff; border-left: 4px solid #2563eb; padding: 12px 16px; font-size: 1.05rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
figure.chart { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; margin: 0; padding: 8px 12px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg.plot { width: 100%; height: auto; }
svg .grid { stroke: #e2e8f0; } svg .tick, svg .axis { font-size: 11px; fill: #475569; }
svg .line { fill: none; stroke: var(--c); stroke-width: 2; }
svg .band { fill: var(--c); opacity: 0.12; stroke: none; }
svg .whisker { stroke: var(--c); stroke-width: 2; opacity: 0.5; }
svg .point { fill: var(--c); stroke: #fff; stroke-width: 1.5; }
svg .frontier .line { stroke: #0f172a; stroke-width: 1.5; opacity: 0.6; }
svg .fit .line { stroke-width: 1.5; opacity: 0.8; }
.legend { list-style: none; padding: 0; margin: 4px 0 0; display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; }
.swatch { display: inline-block; width: 14px; height: 3px; background: var(--c); margin-right: 6px; vertical-align: middle; }
.swatch.dashed { background: repeating-linear-gradient(90deg, var(--c) 0 4px, transparent 4px 7px); }
table { border-collapse: collapse; background: #fff; font-size: 13px; width: 100%; }
th, td { border-bottom: 1px solid #e2e8f0; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
td.best { font-weight: 700; color: #166534; }
.filters button { border: 1px solid #cbd5e1; background: #fff; border-radius: 6px; padding: 4px 10px; cursor: pointer; }
.filters button.on { background: #0f172a; color: #fff; }
.problem { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; margin: 8px 0; padding: 6px 12px; }
.problem summary { cursor: pointer; }
.sample { border-top: 1px solid #f1f5f9; padding: 4px 0; font-size: 13px; }
.sample.correct .verdict { color: #166534; } .sample.wrong .verdict { color: #b91c1c; }
.sample pre { white-space: pre-wrap; background: #f8fafc; padding: 6px; margin: 4px 0; font-size: 12px; }
.hidden { display: none; }
.provenance pre { background: #fff; border: 1px solid #e2e8f0; padding: 8px; font-size: 12px; overflow-x: auto; }
"""
SCRIPT = """
document.querySelectorAll('.filters button').forEach(function (button) {
  button.addEventListener('click', function () {
    var want = button.dataset.filter;
    document.querySelectorAll('.filters button').forEach(function (b) { b.classList.toggle('on', b === button); });
    document.querySelectorAll('.problem').forEach(function (problem) {
      var shown = 0;
      problem.querySelectorAll('.sample').forEach(function (s) {
        var ok = want === 'all' || s.classList.contains(want);
        s.classList.toggle('hidden', !ok);
        if (ok) { shown += 1; }
      });
      problem.classList.toggle('hidden', shown === 0);
    });
  });
});
"""


def _colours(rows: Sequence[Row]) -> dict[tuple[str, str], str]:
    """One colour per (model, strategy), the same in every plot."""
    keys = list(dict.fromkeys((r.model, r.strategy) for r in rows))
    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(keys)}


def _dot(r: Row, x: float) -> Dot:
    return Dot(x, r.accuracy, r.ci_low, r.ci_high, f"@{r.budget}")


def _lines_by_strategy(rows: Sequence[Row], axis: Callable[[Row], float]) -> list[Line]:
    colours = _colours(rows)
    groups: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        if r.strategy != "coverage":
            groups.setdefault((r.model, r.strategy), []).append(r)
    return [
        Line(
            f"{model} · {strategy}",
            [_dot(r, max(axis(r), 1e-12)) for r in rs],
            colour=colours[(model, strategy)],
            extra={"model": model, "strategy": strategy},
        )
        for (model, strategy), rs in groups.items()
    ]


def charts(summary: Summary) -> str:
    rows = summary.rows
    figures = []
    thought = tuple(r for r in rows if r.mean_thinking_tokens)
    for plot_id, axis, label in (*AXES, *((THINKING,) if thought else ())):
        lines = _lines_by_strategy(thought if plot_id == "thinking" else rows, axis)
        if plot_id == "flops" and summary.frontier:
            front = [Dot(max(f.mean_flops, 1e-12), f.accuracy) for f in summary.frontier]
            lines.append(
                Line("compute-optimal frontier", front, dashed=True, colour="#0f172a", kind="frontier")
            )
        unit = "$" if plot_id == "dollars" else ""
        figures.append(plot(plot_id, f"Accuracy against {label}", label, lines, unit=unit))
    coverage: list[Line] = []
    colours = _colours(rows)
    for model, law in summary.coverage_law.items():
        mine = [r for r in rows if r.model == model]
        cov = [r for r in mine if r.strategy == "coverage"]
        if cov:
            coverage.append(
                Line(
                    f"{model} · coverage (pass@k)",
                    [_dot(r, r.budget) for r in cov],
                    dashed=True,
                    colour=colours[(model, "coverage")],
                )
            )
        if law is not None:
            ks = [k / 4 for k in range(4, 4 * max(r.budget for r in cov) + 1)] if cov else []
            coverage.append(
                Line(
                    f"{model} · fitted coverage exp({law.a:.2f}·k^{law.b:.2f})",
                    [Dot(k, law.predict(k)) for k in ks],
                    kind="fit",
                    colour="#94a3b8",
                )
            )
        for strategy in sorted({r.strategy for r in mine if r.strategy != "coverage" and r.budget > 1}):
            dots = [_dot(r, r.budget) for r in mine if r.strategy == strategy]
            coverage.append(Line(f"{model} · {strategy}", dots, colour=colours[(model, strategy)]))
    ks = sorted({float(r.budget) for r in rows})
    figures.append(
        plot("coverage", "Coverage beside selection, by samples k", "samples k", coverage, xticks=ks)
    )
    return '<div class="charts">' + "".join(figures) + "</div>"


def _mark(r: Row, key: str, text: str) -> str:
    """A figure derived rather than recorded carries a `*`."""
    return f"{text}*" if key in r.derived else text


def results_table(summary: Summary) -> str:
    body = [
        [
            escape(r.model), escape(r.strategy), str(r.budget), _pct(r.accuracy),
            f"{_pct(r.ci_low)} – {_pct(r.ci_high)}", _pct(r.coverage) if r.coverage is not None else "",
            _mark(r, "mean_completion_tokens", f"{r.mean_completion_tokens:.0f}"),
            _mark(r, "mean_flops", f"{r.mean_flops:.3g}"),
            f"{r.mean_cache_saved_flops:.3g}",
            _mark(r, "mean_seconds", f"{r.mean_seconds:.2f}"),
            _mark(r, "mean_cost_usd", f"{r.mean_cost_usd:.2e}"), _pct(r.truncated_rate),
        ]
        for r in summary.rows
    ]  # fmt: skip
    drawn = any(r.mean_samples is not None for r in summary.rows)  # a strategy that stops early
    thought = any(r.mean_thinking_tokens for r in summary.rows)  # a model that thinks (think@T)
    for cells, r in zip(body, summary.rows, strict=True):
        if thought:
            mean = r.mean_thinking_tokens
            cells.insert(7, "" if mean is None else _mark(r, "mean_thinking_tokens", f"{mean:.0f}"))
        if drawn:
            mean = r.mean_samples
            cells.insert(3, "" if mean is None else _mark(r, "mean_samples", f"{mean:.1f}"))
    head = [
        "model",
        "strategy",
        "k",
        "accuracy",
        "95% CI",
        "coverage",
        "tokens",
        "FLOPs",
        "FLOPs the cache saved",
        "seconds",
        "$",
        "truncated",
    ]
    if thought:
        head.insert(7, "thinking tokens")
    if drawn:
        head.insert(3, "samples drawn")
    scores.insert_columns(summary, head, body)  # a score axis's mean and interval, where there is one
    methods = sorted({r.seconds_method for r in summary.rows})
    note = (
        f'<p class="sub">{summary.provenance.problems} problems per row. Intervals: '
        f"{escape(_interval_methods(summary))}. "
        "A <b>*</b> marks a figure derived from the recorded calls rather than recorded: each point is "
        "charged what its strategy costs run alone on a fresh problem (the prompt uncached once per "
        "independent request); “FLOPs the cache saved” is what the engine's prompt cache really saved "
        f"while the study measured. Seconds: {escape('; '.join(methods))}."
        + (
            " “Samples drawn”: the expected samples a strategy that stops early draws at budget k, "
            "derived by replaying the pool in random orders; its compute is charged by them."
            if drawn
            else ""
        )
        + "</p>"
    )
    return note + _table(head, body)


def _interval_methods(summary: Summary) -> str:
    return "; ".join(sorted({r.ci_method for r in summary.rows}))


def _best(b: Bin) -> str | None:
    return f"{b.best_strategy}@{b.best_budget}" if b.best_strategy is not None else None


def difficulty(summary: Summary) -> str:
    out = []
    for model, bins in summary.difficulty.items():
        if not bins:
            continue
        names = list(bins[0].accuracy)
        body, classes = [], []
        for b in bins:
            best = _best(b)
            cells = [
                f"bin {b.bin + 1}",
                f"{b.problems}",
                f"{_pct(b.pass1_low)}–{_pct(b.pass1_high)}",
                escape(best if best is not None else "none clear (intervals overlap)"),
            ]
            cells += [_pct(b.accuracy[n]) for n in names]
            body.append(cells)
            classes.append(
                ["", "", "", "best" if best else ""] + ["best" if n == best else "" for n in names]
            )
        head = ["difficulty (hardest first)", "problems", "pass@1", "best", *names]
        out.append(f"<h3>{escape(model)}</h3>" + _table(head, body, classes))
    if not out:
        return "<p>No pool: difficulty bins need sampled strategies.</p>"
    sizes = sorted({b.problems for bins in summary.difficulty.values() for b in bins})
    caveat = (
        f'<p class="sub">Problems binned by pass@1 into quintiles ({"–".join(map(str, sorted({sizes[0], sizes[-1]})))} '
        "problems a bin). The bins are computed from the same pool they score, so the pool strategies' "
        "accuracies within a bin are biased by the binning itself (where a bin's pass@1 is 0, every pool "
        "strategy scores 0 by construction): read them as where thinking longer helps, not as unbiased per-bin "
        "accuracies. A best point is named only where its interval (Wilson, within the bin) clears every "
        "other point's.</p>"
    )
    return caveat + "".join(out)


def truncation(summary: Summary) -> str:
    seen: dict[tuple[str, str], float] = {}
    for r in summary.rows:
        key = (r.model, r.strategy)
        seen[key] = max(seen.get(key, 0.0), r.truncated_rate)
    return _table(
        ["model", "strategy", "cut at max tokens"],
        [[escape(m), escape(s), _pct(v)] for (m, s), v in seen.items()],
    )


def _tree(children: list[dict[str, Any]]) -> str:
    """A run's inner results (a vote's runs), each with its answer and compute, nested as they ran."""
    items = []
    for c in children:
        u = c["usage"]
        stopped = " · stopped by the limit" if c.get("stopped") else ""
        items.append(
            f"<li>{escape(c['strategy'])} · answer <code>{escape(str(c['answer']))}</code> · "
            f"{u['calls']} calls, {u['completion_tokens']} tokens{stopped}{_tree(c.get('children', []))}</li>"
        )
    return f'<ul class="children">{"".join(items)}</ul>' if items else ""


def problems(store: StudyStore, private: bool = False) -> str:
    """The problem browser. A private split's questions and samples stay out of the page: they were
    never published, and a report is made to be shared."""
    items = {i.id: i for i in store.problems()}
    if private:
        right: dict[str, int] = dict.fromkeys(items, 0)
        total: dict[str, int] = dict.fromkeys(items, 0)
        for s in store.all_samples():
            total[s["problem_id"]] += 1
            right[s["problem_id"]] += int(s["correct"])
        rows = [
            f'<li class="problem" data-id="{escape(pid)}">{escape(pid)}: {right[pid]}/{total[pid]} correct</li>'
            for pid in items
        ]
        return (
            '<p class="sub">These problems come from the private split: their questions and the samples stay '
            "in study.sqlite and are not shown here.</p><ul>" + "".join(rows) + "</ul>"
        )
    trees = store.trees()
    by_problem: dict[str, list[dict[str, Any]]] = {pid: [] for pid in items}
    for s in store.all_samples():
        by_problem.setdefault(s["problem_id"], []).append(s)
    parts = []
    for pid, item in items.items():
        samples = []
        for s in by_problem[pid]:
            flags = ["correct" if s["correct"] else "wrong"] + (
                ["truncated"] if s["finish_reason"] == "length" else []
            )
            thoughts = (
                f"<details><summary>thinking</summary><pre>{escape(s['thoughts'])}</pre></details>"
                if s["thoughts"]
                else ""
            )
            kind = "pool" if s["kind"] == "pool" else s["kind"].removeprefix("run:")
            samples.append(
                f'<div class="sample {" ".join(flags)}"><span class="verdict">{"✓" if s["correct"] else "✗"}</span> '
                f"<b>{escape(s['model'])}</b> · {escape(kind)} #{s['idx']} · answer <code>{escape(str(s['answer']))}</code>"
                f" · {s['completion_tokens']} tokens{' · cut' if s['finish_reason'] == 'length' else ''}"
                f"{thoughts}<details><summary>text</summary><pre>{escape(s['text'])}</pre></details></div>"
            )
        for (model, tree_pid, kind), children in trees.items():
            if tree_pid == pid:
                samples.append(
                    f'<details class="tree"><summary><b>{escape(model)}</b> · {escape(kind.removeprefix("run:"))}'
                    f" · its {len(children)} inner runs</summary>{_tree(children)}</details>"
                )
        n_right = sum(1 for s in by_problem[pid] if s["correct"])
        parts.append(
            f'<details class="problem" data-id="{escape(pid)}"><summary><b>{escape(pid)}</b> · gold <code>{escape(item.answer[:80])}</code>'
            f" · {n_right}/{len(by_problem[pid])} correct</summary><p>{escape(item.question)}</p>{''.join(samples)}</details>"
        )
    buttons = "".join(
        f'<button data-filter="{f}"{" class=on" if f == "all" else ""}>{f}</button>'
        for f in ("all", "correct", "wrong", "truncated")
    )
    return f'<div class="filters">Show samples: {buttons}</div><div class="problems">{"".join(parts)}</div>'


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


def _law_note(summary: Summary) -> str:
    parts = []
    for model, law in summary.coverage_law.items():
        if law is None:
            parts.append(
                f"{escape(model)}: no fit (fewer than 3 points with coverage strictly between 0 and 1)."
            )
            continue
        text = (
            f"{escape(model)}: fitted on {law.points} points (k = "
            f"{', '.join(f'{k:g}' for k in law.ks)}); largest residual "
            f"{100 * law.max_abs_residual:.1f} points of coverage"
        )
        if (
            law.holdout_k is not None
            and law.holdout_predicted is not None
            and law.holdout_observed is not None
        ):
            text += (
                f"; fitted on k &lt; {law.holdout_k:g}, it predicts {_pct(law.holdout_predicted)} at "
                f"k = {law.holdout_k:g} against {_pct(law.holdout_observed)} observed"
            )
        parts.append(text + ".")
    if not parts:
        return ""
    return '<p class="sub">Coverage law exp(a·k^b): ' + " ".join(parts) + "</p>"


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
        problem_list = problems(store, private=prov.split == "private")
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
        escape(_interval_methods(summary))
    }). Budgets k are derived from one pool of samples per problem, so a pool point's tokens, FLOPs,
seconds and dollars are derived estimates (see the table); the dashed black line is the compute-optimal
frontier (Pareto over accuracy and mean FLOPs).</p>
{charts(summary)}
{_law_note(summary)}
<h2>All points</h2>{results_table(summary)}
{_notes(summary)}
{scores.section(summary)}
{judging.section(summary)}
{matched.section(summary)}
<h2>By difficulty</h2>
{difficulty(summary)}
<h2>Truncation</h2>{truncation(summary)}
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
