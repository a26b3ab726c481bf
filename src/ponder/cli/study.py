"""`ponder study`: accuracy against compute for models, strategies and budgets on a suite."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ponder.cli.output import console, esc, human_count, print_json
from ponder.errors import PonderError

if TYPE_CHECKING:
    from ponder.lab.study.summary import Row, Summary


def study(
    model: Annotated[str | None, typer.Option("--model", "-m", help="Models, comma-separated.")] = None,
    suite: Annotated[str | None, typer.Option(help="Suite spec, e.g. arithmetic@frontier or gsm8k.")] = None,
    strategies: Annotated[
        str | None, typer.Option(help="Strategy specs, comma-separated (default cot,sc,bon,coverage).")
    ] = None,
    max_n: Annotated[int | None, typer.Option(help="Largest budget N (default 8).")] = None,
    problems: Annotated[int | None, typer.Option(help="Problems (default 20).")] = None,
    out: Annotated[str | None, typer.Option(help="The study's folder (default ./study).")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Most tokens per sample (default 320).")] = None,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature (default 0.7).")] = None,
    seed: Annotated[int | None, typer.Option(help="Study seed (default 0).")] = None,
    split: Annotated[str | None, typer.Option(help="public or private (default public).")] = None,
    base_url: Annotated[str | None, typer.Option(help="Server for openai: models.")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads of the embedded engine.")] = None,
    ctx: Annotated[int | None, typer.Option(help="Context size per sample.")] = None,
    timing_problems: Annotated[
        int | None,
        typer.Option(help="Problems on which each budget is timed for real (default 3; 0: prorate)."),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            help="A model's own strategies, MODEL=SPEC+SPEC (repeatable), e.g. qwen2.5-coder-1.5b=cot."
        ),
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option(help="A pair to compare, 'SPEC@K/MODEL vs SPEC@K/MODEL' (repeatable)."),
    ] = None,
    judge: Annotated[
        str | None, typer.Option(help="The judge role's model (short for --role judge=M).")
    ] = None,
    role: Annotated[
        list[str] | None, typer.Option(help="A role's model, ROLE=MODEL (repeatable), shared by every model.")
    ] = None,
    limit: Annotated[
        str | None, typer.Option(help="Cap each run's compute per problem: tokens=N,calls=N,usd=X,seconds=X.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Requests in flight at once (default 1: the figures as run alone).")
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="Where the work runs: local (default) or ray (a pool of Ray actors).")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="The Ray cluster to join: auto or HOST:PORT (default: start one here).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Ray actors per model, each with its own session (default 1).")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the study in --out.")] = False,
    extend: Annotated[
        bool,
        typer.Option("--extend", help="Add strategies or models to the study in --out, reusing its pools."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan (requests, tokens, time, dollars); run nothing.")
    ] = False,
    config: Annotated[Path | None, typer.Option("--config", help="A TOML file of these settings.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run a study: one pool of samples per problem and model, every budget derived from it."""
    from ponder.lab.study import StudyConfig, run_study
    from ponder.lab.study.summary import Summary

    given: dict[str, Any] = {
        "suite": suite,
        "max_n": max_n,
        "problems": problems,
        "out": out,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "seed": seed,
        "split": split,
        "base_url": base_url,
        "threads": threads,
        "ctx": ctx,
        "timing_problems": timing_problems,
        "limit": limit,
        "concurrency": concurrency,
        "executor": executor,
        "address": address,
        "workers": workers,
    }
    if judge is not None or role:
        from ponder.session import parse_roles

        named = parse_roles("policy-model", role or [], judge)
        given["roles"] = {r: m for r, m in named.items() if r != "policy"}
    if model is not None:
        given["models"] = [m for m in model.split(",") if m]
    if strategies is not None:
        given["strategies"] = [s for s in strategies.split(",") if s]
    if compare:
        given["compare"] = list(compare)
    if only:
        pairs = [o.partition("=") for o in only]
        if any(not m or not specs for m, _, specs in pairs):
            raise PonderError("--only takes MODEL=SPEC+SPEC, for example qwen2.5-coder-1.5b=cot")
        given["only"] = {m: specs.split("+") for m, _, specs in pairs}
    if config is not None:
        settings = StudyConfig.from_toml(config, **given)
    else:
        if not given.get("models") or suite is None:
            raise PonderError("ponder study needs --model and --suite (or --config FILE)")
        settings = StudyConfig(**{k: v for k, v in given.items() if v is not None})
    if resume and extend:
        raise PonderError("--resume and --extend: choose one (--extend also finishes what is left)")
    if dry_run:
        from ponder.lab.study.plan import estimate

        settings.check()
        plan = estimate(settings)
        if json_out:
            print_json(plan.to_dict())
        else:
            console.print(str(plan), markup=False, highlight=False)
        return
    path = run_study(settings, resume=resume, extend=extend, quiet=json_out)
    summary = Summary.load(path)
    if json_out:
        print(summary.to_json())
        return
    show(summary)
    console.print(f"summary: {path}\nsamples: {path.parent / 'samples.parquet'}")
    console.print(f"[bold]report: {path.parent / 'report.html'}[/bold]")


def report(folder: Annotated[Path, typer.Argument(help="A study's folder (--out of ponder study).")]) -> None:
    """Re-render DIR/report.html from the stored study, without running a model."""
    from ponder.report import render

    console.print(f"report: {render(folder)}")


def show(summary: Summary) -> None:
    """One table per model, narrow enough for an 80-column terminal."""
    rows = summary.rows
    for model in dict.fromkeys(r.model for r in rows):
        _model_table(model, [r for r in rows if r.model == model])
        if summary.score_axes:  # partial credit (a writing task's checks kept), a judge's grade
            _score_table(model, [r for r in rows if r.model == model], list(summary.score_axes))
    methods = sorted({r.ci_method for r in rows} - {""})
    seconds = sorted({r.seconds_method for r in rows} - {""})
    console.print(
        f"{summary.provenance.problems} problems a row; intervals: {esc('; '.join(methods))}. "
        "FLOPs, seconds and dollars are charged as each strategy would cost run alone (derived); "
        f"seconds: {esc('; '.join(seconds))}.",
        highlight=False,
    )
    if summary.headline is not None:
        console.print(f"[bold]headline:[/bold] {esc(summary.headline.sentence)}")
    for pair in summary.comparisons:
        console.print(f"[bold]compared:[/bold] {esc(pair.sentence)}")
        for name, d in (pair.scores or {}).items():  # the same pair's mean score, paired by problem
            console.print(
                f"  {esc(name)} score, a − b: {d.difference:+.3f} "
                f"(paired 95% CI {d.ci_low:+.3f} to {d.ci_high:+.3f}, {esc(d.ci_method)})",
                highlight=False,
            )
    for m in summary.matched:  # every run-as-written point against the curves, at its compute
        console.print(f"[bold]matched {m.axis}:[/bold] {esc(m.sentence)}")
    from ponder.report import judging

    for line in judging.lines(summary):  # how far the study's judges can be trusted
        console.print(f"[bold]judges:[/bold] {esc(line)}", highlight=False)


def _model_table(model: str, rows: list[Row]) -> None:
    table = Table(title=f"accuracy against compute: {esc(model)}")
    for col in ("strategy", "k", "accuracy", "95% CI", "coverage", "tokens", "FLOPs", "s", "cut"):
        table.add_column(col, justify="left" if col == "strategy" else "right", no_wrap=True)
    for r in rows:
        table.add_row(
            esc(r.strategy),
            str(r.budget),
            f"{100 * r.accuracy:.1f}%",
            f"{100 * r.ci_low:.0f}–{100 * r.ci_high:.0f}%",
            f"{100 * r.coverage:.1f}%" if r.coverage is not None else "",
            f"{r.mean_completion_tokens:.0f}",
            human_count(r.mean_flops),
            f"{r.mean_seconds:.1f}",
            f"{100 * r.truncated_rate:.0f}%",
        )
    console.print(table)


def _score_table(model: str, rows: list[Row], axes: list[str]) -> None:
    """Each point's mean score per axis with its 95% interval, beside its tokens."""
    methods = sorted({s.ci_method for r in rows for s in (r.scores or {}).values()})
    table = Table(title=f"mean score against compute: {esc(model)}", caption=esc("; ".join(methods)))
    for col in ("strategy", "k", *(f"{a} (95% CI)" for a in axes), "tokens"):
        table.add_column(esc(col), justify="left" if col == "strategy" else "right", no_wrap=True)
    for r in rows:
        cells = []
        for a in axes:
            s = (r.scores or {}).get(a)
            cells.append(f"{s.mean:.3f} ({s.ci_low:.2f}–{s.ci_high:.2f})" if s is not None else "")
        table.add_row(esc(r.strategy), str(r.budget), *cells, f"{r.mean_completion_tokens:.0f}")
    console.print(table)
