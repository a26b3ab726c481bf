"""The report's problem browser, read from study.sqlite: per problem its question, gold answer and
every sample (verdict, answer, tokens, thinking and text), the inner runs of a strategy that nests
them, and buttons that filter the samples (the page's script). A private split shows counts only.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ponder.lab.study.store import StudyStore


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


def section(store: StudyStore, private: bool = False) -> str:
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
