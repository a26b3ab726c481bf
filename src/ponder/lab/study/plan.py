"""A study's plan without running it (`--dry-run`): what it would request, and what that would cost.

`estimate(config) -> Plan` loads no model and writes nothing. Per model it counts the requests the
study would make (pools, runs, timing requests) and the samples they draw, and bounds the completion
tokens by max_tokens × samples. Where DIR (`--out`) already holds a study with the same pool
settings (what `--resume` or `--extend` would continue), only the work it lacks is counted, and its
records give measured figures per model: the mean completion tokens of a sample (the expected
tokens), the rate in completion tokens per wall second of its requests (the expected seconds), and
the mean prompt tokens of a request (a hosted model's prompt dollars). Without them the figure is
said to be unknown, never invented. Dollars: a local model's seconds × threads × the price of a
core-hour; a hosted model's tokens at its price-table entry.

The problems are counted from the suite without loading a model: a FAMILY@frontier part needs the
model's calibration, so its count is the `problems` asked for, an upper bound.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ponder.errors import PonderError
from ponder.lab.study.config import StudyConfig
from ponder.lab.study.execute import Work
from ponder.lab.study.runner import (
    KEPT,
    LEGACY_SETTINGS,
    STORE_NAME,
    check_extension,
    plan,
    samples_needed_of,
    stored_config,
)
from ponder.lab.study.store import StudyStore
from ponder.models import prices
from ponder.tasks.base import Item
from ponder.tasks.suites import FRONTIER, parse_suite


@dataclass(frozen=True)
class Measured:
    """What a stored study recorded of one model."""

    tokens_per_sample: float  # mean completion tokens of a stored sample
    tokens_per_second: float | None  # Σ completion tokens / Σ wall seconds of its requests
    prompt_per_request: float  # mean prompt tokens of a request


@dataclass(frozen=True)
class Stored:
    """The study already in --out, read without writing."""

    identity: dict[str, Any]
    items: list[Item]
    done: set[tuple[str, str, str]]
    sizes: dict[tuple[str, str], int]
    measured: dict[str, Measured]


@dataclass(frozen=True)
class ModelPlan:
    model: str
    requests: dict[str, int]  # by kind: pool, run, timing
    samples: int
    tokens_bound: int  # max_tokens × samples
    tokens_expected: float | None
    tokens_per_second: float | None
    seconds: float | None
    seconds_bound: float | None
    dollars: float | None
    dollars_bound: float | None
    dollars_basis: str  # how the dollars were priced, or why they are unknown
    stored: int  # requests already in the store

    def __str__(self) -> str:
        kinds = ", ".join(f"{c} {k}" for k, c in sorted(self.requests.items()))
        total = sum(self.requests.values())
        lines = [f"{self.model}: {total} requests ({kinds or 'none'}), {self.samples} samples"]
        if self.stored:
            lines[0] += f"; {self.stored} already stored"
        expected = "unknown (no stored study of this model)"
        if self.tokens_expected is not None:
            expected = f"~{self.tokens_expected:,.0f} (at the measured mean a sample)"
        lines.append(f"  completion tokens: at most {self.tokens_bound:,}, expected {expected}")
        if self.seconds is not None and self.tokens_per_second is not None:
            bound = f" (at most {_duration(self.seconds_bound)})" if self.seconds_bound is not None else ""
            lines.append(
                f"  time: ~{_duration(self.seconds)}{bound} at {self.tokens_per_second:.1f} completion "
                "tokens/s, measured"
            )
        else:
            lines.append("  time: unknown: no measured rate (no stored study of this model in --out)")
        if self.dollars is not None:
            bound = f" (at most {_usd(self.dollars_bound)})" if self.dollars_bound is not None else ""
            lines.append(f"  dollars: ~{_usd(self.dollars)}{bound}, {self.dollars_basis}")
        elif self.dollars_bound is not None:
            lines.append(f"  dollars: at most {_usd(self.dollars_bound)}, {self.dollars_basis}")
        else:
            lines.append(f"  dollars: unknown: {self.dollars_basis}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Plan:
    out: str
    suite: str
    problems: int
    models: tuple[ModelPlan, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (`--dry-run --json`)."""
        return asdict(self)

    def __str__(self) -> str:
        head = f"dry run of a study of {self.problems} problems ({self.suite}) in {self.out}: nothing run"
        return "\n".join([head, *map(str, self.models), *(f"note: {n}" for n in self.notes)])


def estimate(config: StudyConfig) -> Plan:
    """The plan of `config` (checked), against the study stored in its --out if any; no model is
    loaded and nothing is written."""
    config.check()
    notes: list[str] = []
    path = Path(config.out) / STORE_NAME
    stored = _read_store(path) if path.exists() else None
    measured: dict[str, Measured] = {}
    done: set[tuple[str, str, str]] = set()
    sizes: dict[tuple[str, str], int] = {}
    items: list[Item] | None = None
    if stored is not None:
        mine = config.identity()
        differ = [k for k in KEPT if stored.identity.get(k) != mine.get(k)]
        if differ:
            notes.append(
                f"{config.out} holds a study with other {', '.join(differ)}: neither --resume nor "
                "--extend would continue it, so the whole study is planned (choose another --out)"
            )
            # Its rates still describe the engine; its tokens a sample came from other settings.
            measured = {m: replace(x, tokens_per_sample=0.0) for m, x in stored.measured.items()}
        else:
            items, done, sizes, measured = stored.items, stored.done, stored.sizes, stored.measured
            if stored.identity == mine:
                notes.append(f"{config.out} holds this study: --resume runs only the work it lacks")
            else:
                try:
                    check_extension(config, stored_config(stored.identity, config), stored.sizes)
                    notes.append(f"{config.out} holds this study: --extend runs only the work it lacks")
                except PonderError as e:
                    notes.append(f"{config.out} holds this study, but {e}")
    if items is None:
        items = _problems(config, notes)
    table = prices.load()
    models = tuple(
        _model_plan(config, m, [w for w in plan(config, items, done, sizes) if w.model == m],
                    sum(1 for d in done if d[0] == m), measured.get(m), table)
        for m in config.models
    )  # fmt: skip
    for m in config.models:
        for scorer, pool in config.score_passes(m):
            notes.append(
                f"{m}: the {scorer} pass scores each sample of the {pool} pool with its own model calls "
                "(a judge's prompt per sample, or programs run): counted as score requests, their "
                "tokens and seconds not estimated here"
            )
    return Plan(str(config.out), config.suite, len(items), models, tuple(notes))


def _model_plan(
    config: StudyConfig,
    model: str,
    work: list[Work],
    stored: int,
    measured: Measured | None,
    table: prices.PriceTable,
) -> ModelPlan:
    requests: Counter[str] = Counter()
    samples = 0
    for w in work:
        kind = w.kind.partition(":")[0]
        requests[kind] += 1
        samples += w.n if w.spec is None else samples_needed_of(w.spec)
    bound = config.max_tokens * samples
    expected = measured.tokens_per_sample * samples if measured and measured.tokens_per_sample else None
    rate = measured.tokens_per_second if measured else None
    seconds = expected / rate if expected is not None and rate else None
    seconds_bound = bound / rate if rate else None
    name = prices.hosted_name(model)
    dollars = dollars_bound = None
    if name is None:
        per_second = config.threads * table.cpu_core_hour / 3600.0
        basis = f"{config.threads} cores at ${table.cpu_core_hour}/core-hour"
        if seconds is not None:
            dollars = seconds * per_second
        if seconds_bound is not None:
            dollars_bound = seconds_bound * per_second
        else:
            basis = "a local model's dollars follow its seconds, and the rate is unknown"
    else:
        prompt = round(measured.prompt_per_request * sum(requests.values())) if measured else 0
        dollars_bound = table.token_cost(name, prompt, 0, bound)
        if dollars_bound is None:
            basis = f"no price for {name} in PONDER_HOME/prices.toml"
        else:
            basis = "hosted, at the price table" + ("" if measured else "; prompts not priced (unmeasured)")
            if expected is not None:
                dollars = table.token_cost(name, prompt, 0, round(expected))
    return ModelPlan(
        model, dict(requests), samples, bound, expected, rate, seconds, seconds_bound, dollars, dollars_bound,
        basis, stored,
    )  # fmt: skip


def _read_store(path: Path) -> Stored:
    store = StudyStore(path, readonly=True)
    try:
        identity = {**LEGACY_SETTINGS, **(store.meta("identity") or {})}
        measured = {}
        rows = store.db.execute(
            "SELECT model, sum(completion_tokens) AS tokens, sum(wall_seconds) AS seconds,"
            " sum(prompt_tokens) AS prompt, count(*) AS requests FROM requests GROUP BY model"
        ).fetchall()
        per_sample = dict(
            store.db.execute(
                "SELECT r.model, avg(s.completion_tokens) FROM samples s"
                " JOIN requests r ON r.id = s.request_id GROUP BY r.model"
            ).fetchall()
        )
        for r in rows:
            measured[r["model"]] = Measured(
                tokens_per_sample=float(per_sample.get(r["model"]) or 0.0),
                tokens_per_second=r["tokens"] / r["seconds"] if r["seconds"] else None,
                prompt_per_request=r["prompt"] / r["requests"],
            )
        return Stored(identity, store.problems(), store.done(), store.pool_sizes(), measured)
    finally:
        store.close()


def _problems(config: StudyConfig, notes: list[str]) -> list[Item]:
    """The suite's problems, or, for a FAMILY@frontier part (its level needs the model's calibration),
    as many stand-ins as asked for."""
    if any(p.level == FRONTIER for p in parse_suite(config.suite)):
        notes.append(f"{config.suite} has a FAMILY@frontier part: counted as {config.problems} problems")
        return [Item(f"#{i}", "", None, config.split, "", "", "", "text") for i in range(config.problems)]
    from ponder.tasks import load

    return load(config.suite, config.problems, split=config.split, seed=config.seed)


def _usd(dollars: float) -> str:
    return f"${dollars:.2f}" if dollars >= 0.01 else f"${dollars:.2g}"


def _duration(seconds: float | None) -> str:
    from ponder.progress import duration

    return "?" if seconds is None else duration(seconds) if seconds >= 1 else f"{seconds:.2f}s"
