"""Run a study: for each model and problem, one pool of samples and the runs that cannot be pooled.

1. The problems are loaded once (FAMILY@frontier resolves with the first model) and stored, so every
   model sees the same problems and a resumed study the same ones again.
2. For each model and problem: one request of n samples (the pool, n = the largest pool budget), and
   one run per budget of each strategy that cannot be derived from a pool (`cot`, `direct`). Each
   request has a seed derived from (study seed, model, problem, request), is judged by the oracle
   (one verdict per problem and answer, cached in the store), and is written to the study store in
   one transaction when it completes, with each model call it made.
3. On the first `timing_problems` problems, each pool budget k < n is also requested for real
   (`timing:k`, n = k samples, unjudged): the engine's batching curve, from which the seconds of
   every budget follow (docs/study.md).
4. On `--resume`, requests already stored are skipped: none is lost, none is redone.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
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

from ponder.answers import extract_answer
from ponder.backends.base import Backend
from ponder.errors import PonderError
from ponder.lab.study.config import StudyConfig, pooling
from ponder.lab.study.series import run_spec
from ponder.lab.study.store import StoredSample, StudyStore
from ponder.limits import Limit
from ponder.models.resolve import ModelRef
from ponder.progress import Progress
from ponder.session import Options, Session
from ponder.specs import Spec
from ponder.strategies import build, prompts
from ponder.strategies.pooling import POOL_PROMPTS
from ponder.tasks import correct, load
from ponder.tasks.base import Item

STORE_NAME = "study.sqlite"
# Settings added since studies were first stored, with the value that reproduces a study that lacks them.
LEGACY_SETTINGS: dict[str, Any] = {"timing_problems": 0, "roles": {}, "limit": None}
BackendFactory = Callable[[str, StudyConfig], tuple[Backend, ModelRef]]


def open_session(model: str, config: StudyConfig, factory: BackendFactory | None = None) -> Session:
    """The session a model's work runs in, with slots for its largest request."""
    options = Options(
        max_tokens=config.max_tokens,
        seed=config.seed,
        threads=config.threads,
        ctx=config.ctx,
        base_url=config.base_url,
        limit=Limit.parse(config.limit),
    )
    slots = max([1, config.pool_size(model), *(samples_needed_of(s) for s in config.specs(model))])
    opener = None if factory is None else (lambda m, o, k: factory(m, config))
    return Session.open(config.role_models(model), options, slots=slots, quiet=False, opener=opener)


def samples_needed_of(spec: Spec) -> int:
    from ponder.strategies import samples_needed

    return 1 if pooling(spec) is not None else samples_needed(spec)


def pool_kind(pool: str) -> str:
    """The stored request kind of a pool (the chain-of-thought pool keeps its first name, `pool`)."""
    return "pool" if pool == "cot" else f"pool:{pool}"


def timing_kind(pool: str, k: int) -> str:
    return f"timing:{k}" if pool == "cot" else f"timing:{pool}:{k}"


def request_seed(seed: int, model: str, problem: str, kind: str) -> int:
    digest = hashlib.sha256(f"{seed}\x1f{model}\x1f{problem}\x1f{kind}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2**31


@dataclass
class Work:
    model: str
    item: Item
    kind: str  # "pool[:<pool>]", "run:<spec>" or "timing:[<pool>:]<k>"
    spec: Spec | None
    n: int = 0  # samples of a pool or timing request
    pool: str = "cot"  # the pool a pool or timing request draws for


def open_study(config: StudyConfig, resume: bool) -> StudyStore:
    out = Path(config.out)
    path = out / STORE_NAME
    if resume and not path.exists():
        raise PonderError(f"{out} holds no study to resume: run it without --resume first")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PonderError(f"cannot create {out}: {e.strerror}") from None
    store = StudyStore(path)
    if resume:
        stored = store.meta("identity")
        if stored is None:
            store.close()
            raise PonderError(f"{out} holds no study to resume (it stopped before it began): run it afresh")
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


def _empty(path: Path) -> bool:
    store = StudyStore(path)
    try:
        return store.meta("identity") is None
    finally:
        store.close()


def environment(config: StudyConfig) -> dict[str, Any]:
    """What the summary reports of the machine, fixed when the study starts (so resuming changes
    nothing): engine versions and the models' sha256."""
    from ponder.lab.study.outputs import engine_versions, model_sha256

    return {"engine": engine_versions(), "models": {m: {"sha256": model_sha256(m)} for m in config.models}}


def timing_budgets(config: StudyConfig, model: str, pool: str = "cot") -> list[int]:
    """The budgets below a pool's size that the batching calibration times for real."""
    n = config.pools(model).get(pool, 0)
    ks = {k for s in config.specs(model) if (p := pooling(s)) and p.pool == pool for k in config.ladder(s)}
    return sorted(k for k in ks if k < n)


def plan(config: StudyConfig, items: list[Item], done: set[tuple[str, str, str]]) -> list[Work]:
    work = []
    for model in config.models:
        pools = config.pools(model)
        for position, item in enumerate(items):
            for pool, n in pools.items():
                work.append(Work(model, item, pool_kind(pool), None, n, pool))
            for spec in config.specs(model):
                if pooling(spec) is None:
                    at = run_spec(spec)
                    work.append(Work(model, item, f"run:{at}", at))
            if position < config.timing_problems:
                for pool in pools:
                    work += [
                        Work(model, item, timing_kind(pool, k), None, k, pool)
                        for k in timing_budgets(config, model, pool)
                    ]
    return [w for w in work if (w.model, w.item.id, w.kind) not in done]


def judge(store: StudyStore, item: Item, answer: str | None) -> bool:
    """The oracle's verdict, computed once per (problem, answer) and then read from the store."""
    if answer is None:
        return correct(item, answer)
    cached = store.verdict(item.id, answer)
    if cached is not None:
        return cached
    verdict = correct(item, answer)
    store.save_verdict(item.id, answer, verdict)
    return verdict


async def _do(work: Work, session: Session, config: StudyConfig, store: StudyStore) -> None:
    seed = request_seed(config.seed, work.model, work.item.id, work.kind)
    # --temperature is the pool's; a run keeps its strategy's own default (cot and direct: greedy)
    problem = work.item.problem()
    if work.spec is None:
        # A pool is not a run: a limit caps each run of a strategy, never the pool its budgets share.
        ctx = session.context(seed=seed, temperature=None, limit=None)
        messages = prompts.messages(POOL_PROMPTS[work.pool], problem)
        samples = await ctx.generate(
            messages,
            work.n,
            temperature=config.temperature,
            logprobs=config.pool_logprobs(work.model, work.pool),
            stop=problem.stop,
        )
        stored = []
        if work.kind.startswith("pool"):  # a timing request is measured, not judged
            for s in samples:
                answer = extract_answer(s.text, problem.answer_format)
                stored.append(
                    StoredSample(s.text, s.thoughts, answer, judge(store, work.item, answer), s.mean_logprob,
                                 s.completion_tokens, s.finish_reason)
                )  # fmt: skip
        store.save_request(
            model=work.model,
            problem_id=work.item.id,
            kind=work.kind,
            seed=seed,
            usage=ctx.ledger.total(),
            samples=stored,
            calls=ctx.ledger.records,
        )
        return
    ctx = session.context(seed=seed, temperature=None)
    result = await build(work.spec)(problem, ctx)
    verdict = judge(store, work.item, result.answer)
    stored = [
        StoredSample(c.text, c.thoughts, c.answer, judge(store, work.item, c.answer), c.score,
                     c.completion_tokens, c.finish_reason)
        for c in result.candidates
    ]  # fmt: skip
    store.save_request(
        model=work.model,
        problem_id=work.item.id,
        kind=work.kind,
        seed=seed,
        usage=result.usage,
        samples=stored,
        answer=result.answer,
        correct=verdict,
        calls=ctx.ledger.records,
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


def run_study(
    config: StudyConfig,
    *,
    resume: bool = False,
    backend_factory: BackendFactory | None = None,
    quiet: bool = False,
) -> Path:
    """Run (or continue) a study; write summary.json and samples.parquet; return the summary's path."""
    from ponder.lab.study.outputs import write_outputs

    config.check()
    items: list[Item] = []
    path = Path(config.out) / STORE_NAME
    if not resume and path.exists() and _empty(path):
        path.unlink()  # a store killed before it held its settings is no study: start afresh
    if not resume:
        if path.exists():
            raise PonderError(
                f"{config.out} already holds a study: pass --resume to continue it, or choose another --out"
            )
        # The problems are made before the store, so a bad suite leaves nothing behind.
        items = load(
            config.suite, config.problems, split=config.split, seed=config.seed, model=config.models[0]
        )
        if not items:
            raise PonderError(f"the suite {config.suite} has no problems")
        counts = Counter(i.id for i in items)
        twice = sorted(pid for pid, c in counts.items() if c > 1)
        if twice:
            raise PonderError(f"the suite names problems twice ({', '.join(twice[:3])}): give each part once")
        if any(i.answer_format == "code" for i in items):
            from ponder.sandbox.isolation import ensure_isolation

            ensure_isolation()  # code is judged in the sandbox: refuse now, not after sampling
    store = open_study(config, resume)
    console = Console(stderr=True, quiet=quiet)
    for line in warnings(config, items):
        console.print(f"[yellow]warning:[/yellow] {escape(line)}", highlight=False)
    try:
        if resume:
            items = store.problems()
        else:
            store.initialise(
                items,
                {
                    "identity": config.identity(),
                    "config": {**config.identity(), "out": str(config.out)},
                    "environment": environment(config),
                },
            )
        todo = plan(config, items, store.done())
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, disable=quiet) as progress:
            for model in config.models:
                mine = [w for w in todo if w.model == model]
                if not mine:
                    continue
                task = progress.add_task(model, total=len(mine))
                with open_session(model, config, backend_factory) as session:
                    for work in mine:
                        asyncio.run(_do(work, session, config, store))
                        progress.advance(task)
        summary = write_outputs(config, store)
        from ponder.report import render

        render(Path(config.out))
        return summary
    except BaseException:
        if not resume and not store.done():
            # Nothing was spent: leave no half-made study behind (a model that fails to load, say).
            store.close()
            store.path.unlink(missing_ok=True)
        raise
    finally:
        store.close()
