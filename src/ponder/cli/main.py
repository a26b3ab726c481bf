"""The `ponder` entry point: builds the app and turns a PonderError into one line and exit 2."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ponder import __version__
from ponder.cli import ask, models, router, runs, sandbox, serve, study, tasks
from ponder.errors import PonderError

app = typer.Typer(
    help="ponder: spend test-time compute on a problem, and account for every token of it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"ponder {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """ponder: spend test-time compute on a problem, and account for every token of it."""


app.command("ask")(ask.ask)
app.add_typer(models.app, name="models")
app.add_typer(runs.app, name="runs")
app.add_typer(tasks.app, name="tasks")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(router.app, name="router")
app.command("study")(study.study)
app.command("report")(study.report)
app.command("serve")(serve.serve)


def run() -> None:
    """Run the app; click reports usage errors itself, ponder's errors become one line."""
    try:
        app()
    except PonderError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    run()
