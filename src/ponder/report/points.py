"""The report's tables of points (`summary.rows`): "All points", a row per point with its accuracy,
coverage and compute (a derived figure marked `*`; samples drawn, thinking tokens and score axes as
columns only where some point has them), and "Truncation", per model and strategy.
"""

from __future__ import annotations

from html import escape

from ponder.lab.study.summary import Row, Summary
from ponder.report import scores
from ponder.report.html import pct, table


def _mark(r: Row, key: str, text: str) -> str:
    """A figure derived rather than recorded carries a `*`."""
    return f"{text}*" if key in r.derived else text


def section(summary: Summary) -> str:
    """The table of every point, after a note on its intervals, derived figures and seconds."""
    body = [
        [
            escape(r.model), escape(r.strategy), str(r.budget), pct(r.accuracy),
            f"{pct(r.ci_low)} – {pct(r.ci_high)}", pct(r.coverage) if r.coverage is not None else "",
            _mark(r, "mean_completion_tokens", f"{r.mean_completion_tokens:.0f}"),
            _mark(r, "mean_flops", f"{r.mean_flops:.3g}"),
            f"{r.mean_cache_saved_flops:.3g}",
            _mark(r, "mean_seconds", f"{r.mean_seconds:.2f}"),
            _mark(r, "mean_cost_usd", f"{r.mean_cost_usd:.2e}"), pct(r.truncated_rate),
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
        f"{escape(interval_methods(summary))}. "
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
    return note + table(head, body)


def interval_methods(summary: Summary) -> str:
    """The intervals' methods, as the table's note and the plots' caption name them."""
    return "; ".join(sorted({r.ci_method for r in summary.rows}))


def truncation(summary: Summary) -> str:
    """Per model and strategy, the largest share of samples cut at max tokens over its points."""
    seen: dict[tuple[str, str], float] = {}
    for r in summary.rows:
        key = (r.model, r.strategy)
        seen[key] = max(seen.get(key, 0.0), r.truncated_rate)
    return table(
        ["model", "strategy", "cut at max tokens"],
        [[escape(m), escape(s), pct(v)] for (m, s), v in seen.items()],
    )
