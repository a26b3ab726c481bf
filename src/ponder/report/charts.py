"""The report's "Accuracy against compute" plots: accuracy against each compute axis (tokens, FLOPs,
seconds, dollars, and thinking tokens where some point thought), the compute-optimal frontier on the
FLOPs plot, coverage beside selection by samples k with its fitted law, and the note on that fit.

A (model, strategy) keeps one colour in every plot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from ponder.lab.study.summary import Row, Summary
from ponder.report.html import pct
from ponder.report.svg import PALETTE, Dot, Line, plot

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


def section(summary: Summary) -> str:
    """One plot of accuracy per compute axis, and coverage beside selection by samples k."""
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


def law_note(summary: Summary) -> str:
    """How well the coverage law drawn in the last plot fits, per model."""
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
                f"; fitted on k &lt; {law.holdout_k:g}, it predicts {pct(law.holdout_predicted)} at "
                f"k = {law.holdout_k:g} against {pct(law.holdout_observed)} observed"
            )
        parts.append(text + ".")
    if not parts:
        return ""
    return '<p class="sub">Coverage law exp(a·k^b): ' + " ".join(parts) + "</p>"
