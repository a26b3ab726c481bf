"""`ponder runs list` and `ponder runs show ID`: read recorded runs back from the store."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ponder.cli.output import console, esc, fold, human_count, print_json
from ponder.store import open_store

app = typer.Typer(help="Read recorded runs.", no_args_is_help=True)


@app.command("list")
def list_runs(
    limit: Annotated[int, typer.Option(help="How many of the latest runs.", min=1)] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The latest runs, newest first."""
    store = open_store()
    try:
        rows = store.runs(limit)
    finally:
        store.close()
    if json_out:
        print_json({"runs": rows})
        return
    table = Table()
    for col in ("id", "when", "model", "strategy", "answer", "tokens", "seconds", "question"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["id"],
            r["created_at"],
            esc(r["model"]),
            r["strategy"],
            esc(r["answer"]),
            str(r["completion_tokens"]),
            f"{r['wall_seconds']:.1f}",
            esc(fold(r["question"], 1, 50)),
        )
    console.print(table)


@app.command("show")
def show_run(
    run_id: Annotated[str, typer.Argument(help="A run id or a unique prefix of one.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One run: its question, answer, samples and calls."""
    store = open_store()
    try:
        run = store.run(run_id)
    finally:
        store.close()
    if json_out:
        print_json(run)
        return
    console.print(f"[bold]{run['id']}[/bold] {run['created_at']} {esc(run['model'])} {run['strategy']}")
    console.print(f"[bold]question:[/bold] {run['question']}", markup=False)
    console.print(f"[bold]answer:[/bold] {esc(run['answer'])}")
    for s in run["samples"]:
        console.print(f"[cyan]#{s['seq']}[/cyan] answer={esc(s['answer'])} tokens={s['completion_tokens']}")
        console.print(fold(s["text"]), markup=False, highlight=False)
    _tree(run["children"])
    if run.get("stopped"):
        console.print(f"[yellow]{esc(run['stopped'])}[/yellow]")
    console.print(
        f"calls={run['calls'] and len(run['calls'])} prompt={run['prompt_tokens']} "
        f"cached={run['cached_prompt_tokens']} completion={run['completion_tokens']} "
        f"seconds={run['wall_seconds']:.1f} FLOPs={human_count(run['flops'])} "
        f"$={run['cost_usd']:.6f}"
    )


def _tree(children: list[dict[str, Any]], depth: int = 1) -> None:
    """The inner runs, indented under the run that made them, each with its answer and usage."""
    for i, c in enumerate(children):
        u = c["usage"]
        stopped = " [yellow](stopped by the limit)[/yellow]" if c.get("stopped") else ""
        console.print(
            f"{'  ' * depth}[cyan]└ {i}[/cyan] {esc(c['strategy'])} on {esc(c['model'])}: "
            f"answer={esc(c['answer'])} calls={u['calls']} completion={u['completion_tokens']}{stopped}"
        )
        _tree(c.get("children", []), depth + 1)
