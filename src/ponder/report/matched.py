"""The report's "Matched compute" section: each point run as written against every curve read at
its mean completion tokens, then at its mean FLOPs (`summary.matched`, made by
`ponder.lab.study.matched`)."""

from __future__ import annotations

from html import escape

from ponder.lab.study.summary import Matched, Reading, Summary
from ponder.report.html import pct, table

AXES = (("tokens", "At matched completion tokens"), ("flops", "At matched FLOPs"))
HEAD = ["model", "target", "curve", "read", "accuracy", "95% CI", "tokens", "FLOPs", "target − curve",
        "paired 95% CI"]  # fmt: skip


def _at(m: Matched) -> str:
    where = f"{m.at:.0f} tokens" if m.axis == "tokens" else f"{m.at:.3g} FLOPs"
    return f"{escape(m.target)} ({where})"


def _cells(m: Matched, r: Reading) -> list[str]:
    diff = ci = ""
    if r.difference is not None and r.diff_low is not None and r.diff_high is not None:
        diff = f"{100 * r.difference:+.1f} pts"
        ci = f"{100 * r.diff_low:+.1f} – {100 * r.diff_high:+.1f}"
    return [
        escape(m.model), _at(m), escape(r.strategy), escape(r.method), pct(r.accuracy),
        f"{pct(r.ci_low)} – {pct(r.ci_high)}", f"{r.mean_completion_tokens:.0f}", f"{r.mean_flops:.3g}",
        diff, ci,
    ]  # fmt: skip


def section(summary: Summary) -> str:
    """The section's HTML, or nothing where no point was run as written beside a curve."""
    if not summary.matched:
        return ""
    parts = [
        "<h2>Matched compute</h2>",
        '<p class="sub">Each point run as written (the target) against every curve of its model read at '
        "the target's mean: a curve's point where one lies there, else interpolated between the two "
        "budgets around it, linearly on the log axis and per problem (a read-off, not a run; never "
        "extrapolated beyond a curve's range). Intervals: each reading's over problems; the "
        "difference's paired by problem, unadjusted (the targets are fixed by the study's design). "
        "The other axis is read at the same place on the curve, so the FLOPs column shows what "
        "tokens hide (a revision's prompt grows with each round).</p>",
    ]
    for axis, title in AXES:
        mine = [m for m in summary.matched if m.axis == axis]
        if not mine:
            continue
        body = []
        for m in mine:
            body += [_cells(m, r) for r in m.readings]
            body += [[escape(m.model), _at(m), escape(name), "not read: outside its range", *[""] * 6]
                     for name in m.not_read]  # fmt: skip
        parts.append(f"<h3>{title}</h3>" + table(HEAD, body))
    return "".join(parts)
