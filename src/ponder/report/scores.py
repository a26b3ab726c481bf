"""The report's score axes (`summary.score_axes`: partial credit, a judge's grade): a column per
axis in the table of points, and a "Scores" section with each axis's mean score against mean
completion tokens, the named comparisons' score differences and the matched-compute readings.

A study without an axis (GSM8K) gets none of it: the page is the one it was before scores existed.
"""

from __future__ import annotations

from html import escape

from ponder.lab.study.summary import Row, Summary
from ponder.report.html import table
from ponder.report.svg import PALETTE, Dot, Line, plot


def _num(x: float) -> str:
    return f"{x:.3f}"


def _interval(low: float, high: float, signed: bool = False) -> str:
    return f"{low:+.3f} – {high:+.3f}" if signed else f"{low:.3f} – {high:.3f}"


def insert_columns(summary: Summary, head: list[str], body: list[list[str]]) -> None:
    """Each axis's mean score and interval, inserted after the accuracy's interval (in place)."""
    if not summary.score_axes:
        return
    at = head.index("95% CI") + 1
    for name in reversed(list(summary.score_axes)):
        head[at:at] = [f"{name} score", f"{name} 95% CI"]
        for cells, r in zip(body, summary.rows, strict=True):
            s = (r.scores or {}).get(name)
            cells[at:at] = [_num(s.mean), _interval(s.ci_low, s.ci_high)] if s else ["", ""]


def _lines(rows: tuple[Row, ...], name: str) -> list[Line]:
    """One line per model and strategy (coverage too: the expected best score of k samples),
    coloured as the page's accuracy plots colour them."""
    keys = list(dict.fromkeys((r.model, r.strategy) for r in rows))
    colours = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(keys)}
    groups: dict[tuple[str, str], list[Dot]] = {}
    for r in rows:
        s = (r.scores or {}).get(name)
        if s is not None:
            dot = Dot(max(r.mean_completion_tokens, 1e-12), s.mean, s.ci_low, s.ci_high, f"@{r.budget}")
            groups.setdefault((r.model, r.strategy), []).append(dot)
    return [
        Line(
            f"{m} · {st}",
            dots,
            dashed=st == "coverage",
            colour=colours[(m, st)],
            extra={"model": m, "strategy": st},
        )
        for (m, st), dots in groups.items()
    ]


def _comparisons(summary: Summary) -> str:
    body = [
        [
            escape(c.pair),
            escape(name),
            f"{d.difference:+.3f}",
            _interval(d.ci_low, d.ci_high, True),
            escape(d.ci_method),
        ]
        for c in summary.comparisons
        for name, d in (c.scores or {}).items()
    ]
    if not body:
        return ""
    return "<h3>Named comparisons</h3>" + table(["pair", "axis", "a − b", "paired 95% CI", "interval"], body)


def _matched(summary: Summary) -> str:
    body = []
    for m in summary.matched:
        at = f"{m.at:.0f} tokens" if m.axis == "tokens" else f"{m.at:.3g} FLOPs"
        for r in m.readings:
            for name, s in (r.scores or {}).items():
                d = (r.score_differences or {}).get(name)
                body.append(
                    [escape(m.model), f"{escape(m.target)} ({at})", escape(r.strategy), escape(r.method), escape(name),
                     _num(s.mean), _interval(s.ci_low, s.ci_high), f"{d.difference:+.3f}" if d else "",
                     _interval(d.ci_low, d.ci_high, True) if d else ""]
                )  # fmt: skip
    if not body:
        return ""
    head = ["model", "target", "curve", "read", "axis", "score", "95% CI", "target − curve", "paired 95% CI"]
    return "<h3>At matched compute</h3>" + table(head, body)


def section(summary: Summary) -> str:
    """The "Scores" section, or nothing where the study has no score axis."""
    if not summary.score_axes:
        return ""
    methods = sorted({s.ci_method for r in summary.rows for s in (r.scores or {}).values()})
    axes = "".join(f"<li><b>{escape(n)}</b>: {escape(d)}</li>" for n, d in summary.score_axes.items())
    figures = "".join(
        plot(f"scores-{name}", f"Mean {name} score (a share of the best) against completion tokens", "completion tokens per problem",
             _lines(summary.rows, name))
        for name in summary.score_axes
    )  # fmt: skip
    return (
        "<h2>Scores</h2>"
        f'<p class="sub">Beside accuracy, each point\'s mean score over problems on each axis, each '
        f'problem\'s score a value in [0, 1]:</p><ul class="sub">{axes}</ul>'
        '<p class="sub">A pool strategy\'s score at budget k is the expected score of what it picks from '
        "k samples, derived from the pool by its own estimator (coverage: the best score among the k). "
        f"Bands and whiskers are 95% intervals over problems ({escape('; '.join(methods))}); a "
        "difference's interval is paired by problem.</p>"
        f'<div class="charts">{figures}</div>{_comparisons(summary)}{_matched(summary)}'
    )
