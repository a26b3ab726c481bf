"""Run a study: for each model and problem, one pool of samples and the runs that cannot be pooled.

1. The problems are loaded once (FAMILY@frontier resolves with the first model) and stored, so every
   model sees the same problems and a resumed study the same ones again.
2. For each model and problem: one request of n samples (the pool, n = the largest pool budget), and
   one run per budget of each strategy that cannot be derived from a pool (`cot`, `direct`). Each
   request has a seed derived from (study seed, model, problem, request).
3. On the first `timing_problems` problems, each pool budget k < n is also requested for real
   (`timing:k`, n = k samples, unjudged): the engine's batching curve, from which the seconds of
   every budget follow (docs/study.md).
4. Each request is executed (`execute.py`: model calls and answers, no store), then, here on the
   driver, judged by the oracle (one verdict per problem and answer, cached in the store) and saved
   in one transaction with each model call it made (`StudyStore.save`), as it completes.
5. One event loop per model's work; `concurrency` requests in flight at once (HTTP requests, or
   problems sharing the embedded engine's slots, sized for concurrency × the largest request, at
   most MAX_SLOTS). With concurrency 1 the requests run one after another in plan order. With
   `--executor ray` each model's work goes to a pool of Ray actors instead (`ray_executor.py`),
   and the records come back here to be judged and saved; a request that fails on every try is
   recorded as failed, and no summary is written until `--resume` has done it.
6. Then the scoring passes (`score:SCORER[:POOL]`, one per problem and model): each reads its stored
   pool's samples (handed to `execute` by the driver, as candidates) and scores each one, a
   verifier's judge calls or a program's runs, recorded as that request's calls.
7. On `--resume`, requests already stored are skipped: none is lost, none is redone. `--extend` adds
   the work a larger config plans (more strategies or models) to a stored study without redrawing
   its pools: the settings that drew them must match (`KEPT`), and no pool may need to grow.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ponder.backends.base import Backend
from ponder.backends.factory import MAX_SLOTS
from ponder.errors import PonderError
from ponder.lab.study.config import StudyConfig, pooling
from ponder.lab.study.drive import drive
from ponder.lab.study.execute import (
    Work,
    pool_kind,
    request_seed,
    timing_kind,
)
from ponder.lab.study.series import run_spec
from ponder.lab.study.store import StudyStore
from ponder.models.resolve import ModelRef
from ponder.progress import Progress
from ponder.session import Session
from ponder.specs import Spec
from ponder.strategies.pooling import run_judge_kind, score_kind
from ponder.tasks import load
from ponder.tasks.base import Item

STORE_NAME = "study.sqlite"
# Settings added since studies were first stored, with the value that reproduces a study that lacks them.
LEGACY_SETTINGS: dict[str, Any] = {"timing_problems": 0, "roles": {}, "limit": None}
# What `--extend` keeps: the settings that drew the pools (the problems, the sampling, the engine's
# context) and that the stored runs were made under (threads: their seconds and dollars; the roles'
# models and the per-run limit). Strategies, models, budgets, comparisons, timing problems and the
# server's URL may change.
KEPT = ("suite", "problems", "seed", "split", "max_tokens", "temperature", "ctx", "threads", "roles", "limit")
BackendFactory = Callable[[str, StudyConfig], tuple[Backend, ModelRef]]
PoolSizes = dict[tuple[str, str], int]  # (model, pool request kind) → samples of each stored pool

__all__ = ["Work", "pool_kind", "request_seed", "run_study", "timing_kind"]


def open_session(
    model: str, config: StudyConfig, factory: BackendFactory | None = None, largest: int | None = None
) -> Session:
    """The session a model's work runs in, with slots for its largest request (`largest`, default
    from the config), times the requests in flight; a local engine shared by concurrent requests
    apportions its cores' time (`backends/shared.py`)."""
    options = config.options()
    if largest is None:
        largest = max([1, config.pool_size(model), *(samples_needed_of(s) for s in config.specs(model))])
    slots = largest if config.concurrency == 1 else min(MAX_SLOTS, config.concurrency * largest)
    opener = None if factory is None else (lambda m, o, k: factory(m, config))
    session = Session.open(config.role_models(model), options, slots=slots, quiet=False, opener=opener)
    return session


def samples_needed_of(spec: Spec) -> int:
    from ponder.strategies import samples_needed

    return 1 if pooling(spec) is not None else samples_needed(spec)


def open_study(config: StudyConfig, resume: bool, extend: bool = False) -> StudyStore:
    """The study's store: created for a fresh study; for `resume`, checked against the settings; for
    `extend`, checked against the settings that must be kept (`check_extension` does the rest)."""
    out = Path(config.out)
    path = out / STORE_NAME
    if (resume or extend) and not path.exists():
        flag = "--extend" if extend else "--resume"
        raise PonderError(f"{out} holds no study to {flag.removeprefix('--')}: run it without {flag} first")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PonderError(f"cannot create {out}: {e.strerror}") from None
    store = StudyStore(path)
    if resume or extend:
        stored = store.meta("identity")
        if stored is None:
            store.close()
            verb = "extend" if extend else "resume"
            raise PonderError(f"{out} holds no study to {verb} (it stopped before it began): run it afresh")
        if extend:
            stored = {**LEGACY_SETTINGS, **stored}
            mine = config.identity()
            diff = [k for k in KEPT if stored.get(k) != mine.get(k)]
            if diff:
                store.close()
                raise PonderError(
                    f"--extend keeps the settings the stored study was drawn with, and {', '.join(diff)} "
                    "differ: keep them (or start a new study in another --out)"
                )
            return store
        for key, legacy in LEGACY_SETTINGS.items():
            # A study stored before a setting existed ran without it: left at its default, the
            # setting takes the value that study had.
            if key not in stored and getattr(config, key) == StudyConfig.__dataclass_fields__[key].default:
                setattr(config, key, legacy)
        stored = {**LEGACY_SETTINGS, **stored}
        mine = config.identity()
        if stored != mine:
            diff = sorted(k for k in set(stored or {}) | set(mine) if (stored or {}).get(k) != mine.get(k))
            store.close()
            raise PonderError(
                f"--resume with other settings than the stored study ({', '.join(diff)}): keep them"
            )
    return store


def check_extension(config: StudyConfig, stored: StudyConfig, sizes: PoolSizes) -> None:
    """An extension may reuse a stored pool at any budget up to its size, never grow it (more samples
    would be drawn with other seeds than the pool's, and the pool would change), nor ask it for token
    logprobs it was drawn without (a scorer reading them would silently fall back to a vote)."""
    for model in config.models:
        for pool, n in config.pools(model).items():
            drawn = sizes.get((model, pool_kind(pool)))
            if drawn is None:
                continue  # not drawn yet: drawn now, at this config's size
            mine = [s for s in config.specs(model) if (p := pooling(s)) and p.pool == pool]
            if n > drawn:
                needs = next(str(s) for s in mine if max(config.ladder(s)) > drawn)
                raise PonderError(
                    f"--extend: {needs} needs a pool of {n} samples and {model}'s stored {pool} pool holds "
                    f"{drawn}: redrawing it would change its samples; keep budgets up to {drawn} "
                    "(--max-n or @N), or start a new study in another --out"
                )
            had = model in stored.models and stored.pool_logprobs(model, pool)
            if config.pool_logprobs(model, pool) and not had:
                needs = next(str(s) for s in mine if (p := pooling(s)) and p.logprobs)
                raise PonderError(
                    f"--extend: {needs} scores {model}'s {pool} pool by token logprobs, and the stored "
                    "pool was drawn without them: redrawing it would change its samples; start a new "
                    "study in another --out"
                )


def stored_config(identity: dict[str, Any] | None, config: StudyConfig) -> StudyConfig:
    """The config a stored study was last run with, from its identity (settings it predates take
    their legacy values)."""
    identity = {**LEGACY_SETTINGS, **(identity or {})}
    known = {k: v for k, v in identity.items() if k in StudyConfig.__dataclass_fields__}
    return StudyConfig(**{**known, "out": config.out})


def _empty(path: Path) -> bool:
    store = StudyStore(path)
    try:
        return store.meta("identity") is None
    finally:
        store.close()


def environment(config: StudyConfig, stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the summary reports of the machine, fixed when the study starts (so resuming changes
    nothing): engine versions and the models' sha256. An extension keeps what was stored and adds
    the models it brings."""
    from ponder.lab.study.outputs import engine_versions, model_sha256

    if stored is not None:
        models = dict(stored.get("models", {}))
        for m in config.models:
            models.setdefault(m, {"sha256": model_sha256(m)})
        return {**stored, "models": models}
    return {"engine": engine_versions(), "models": {m: {"sha256": model_sha256(m)} for m in config.models}}


def timing_budgets(config: StudyConfig, model: str, pool: str = "cot", n: int | None = None) -> list[int]:
    """The budgets below a pool's size (`n`: the stored pool's, else the config's) that the batching
    calibration times for real."""
    n = config.pools(model).get(pool, 0) if n is None else n
    ks = {k for s in config.specs(model) if (p := pooling(s)) and p.pool == pool for k in config.ladder(s)}
    return sorted(k for k in ks if k < n)


def pool_sizes(config: StudyConfig, model: str, sizes: PoolSizes | None = None) -> dict[str, int]:
    """Each pool the model's strategies draw from, with its size: a stored pool keeps its own."""
    sizes = sizes or {}
    return {pool: sizes.get((model, pool_kind(pool)), n) for pool, n in config.pools(model).items()}


def plan(
    config: StudyConfig,
    items: list[Item],
    done: set[tuple[str, str, str]],
    sizes: PoolSizes | None = None,
) -> list[Work]:
    """The requests the study needs that are not `done`, per model in problem order."""
    work = []
    for model in config.models:
        pools = pool_sizes(config, model, sizes)
        for position, item in enumerate(items):
            for pool, n in pools.items():
                work.append(Work(model, item, pool_kind(pool), None, n, pool))
            for spec in config.specs(model):
                if pooling(spec) is None:
                    at = run_spec(spec)
                    work.append(Work(model, item, f"run:{at}", at))
            if position < config.timing_problems:
                for pool, n in pools.items():
                    work += [
                        Work(model, item, timing_kind(pool, k), None, k, pool)
                        for k in timing_budgets(config, model, pool, n)
                    ]
        for item in items:  # after every pool: a pass reads its problem's stored pool
            for scorer, pool in config.score_passes(model):
                work.append(Work(model, item, score_kind(scorer, pool), None, pool=pool, scorer=scorer))
            # the judges also read each run's final answer (to measure it: charged to no strategy)
            for judge in config.run_judges():
                for spec in config.specs(model):
                    if pooling(spec) is None:
                        run = f"run:{run_spec(spec)}"
                        work.append(
                            Work(model, item, run_judge_kind(judge, run), None, pool=run, scorer=judge)
                        )
    return [w for w in work if (w.model, w.item.id, w.kind) not in done]


def executor(config: StudyConfig) -> AbstractContextManager[Any]:
    """Ray, joined for the study (`--executor ray`), or None for the local executor."""
    if config.executor == "ray":
        from ponder.lab.study.ray_executor import ray_session

        return ray_session(config.address)
    return nullcontext()


def refuse_failures(store: StudyStore) -> None:
    """No summary over missing requests: the failed ones are named, and `--resume` tries them again."""
    failed = store.failures()
    if failed:
        model, problem, kind, tries, error = failed[0]
        raise PonderError(
            f"{len(failed)} request(s) failed on every try, recorded in {store.path} (table failures); "
            f"the first, {kind} of {problem} on {model}, {tries} tries: {error}. Fix the cause and run "
            "again with --resume"
        )


def warnings(config: StudyConfig, items: list[Item]) -> list[str]:
    """What the user should know before the study spends anything: small item spaces (seeds
    overlap), and where a private study's gold answers will be written."""
    from ponder.tasks.generate import space_warning

    out = []
    for family, level in sorted({(i.family, i.level) for i in items if i.level is not None}):
        count = sum(1 for i in items if (i.family, i.level) == (family, level))
        line = space_warning(family, level, count)
        if line:
            out.append(line)
    if config.split == "private":
        out.append(
            f"a private study: {Path(config.out) / STORE_NAME} and samples.parquet hold the private items "
            f"with their gold answers; keep {config.out} to yourself (report.html leaves them out)"
        )
    return out


def _load_items(config: StudyConfig) -> list[Item]:
    items = load(config.suite, config.problems, split=config.split, seed=config.seed, model=config.models[0])
    if not items:
        raise PonderError(f"the suite {config.suite} has no problems")
    counts = Counter(i.id for i in items)
    twice = sorted(pid for pid, c in counts.items() if c > 1)
    if twice:
        raise PonderError(f"the suite names problems twice ({', '.join(twice[:3])}): give each part once")
    return items


def _isolate(items: list[Item]) -> None:
    if any(i.answer_format == "code" for i in items):
        from ponder.sandbox.isolation import ensure_isolation

        ensure_isolation()  # code is judged in the sandbox: refuse now, not after sampling


def run_study(
    config: StudyConfig,
    *,
    resume: bool = False,
    extend: bool = False,
    backend_factory: BackendFactory | None = None,
    quiet: bool = False,
) -> Path:
    """Run (or continue, or extend) a study; write summary.json and samples.parquet; return the
    summary's path."""
    from ponder.lab.study.outputs import write_outputs

    config.check()
    items: list[Item] = []
    path = Path(config.out) / STORE_NAME
    fresh = not resume and not extend
    if fresh and path.exists() and _empty(path):
        path.unlink()  # a store killed before it held its settings is no study: start afresh
    if fresh:
        if path.exists():
            raise PonderError(
                f"{config.out} already holds a study: pass --resume to continue it, --extend to add "
                "strategies or models to it, or choose another --out"
            )
        # The problems are made before the store, so a bad suite leaves nothing behind.
        items = _load_items(config)
        _isolate(items)
    store = open_study(config, resume, extend)
    console = Console(stderr=True, quiet=quiet)
    for line in warnings(config, items):
        console.print(f"[yellow]warning:[/yellow] {escape(line)}", highlight=False)
    try:
        if fresh:
            store.initialise(
                items,
                {
                    "identity": config.identity(),
                    "config": {**config.identity(), "out": str(config.out)},
                    "environment": environment(config),
                },
            )
        else:
            items = store.problems()
        sizes = store.pool_sizes()
        if extend:
            check_extension(config, stored_config(store.meta("identity"), config), sizes)
            _isolate(items)
            store.update_meta(
                {
                    "identity": config.identity(),
                    "config": {**config.identity(), "out": str(config.out)},
                    "environment": environment(config, store.meta("environment") or {}),
                }
            )
        todo = plan(config, items, store.done(), sizes)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, disable=quiet) as progress, executor(config) as ray:
            for model in config.models:
                mine = [w for w in todo if w.model == model]
                if not mine:
                    continue
                task = progress.add_task(model, total=len(mine))
                pools = pool_sizes(config, model, sizes).values()
                largest = max([1, *pools, *(samples_needed_of(s) for s in config.specs(model))])
                advance = partial(progress.advance, task)
                if ray is not None:
                    from ponder.lab.study.ray_executor import run_model_on_ray

                    run_model_on_ray(ray, model, mine, config, store, backend_factory, largest, advance)
                    continue
                with open_session(model, config, backend_factory, largest) as session:
                    # The scoring passes read stored pools: they run once every pool is stored.
                    asyncio.run(drive([w for w in mine if not w.scoring], session, config, store, advance))
                    asyncio.run(drive([w for w in mine if w.scoring], session, config, store, advance))
        refuse_failures(store)
        summary = write_outputs(config, store)
        from ponder.report import render

        render(Path(config.out))
        return summary
    except BaseException:
        if fresh and not store.done() and not store.failures():
            # Nothing was spent: leave no half-made study behind (a model that fails to load, say).
            store.close()
            store.path.unlink(missing_ok=True)
        raise
    finally:
        store.close()
