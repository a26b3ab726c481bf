"""`ponder sandbox run`: run a program and its tests, isolated."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ponder.cli.output import console, esc, print_json
from ponder.errors import PonderError

app = typer.Typer(help="Run untrusted code, isolated.", no_args_is_help=True)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise PonderError(f"cannot read the {what} file {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise PonderError(f"the {what} file {path} is not UTF-8 text: save it as UTF-8") from None


@app.command("run")
def run(
    code: Annotated[Path, typer.Option("--code", help="The program, a Python file.")],
    tests: Annotated[
        Path | None, typer.Option("--tests", help="Tests run after it, in its namespace.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Wall-clock seconds.")] = 10.0,
    memory_mb: Annotated[int, typer.Option(help="Address space, MB.")] = 1024,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run CODE then TESTS in one namespace, isolated. Exit 0 if they pass, 1 otherwise."""
    from ponder.sandbox import Limits, run_code

    result = run_code(_read(code, "code"), _read(tests, "tests") if tests else "", Limits(timeout, memory_mb))
    if json_out:
        print_json(result.to_dict())
    else:
        colour = "green" if result.status == "passed" else "red"
        console.print(f"[{colour}]{result.status}[/{colour}] in {result.seconds:.2f}s")
        if result.stdout:
            console.print(esc(result.stdout.rstrip()), highlight=False)
        if result.stderr:
            console.print(f"[dim]{esc(result.stderr.rstrip())}", highlight=False)
    raise typer.Exit(0 if result.status == "passed" else 1)
