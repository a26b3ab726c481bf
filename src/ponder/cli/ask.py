"""`ponder ask`: answer one question with a strategy, show the answer, votes, candidates and compute."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ponder.api import ask as run_ask
from ponder.backends.factory import DEFAULT_CTX, DEFAULT_THREADS
from ponder.cli.output import console, esc, fold, human_count, print_json
from ponder.models.catalog import DEFAULT_MODEL
from ponder.types import Result


def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    model: Annotated[
        str, typer.Option("--model", "-m", help="Catalog name, .gguf path, or openai:NAME.")
    ] = DEFAULT_MODEL,
    strategy: Annotated[
        str, typer.Option("--strategy", "-s", help="Strategy spec, e.g. cot, sc@8, bon@8.")
    ] = "cot",
    max_tokens: Annotated[int, typer.Option(help="Most tokens per sample.")] = 512,
    temperature: Annotated[
        float | None, typer.Option(help="Sampling temperature (default: per strategy).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server for openai: models.")] = None,
    threads: Annotated[int, typer.Option(help="CPU threads of the embedded engine.")] = (DEFAULT_THREADS),
    ctx: Annotated[int, typer.Option(help="Context size per sample, embedded engine.")] = (DEFAULT_CTX),
    api_key: Annotated[
        str | None, typer.Option(help="API key for openai: models (default: PONDER_API_KEY, OPENAI_API_KEY).")
    ] = None,
    judge: Annotated[
        str | None, typer.Option(help="The judge role's model (short for --role judge=MODEL).")
    ] = None,
    role: Annotated[
        list[str] | None,
        typer.Option(help="A role's model, ROLE=MODEL (repeatable); a role without one uses --model."),
    ] = None,
    limit: Annotated[
        str | None,
        typer.Option(help="Cap this question's compute: tokens=N,calls=N,usd=X,seconds=X (any of them)."),
    ] = None,
    rubric: Annotated[
        Path | None,
        typer.Option(
            help="A rubric (TOML) for the judges: bon@N:scorer=rubric|pairwise, revise:rubric=true."
        ),
    ] = None,
    answer_format: Annotated[
        str, typer.Option("--format", help="How the answer is read: auto, number, code, text, ...")
    ] = "auto",
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Answer QUESTION, spending compute as the strategy says, and record the run."""
    result = run_ask(
        question,
        model=model,
        strategy=strategy,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
        base_url=base_url,
        api_key=api_key,
        threads=threads,
        ctx=ctx,
        judge=judge,
        roles=role or [],
        limit=limit,
        rubric=rubric,
        answer_format=answer_format,
        quiet=json_out,
    )
    if json_out:
        print_json(result.to_dict())
    else:
        show(result)


def show(result: Result) -> None:
    # Model and user text is escaped: "[/b]" in an answer must print, not be read as markup.
    console.print(
        f"[bold]answer:[/bold] {esc(result.answer)}   [dim]{result.strategy} on {esc(result.model)}"
    )
    total = sum(result.votes.values())
    if len(result.candidates) > 1 and total:
        votes = "  ".join(f"{esc(a)}: {c}" for a, c in result.votes.items())
        console.print(f"[bold]votes:[/bold] {votes}   [dim]({total} of {len(result.candidates)} answered)")
    for i, c in enumerate(result.candidates):
        score = f"{c.score:.3f}" if c.score is not None else "-"
        head = f"[cyan]#{i}[/cyan] answer={esc(c.answer)} score={score} tokens={c.completion_tokens}"
        if c.finish_reason == "length":
            head += " [yellow](truncated)[/yellow]"
        console.print(head)
        if c.thoughts:
            console.print(f"[dim]  thinking ({c.thinking_tokens} tokens): {esc(fold(c.thoughts, 2))}")
        console.print(fold(c.text), markup=False, highlight=False)
    u = result.usage
    table = Table(title="compute", show_header=True)
    for col in ("calls", "prompt", "cached", "completion", "thinking", "seconds", "FLOPs", "$"):
        table.add_column(col, justify="right", no_wrap=True, min_width=len(col))
    table.add_row(
        str(u.calls),
        str(u.prompt_tokens),
        str(u.cached_prompt_tokens),
        str(u.completion_tokens),
        str(u.thinking_tokens),
        f"{u.wall_seconds:.1f}",
        human_count(u.flops),
        f"{u.cost_usd:.6f}",
    )
    console.print(table)
    roles = {(c.role, c.model) for c in result.calls}
    if len(roles) > 1:
        for r, m in sorted(roles):
            mine = [c for c in result.calls if (c.role, c.model) == (r, m)]
            spent = sum(c.usage.completion_tokens for c in mine)
            console.print(f"[dim]{r} on {esc(m)}: {len(mine)} calls, {spent} completion tokens")
    if result.children:
        console.print(f"[dim]{len(result.children)} inner runs: `--json` shows each under children")
    if result.stopped:
        console.print(f"[yellow]{esc(result.stopped)}[/yellow]")
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    if result.run_id:
        console.print(f"[dim]run {result.run_id}: `ponder runs show {result.run_id}`")
