"""Plots as inline SVG, drawn here: a report that opens offline needs no plotting library.

A plot is a set of `Line`s through `Dot`s (named apart from the study's `Series` and `Point`, which
are data, not marks), each drawn with an optional interval band. The x axis is logarithmic (compute
spans orders of magnitude), the y axis is accuracy in [0, 1]. Every line of data is a
`<g class="series">` holding one `<circle class="point">` per point, so a test can count what was
drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f", "#64748b")
W, H = 560, 340
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 44


@dataclass
class Dot:
    """A plotted point, with its interval where it has one and a label for its tooltip."""

    x: float
    y: float
    low: float | None = None
    high: float | None = None
    label: str = ""


@dataclass
class Line:
    name: str
    points: list[Dot]
    dashed: bool = False
    colour: str = ""
    kind: str = "series"  # "series" for data, or "fit" / "frontier" for drawn lines that are not data
    extra: dict[str, str] = field(default_factory=dict)


def _ticks(lo: float, hi: float) -> list[float]:
    start, stop = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    ticks = [10.0**e for e in range(start, stop + 1)]
    if len(ticks) <= 3:  # a narrow range: add 2 and 5 between the powers of ten
        ticks = sorted(t * m for t in ticks for m in (1, 2, 5))
    return [t for t in ticks if lo / 1.0001 <= t <= hi * 1.0001] or [lo, hi]


def _fmt(x: float) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:g}{unit}"
    return f"{x:.3g}"


def plot(
    plot_id: str,
    title: str,
    xlabel: str,
    lines: list[Line],
    xticks: list[float] | None = None,
    unit: str = "",
) -> str:
    xs = [p.x for s in lines for p in s.points if p.x > 0]
    if not xs:
        return f'<figure class="plot-empty" data-plot="{plot_id}"><figcaption>{escape(title)}: no data</figcaption></figure>'
    lo, hi = min(xs), max(xs)
    if hi / lo < 10:
        lo, hi = lo / 1.5, hi * 1.5
    lo, hi = lo / 1.15, hi * 1.15
    span = math.log10(hi) - math.log10(lo)

    def px(x: float) -> float:
        return LEFT + (math.log10(max(x, lo)) - math.log10(lo)) / span * (W - LEFT - RIGHT)

    # The y axis runs from 0 to the next quarter above the highest point or band: small accuracies
    # are not squeezed into the bottom of a 0-100% axis.
    top_y = max([p.high if p.high is not None else p.y for s in lines for p in s.points] + [0.25])
    ymax = min(1.0, math.ceil(top_y * 4 - 1e-9) / 4)

    def py(y: float) -> float:
        return TOP + (1 - y / ymax) * (H - TOP - BOTTOM)

    parts = [
        f'<svg class="plot" data-plot="{plot_id}" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">'
    ]
    for y in [q / 20 for q in range(0, 21, 5 if ymax > 0.5 else 2) if q / 20 <= ymax + 1e-9]:
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{py(y):.1f}" y2="{py(y):.1f}"/>')
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{int(y * 100)}%</text>'
        )
    for t in xticks or _ticks(lo, hi):
        parts.append(f'<line class="grid" x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{TOP}" y2="{H - BOTTOM}"/>')
        parts.append(
            f'<text class="tick" x="{px(t):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{unit}{_fmt(t)}</text>'
        )
    parts.append(
        f'<text class="axis" x="{(LEFT + W - RIGHT) / 2}" y="{H - 8}" text-anchor="middle">{escape(xlabel)}</text>'
    )
    for i, s in enumerate(lines):
        colour = s.colour or PALETTE[i % len(PALETTE)]
        pts = sorted(s.points, key=lambda p: p.x)
        extra = "".join(f' data-{k}="{escape(v)}"' for k, v in s.extra.items())
        parts.append(f'<g class="{s.kind}" data-name="{escape(s.name)}"{extra} style="--c:{colour}">')
        banded = [p for p in pts if p.low is not None and p.high is not None]
        if len(banded) >= 2:
            upper = " ".join(f"{px(p.x):.1f},{py(p.high or 0):.1f}" for p in banded)
            lower = " ".join(f"{px(p.x):.1f},{py(p.low or 0):.1f}" for p in reversed(banded))
            parts.append(f'<polygon class="band" points="{upper} {lower}"/>')
        if len(pts) == 1 and pts[0].low is not None and pts[0].high is not None:
            p = pts[0]  # a single point has no band: its interval is a whisker
            parts.append(
                f'<line class="whisker" x1="{px(p.x):.1f}" x2="{px(p.x):.1f}" y1="{py(p.low or 0):.1f}" y2="{py(p.high or 0):.1f}"/>'
            )
        if len(pts) >= 2:
            line = " ".join(f"{px(p.x):.1f},{py(p.y):.1f}" for p in pts)
            dash = ' stroke-dasharray="5 4"' if s.dashed else ""
            parts.append(f'<polyline class="line" points="{line}"{dash}/>')
        if s.kind == "series":
            for p in pts:
                tip = escape(f"{s.name} {p.label}: {100 * p.y:.1f}% at {_fmt(p.x)}")
                parts.append(
                    f'<circle class="point" cx="{px(p.x):.1f}" cy="{py(p.y):.1f}" r="4"><title>{tip}</title></circle>'
                )
        parts.append("</g>")
    parts.append("</svg>")
    legend = "".join(
        f'<li><span class="swatch{" dashed" if s.dashed else ""}" style="--c:{s.colour or PALETTE[i % len(PALETTE)]}"></span>'
        f"{escape(s.name)}</li>"
        for i, s in enumerate(lines)
    )
    return (
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>{"".join(parts)}'
        f'<ul class="legend">{legend}</ul></figure>'
    )
