"""The report's "By difficulty" section (`summary.difficulty`): per model, problems binned by pass@1
into quintiles, each pool strategy's accuracy within a bin, and the best point where its interval
clears every other's. The caveat printed with it says why the bins bias those accuracies.
"""

from __future__ import annotations

from html import escape

from ponder.lab.study.summary import Bin, Summary
from ponder.report.html import pct, table


def _best(b: Bin) -> str | None:
    return f"{b.best_strategy}@{b.best_budget}" if b.best_strategy is not None else None


def section(summary: Summary) -> str:
    """A table per model, or a line saying why there is none."""
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
                f"{pct(b.pass1_low)}–{pct(b.pass1_high)}",
                escape(best if best is not None else "none clear (intervals overlap)"),
            ]
            cells += [pct(b.accuracy[n]) for n in names]
            body.append(cells)
            classes.append(
                ["", "", "", "best" if best else ""] + ["best" if n == best else "" for n in names]
            )
        head = ["difficulty (hardest first)", "problems", "pass@1", "best", *names]
        out.append(f"<h3>{escape(model)}</h3>" + table(head, body, classes))
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
