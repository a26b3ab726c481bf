"""The report's "Judges" section (`summary.judging`): how far the study's judges can be trusted.

Per judge, studied model and kind of rule: how often the judge's verdict on a writing task's rule
agrees with the program's, Cohen's kappa (agreement beyond chance), and the two rates of "kept"; then
the pairwise judge's position bias and consistency. A study without judges gets nothing.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ponder.lab.study.summary import Summary
from ponder.report.html import table


def _ci(low: float | None, high: float | None, signed: bool = False) -> str:
    if low is None or high is None:
        return "undefined"
    return f"{low:+.2f} – {high:+.2f}" if signed else f"{low:.2f} – {high:.2f}"


def _agreement(rows: list[dict[str, Any]]) -> str:
    body = [
        [
            escape(a["judge"]), escape(a["model"]), escape(a["criterion"]), str(a["pairs"]), str(a["problems"]),
            f"{a['accuracy']:.2f}", _ci(a["accuracy_low"], a["accuracy_high"]),
            "undefined" if a["kappa"] is None else f"{a['kappa']:+.2f}", _ci(a["kappa_low"], a["kappa_high"], True),
            f"{a['judge_kept']:.2f}", f"{a['program_kept']:.2f}",
        ]
        for a in rows
    ]  # fmt: skip
    head = ["judge", "model judged", "rule", "pairs", "problems", "accuracy", "95% CI", "kappa", "95% CI",
            "judge: kept", "program: kept"]  # fmt: skip
    return table(head, body)


def _bias(rows: list[dict[str, Any]]) -> str:
    body = [
        [
            escape(b["judge"]), escape(b["model"]), str(b["comparisons"]), str(b["problems"]),
            f"{b['bias']:+.2f}", _ci(b["bias_low"], b["bias_high"], True),
            "" if b["consistency"] is None else f"{b['consistency']:.2f}",
        ]
        for b in rows
    ]  # fmt: skip
    head = ["judge", "model judged", "comparisons", "problems", "position bias", "95% CI", "consistency"]
    return table(head, body)


def section(summary: Summary) -> str:
    judging = summary.judging
    if not judging:
        return ""
    parts = ["<h2>Judges</h2>"]
    if judging.get("agreement"):
        parts.append(
            '<p class="sub">Each rule of each pool text, judged by the rubric judge (kept or not) and '
            'checked by the program. Kappa is agreement beyond what the two rates of "kept" give by '
            'chance: 0 for a judge that says "kept" of everything, whatever its accuracy. Intervals: '
            "percentile bootstrap over problems. The program is the oracle; the judge is measured.</p>"
        )
        parts.append(_agreement(judging["agreement"]))
    if judging.get("position_bias"):
        parts.append(
            '<p class="sub">The pairwise judge compares every two pool texts in both orders. Position '
            "bias: its mean P(the text shown first wins) − 1/2 (0: none; +0.5: always the first). "
            "Consistency: the share of comparisons whose two orders name the same text. The pairwise "
            "scorer averages the two orders, so the bias cancels in its ranking.</p>"
        )
        parts.append(_bias(judging["position_bias"]))
    return "".join(parts)


def lines(summary: Summary) -> list[str]:
    """The same, as plain lines for `ponder study`'s output."""
    judging = summary.judging or {}
    out = []
    for a in judging.get("agreement", []):
        if a["criterion"] == "all rules":
            kappa = "undefined" if a["kappa"] is None else f"{a['kappa']:+.2f}"
            out.append(
                f"judge {a['judge']} on {a['model']}'s texts, all rules: agrees with the program on "
                f"{a['accuracy']:.0%} of {a['pairs']} (95% CI {_ci(a['accuracy_low'], a['accuracy_high'])}), "
                f"kappa {kappa} ({_ci(a['kappa_low'], a['kappa_high'], True)}); says kept "
                f"{a['judge_kept']:.0%}, the program {a['program_kept']:.0%}"
            )
    for b in judging.get("position_bias", []):
        out.append(
            f"pairwise judge {b['judge']}: position bias {b['bias']:+.2f} "
            f"({_ci(b['bias_low'], b['bias_high'], True)}) over {b['comparisons']} comparisons; "
            f"consistency {'-' if b['consistency'] is None else format(b['consistency'], '.2f')}"
        )
    return out
