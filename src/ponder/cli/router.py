"""`ponder router fit | eval | list | show`: compute-optimal routers fitted from a study's pool.

A fitted rule is stored under PONDER_HOME/routers/NAME.json and used as `--strategy
router:name=NAME`. Bad input (a missing directory, a study without a pool, a target below the
probes' own tokens, an unknown name) is a PonderError: one line, exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ponder.cli.output import console, esc, print_json
from ponder.lab import router as rules
from ponder.lab.intervals import Interval

app = typer.Typer(help="Fit, evaluate and list compute-optimal routers.", no_args_is_help=True)

Model = Annotated[str | None, typer.Option("--model", "-m", help="The model whose pool to read.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _span(rule: rules.Rule, b: int) -> str:
    """A logprob bin as a range of mean logprobs."""
    if b < 0:
        return "none"
    edges = [float("-inf"), *rule.edges, float("inf")]
    return f"[{edges[b]:.3f}, {edges[b + 1]:.3f})"


def _rule_table(rule: rules.Rule) -> Table:
    table = Table()
    for col in ("group", "probes", "mean logprob", "problems", "option", "accuracy (shrunk)", "tokens"):
        table.add_column(col)
    for b in rule.bins:
        table.add_row(
            esc(b.group or "none"),
            "agree" if b.agree else "disagree",
            _span(rule, b.logprob),
            f"{b.problems:.2f}",
            b.option,
            f"{b.accuracy:.3f}",
            f"{b.tokens:.0f}",
        )
    return table


def _summary(rule: rules.Rule) -> str:
    return (
        f"fit on {len(rule.fit_problems)} problems of {esc(rule.study)} ({esc(rule.model)}): accuracy "
        f"{rule.fit_accuracy:.3f} (in-sample), mean tokens {rule.fit_tokens:.0f} ≤ target {rule.target:g}; "
        f"λ = {rule.multiplier:.3g}, unseen bins → {rule.default}, shrunk toward the pooled accuracy "
        f"with {rule.prior:g} problems' weight"
    )


@app.command("fit")
def fit(
    study_dir: Annotated[Path, typer.Argument(help="A study's --out directory (holding study.sqlite).")],
    mean_tokens: Annotated[float, typer.Option("--mean-tokens", help="Mean completion tokens a problem.")],
    name: Annotated[str, typer.Option("--name", help="Store the rule as NAME ([A-Za-z0-9_.-]+).")],
    model: Model = None,
    bins: Annotated[int, typer.Option(help="Logprob bins (edges at the fit's quantiles).")] = rules.BINS,
    prior: Annotated[float, typer.Option(help="Shrinkage weight, in problems.")] = rules.PRIOR,
    json_out: Json = False,
) -> None:
    """Fit a routing rule from a study's pool at a mean-token target, and store it by name."""
    rules.check_name(name)
    rule = rules.fit(study_dir, mean_tokens, model=model, bins=bins, prior=prior)
    path = rules.save(rule, name)
    if json_out:
        print_json({**rules.load(name).to_dict(), "path": str(path)})
        return
    console.print(_rule_table(rule))
    console.print(_summary(rule))
    console.print(f"saved to {esc(path)}: use it as --strategy router:name={esc(name)}")


def _interval(i: Interval) -> str:
    return f"{i.estimate:.3f} [{i.low:.3f}, {i.high:.3f}]"


@app.command("eval")
def evaluate(
    name: Annotated[str, typer.Argument(help="A stored router's name.")],
    study_dir: Annotated[Path, typer.Argument(help="A held-out study's --out directory.")],
    model: Model = None,
    json_out: Json = False,
) -> None:
    """A stored router on a held-out study's pool, against every fixed option at its tokens."""
    result = rules.evaluate(rules.load(name), study_dir, model)
    if json_out:
        print_json(result.to_dict())
        return
    table = Table(title=f"router '{esc(name)}' on {result.problems} problems of {esc(result.study)}")
    for col in ("strategy", "accuracy [95%]", "mean tokens", "samples"):
        table.add_column(col)
    for row in (result.router, *result.fixed):
        mark = " ◂ best at ≤ the router's tokens" if row.strategy == result.best else ""
        table.add_row(row.strategy + mark, _interval(row.accuracy), f"{row.tokens:.0f}", f"{row.samples:.2f}")
    console.print(table)
    if result.difference is not None:
        d = result.difference
        console.print(f"router − {result.best}: {d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}] ({d.method})")
    chosen = ", ".join(f"{o} {share:.0%}" for o, share in result.choices.items())
    console.print(f"chosen: {chosen}")
    if result.left_out:
        console.print(f"{result.left_out} problems of the fit left out")
    console.print(esc(result.verdict))
    console.print(f"[dim]{esc(result.method)}[/dim]")


@app.command("list")
def list_routers(json_out: Json = False) -> None:
    """The stored routers."""
    found = [rules.load(n) for n in rules.names()]
    if json_out:
        print_json({"routers": [r.to_dict() for r in found]})
        return
    if not found:
        console.print(f"no routers in {esc(rules.routers_dir())}: fit one with `ponder router fit`")
        return
    table = Table()
    for col in ("name", "model", "study", "target", "fit accuracy", "fit tokens", "options chosen"):
        table.add_column(col)
    for r in found:
        chosen = ", ".join(sorted({b.option for b in r.bins}))
        table.add_row(esc(r.name), esc(r.model), esc(r.study), f"{r.target:g}", f"{r.fit_accuracy:.3f}",
                      f"{r.fit_tokens:.0f}", chosen)  # fmt: skip
    console.print(table)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="A stored router's name.")], json_out: Json = False
) -> None:
    """One stored router: its bins and options, and its fit."""
    rule = rules.load(name)
    if json_out:
        print_json(rule.to_dict())
        return
    console.print(f"[bold]{esc(name)}[/bold] (ponder {esc(rule.version)})")
    console.print(_rule_table(rule))
    console.print(_summary(rule))
