"""Small HTML pieces shared by the report's sections: a percentage and a table."""

from __future__ import annotations

from html import escape


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def table(head: list[str], body: list[list[str]], classes: list[list[str]] | None = None) -> str:
    """A table: `head` is escaped here, the cells are HTML already (escape what they quote)."""
    rows = []
    for i, cells in enumerate(body):
        cls = classes[i] if classes else [""] * len(cells)
        rows.append(
            "<tr>" + "".join(f'<td class="{c}">{v}</td>' for v, c in zip(cells, cls, strict=True)) + "</tr>"
        )
    return (
        "<table><thead><tr>"
        + "".join(f"<th>{escape(h)}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
