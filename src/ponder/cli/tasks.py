"""`ponder tasks`: list families, show problems, calibrate a model's frontier, run the probes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated

import typer
from rich.table import Table

from ponder.cli.output import console, esc, print_json
from ponder.errors import PonderError
from ponder.models.catalog import DEFAULT_MODEL
from ponder.progress import Progress
from ponder.tasks import FAMILIES, load

# Calibration draws its items under another seed; where a level's item space is small the two
# sequences still meet, so the calibration also stores its items' hashes and the study skips them.

app = typer.Typer(
    help="The eval lab's problems: families, suites, calibration and probes.", no_args_is_help=True
)

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Catalog name, .gguf path, or openai:NAME.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
SeedOpt = Annotated[int, typer.Option(help="Suite seed.")]
STATIC = [
    {
        "name": "gsm8k",
        "kind": "static",
        "description": "GSM8K's test split, shipped with ponder (gsm8k), or another copy (gsm8k:PATH)",
        "answer_format": "number",
    },
    {
        "name": "humaneval",
        "kind": "static",
        "description": "the 164 HumanEval problems, verified by their tests in the sandbox",
        "answer_format": "code",
    },
    {
        "name": "jsonl",
        "kind": "static",
        "description": "any JSONL of questions and answers "
        "(jsonl:PATH:question=…:answer=…:check=math|numeric|exact)",
        "answer_format": "auto",
    },
]


def _reporter(bar: Progress, description: str) -> Callable[[int, int], None]:
    """A probe's (done, total) reports, shown on `bar` as one task."""
    task = bar.add_task(description, total=None, start=False)

    def report(done: int, total: int) -> None:
        if done == 0:
            bar.start_task(task)
        bar.update(task, completed=done, total=total)

    return report


@app.command("list")
def list_families(json_out: JsonOpt = False) -> None:
    """The task families and static sets, with their answer formats."""
    rows = [
        {
            "name": f.name,
            "kind": "procedural",
            "description": f.description,
            "answer_format": f.answer_format,
        }
        for f in FAMILIES.values()
    ] + STATIC
    if json_out:
        print_json({"families": rows})
        return
    table = Table()
    for col in ("name", "kind", "answer format", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["kind"], r["answer_format"], r["description"])
    console.print(table)


@app.command("show")
def show(
    suite: Annotated[str, typer.Argument(help="A suite spec, e.g. arithmetic@3 or gsm8k.")],
    split: Annotated[str, typer.Option(help="public or private.")] = "public",
    n: Annotated[int, typer.Option("--n", help="How many problems.")] = 5,
    seed: SeedOpt = 0,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Resolves FAMILY@frontier.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Problems of a suite with their answers."""
    items = load(suite, n, split=split, seed=seed, model=model)
    if json_out:
        print_json({"suite": suite, "split": split, "seed": seed, "items": [i.to_dict() for i in items]})
        return
    for item in items:
        level = f" level {item.level}" if item.level is not None else ""
        console.print(f"[cyan]{item.id}[/cyan] [dim]{item.family}{level}, {item.split}[/dim]")
        console.print(item.question, markup=False, highlight=False)
        console.print(f"[bold]answer:[/bold] {esc(item.answer)}", highlight=False)


@app.command("calibrate")
def calibrate(
    family: Annotated[str, typer.Argument(help="A procedural family.")],
    model: ModelOpt = DEFAULT_MODEL,
    problems: Annotated[int, typer.Option(help="Problems per level while bracketing.")] = 10,
    budget: Annotated[
        int | None,
        typer.Option(
            help="Problems in all; the rest after bracketing go near the crossing. [default: 6 × problems]"
        ),
    ] = None,
    max_tokens: Annotated[int, typer.Option(help="Most tokens per answer.")] = 384,
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Find the level where the model's greedy accuracy crosses 50%, and store it for FAMILY@frontier."""
    from ponder.lab.calibrate import BUDGET_PER_PROBLEM, calibrate_family, save_calibration
    from ponder.lab.evaluate import Evaluator
    from ponder.session import Options

    if family not in FAMILIES:
        raise PonderError(f"unknown task family '{family}': use one of {', '.join(FAMILIES)}")
    if problems < 1:
        raise PonderError("--problems must be at least 1")
    budget = BUDGET_PER_PROBLEM * problems if budget is None else budget
    if budget < problems:
        raise PonderError(
            f"--budget must be at least --problems ({problems}): it counts every problem measured"
        )
    evaluator = Evaluator.open(model, "cot", Options(max_tokens=max_tokens, temperature=0.0, seed=seed))
    bar = Progress(console=console, disable=json_out, transient=True)
    task = bar.add_task(f"calibrating {family}", total=budget)

    def step(description: str) -> Callable[[], None]:
        bar.update(task, description=description)
        return lambda: bar.advance(task)

    try:
        with bar:
            result, measured = asyncio.run(
                calibrate_family(
                    family, evaluator, problems=problems, budget=budget, seed=seed, progress=step
                )
            )
    finally:
        evaluator.close()
    save_calibration(result, measured)
    if json_out:
        print_json(result.to_dict())
        return
    for level, m in result.measured.items():
        console.print(
            f"level {level}: {int(m['correct'])}/{int(m['total'])} "
            f"({100 * m['accuracy']:.0f}%, 95% CI {100 * m['low']:.0f}–{100 * m['high']:.0f}%)"
        )
    fit = result.fit
    if fit is not None:
        low = f"{fit.low:.2f}" if fit.low is not None else "unbounded below"
        high = f"{fit.high:.2f}" if fit.high is not None else "unbounded above"
        console.print(
            f"crossing (fitted accuracy 50%): level {fit.crossing:.2f}, 95% CI {low} to {high} "
            f"({result.method}; {result.items} problems)",
            highlight=False,
        )
    if result.level is None:
        console.print(f"[yellow]{esc(result.note)}[/yellow]: no frontier")
    else:
        console.print(
            f"[bold]frontier of {esc(model)} on {family}: level {result.level}[/bold] "
            f"(the floor of the crossing); {family}@frontier now means level {result.level}, "
            f"and a study there never scores the {len(measured)} problems calibration measured"
        )


@app.command("saturation")
def saturation(
    suite: Annotated[str, typer.Argument(help="FAMILY@LEVEL.")],
    model: ModelOpt = DEFAULT_MODEL,
    problems: Annotated[
        int | None,
        typer.Option(
            help="Problems to measure [default: the fewest at which one miss can still show "
            "saturation: 53 at 0.9]; fewer than a perfect score needs is refused."
        ),
    ] = None,
    threshold: Annotated[float, typer.Option(help="Saturated when the whole interval is above this.")] = 0.9,
    strategy: Annotated[str, typer.Option("--strategy", "-s", help="Strategy spec.")] = "cot",
    max_tokens: Annotated[int, typer.Option(help="Most tokens per answer.")] = 384,
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Is the family saturated at this level for this model? Suggests the next level if so."""
    from ponder.lab.evaluate import Evaluator
    from ponder.lab.probes import saturation as probe
    from ponder.lab.probes import saturation_problems
    from ponder.session import Options
    from ponder.tasks.suites import parse_suite

    parts = parse_suite(suite)
    if len(parts) != 1 or parts[0].kind != "family" or not isinstance(parts[0].level, int):
        raise PonderError("saturation takes one FAMILY@LEVEL, for example arithmetic@3")
    if not 0 < threshold < 1:
        raise PonderError("--threshold must be between 0 and 1")
    problems = saturation_problems(threshold, problems)  # refused before the model loads
    evaluator = Evaluator.open(model, strategy, Options(max_tokens=max_tokens, seed=seed))
    bar = Progress(console=console, disable=json_out, transient=True)
    try:
        with bar:
            result = asyncio.run(
                probe(
                    evaluator,
                    parts[0].name,
                    parts[0].level,
                    problems=problems,
                    threshold=threshold,
                    seed=seed,
                    progress=_reporter(bar, f"saturation {suite}"),
                )
            )
    finally:
        evaluator.close()
    if json_out:
        print_json(result.to_dict())
        return
    verdict = "saturated" if result.saturated else "not saturated"
    console.print(
        f"{suite}: {100 * result.accuracy:.0f}% "
        f"(95% CI {100 * result.ci_low:.0f}–{100 * result.ci_high:.0f}%, "
        f"{result.problems} problems): {verdict} at {100 * threshold:.0f}%"
    )
    if result.saturated:
        console.print(f"try level {result.suggested_level}, or `ponder tasks calibrate {parts[0].name}`")


@app.command("contamination")
def contamination(
    suite: Annotated[str, typer.Argument(help="gsm8k, or gsm8k:PATH for another copy.")],
    model: ModelOpt = DEFAULT_MODEL,
    problems: Annotated[int, typer.Option(help="Items to probe (before perturbation).")] = 20,
    strategy: Annotated[str, typer.Option("--strategy", "-s", help="Strategy spec.")] = "cot",
    max_tokens: Annotated[int, typer.Option(help="Most tokens per answer.")] = 384,
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Accuracy on GSM8K items against their perturbed twins, and twin against twin as the control."""
    from ponder.lab.evaluate import Evaluator
    from ponder.lab.probes import contamination as probe
    from ponder.session import Options
    from ponder.tasks.suites import parse_suite

    parts = parse_suite(suite)
    if len(parts) != 1 or parts[0].kind != "gsm8k":
        raise PonderError("contamination takes one gsm8k or gsm8k:PATH suite")
    items = load(suite, problems, seed=seed)
    evaluator = Evaluator.open(model, strategy, Options(max_tokens=max_tokens, seed=seed))
    bar = Progress(console=console, disable=json_out, transient=True)
    try:
        with bar:
            progress = _reporter(bar, f"contamination {suite} (originals and two twins)")
            result = asyncio.run(probe(evaluator, items, seed=seed, progress=progress))
    finally:
        evaluator.close()
    if json_out:
        print_json(result.to_dict())
        return
    console.print(
        f"{result.perturbed} of {result.problems} items perturbed ({result.not_perturbed} could not be: "
        f"{', '.join(f'{k} {v}' for k, v in result.reasons.items()) or 'none'})"
    )
    r = result
    if r.perturbed:
        console.print(
            f"accuracy original {100 * r.accuracy_original:.0f}%, twin A {100 * r.accuracy_perturbed:.0f}%, "
            f"twin B {100 * r.accuracy_control:.0f}% ({r.perturbed} items)"
        )
        console.print(
            f"original − twin A {100 * r.difference:+.1f} points "
            f"(95% CI {100 * r.ci_low:+.1f} to {100 * r.ci_high:+.1f}); control: twin A − twin B "
            f"{100 * r.control_difference:+.1f} (95% CI {100 * r.control_low:+.1f} to "
            f"{100 * r.control_high:+.1f})"
        )
    console.print(esc(r.verdict))
