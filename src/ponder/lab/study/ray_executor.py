"""The Ray executor: a study's work on a pool of Ray actors, saved by the driver alone.

Each actor (`StudyWorker`) opens its own session of one model, as the local executor does (its own
embedded engine on `threads` cores, or its own client of a server), and runs `execute(work)`; the
record comes back to the driver, which judges it with the oracle and saves it in the one SQLite
store as it completes (`drive.save`, on one writer thread). Nothing else writes the store.

- **Affinity.** Every request of one (problem, model) goes to the same actor, so the problem's
  prompt stays in that actor's prefix cache. Problems are dealt to actors by their work (a pool of
  n samples weighs n), heaviest first to the least loaded; each actor then takes its own requests
  in plan order, `concurrency` in flight (an async actor runs that many at once).
- **Faults.** A request whose actor dies (the process killed, the node lost) or that raises is
  tried again on the next actor, up to `TRIES` times; a dead actor is replaced by a fresh one (at
  most `workers` replacements per model) that reloads the model and is checked as the first ones
  were, within `REPLACE_SECONDS` (a replacement that cannot be scheduled or hangs is given up, and
  its requests go to the others). A request that fails on every try
  is recorded in the store's `failures` table with its last error, and the study goes on; at the
  end the driver refuses to write a summary that would be missing it (`--resume` tries it again).
  Nothing saved is redone: a request is saved once, when its record arrives.
- **The gold stays with the driver.** An actor receives the problem a strategy sees, without the
  gold answer or the oracle's `data` (hidden tests, worked solutions); the oracle runs on the driver.
- **Seeds.** A request's seed is derived from (study seed, model, problem, kind), so a request
  draws with the same seed on either executor. Its samples are the same where the engine computes
  the same logits, which it need not do across batch shapes and prefix-cache hits (FIELD.md).

Ray is an extra: `pip install 'ponder[ray]'`.
"""

from __future__ import annotations

import asyncio
import heapq
import socket
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ponder.errors import PonderError, missing_extra
from ponder.lab.study.candidates import with_pool
from ponder.lab.study.config import StudyConfig
from ponder.lab.study.drive import all_or_none, save
from ponder.lab.study.execute import Record, Work, execute
from ponder.lab.study.store import StudyStore
from ponder.tasks.base import Item
from ponder.types import Problem

if TYPE_CHECKING:
    from ponder.lab.study.runner import BackendFactory

TRIES = 3  # tries of one request, on successive actors, before it is recorded as failed
REPLACE_SECONDS = 300.0  # how long a replacement actor may take to open its session

__all__ = ["TRIES", "ActorPool", "deal", "drive_on_ray", "ray_session"]


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise missing_extra("ray", "ray") from None
    return ray


class StudyWorker:
    """One actor: a session of one model, running the study's requests it is sent."""

    def __init__(self, model: str, config: StudyConfig, factory: BackendFactory | None, largest: int) -> None:
        from ponder.lab.study.runner import open_session

        self.config = config
        self.model = model
        self.session = open_session(model, config, factory, largest)

    async def execute(self, work: Work) -> Record:
        return await execute(work, self.session, self.config)

    def facts(self) -> dict[str, Any]:
        """What this worker runs: ponder's and its engines' versions and the model's sha256."""
        from ponder.lab.study.outputs import engine_versions, model_sha256

        return {"engine": engine_versions(), "sha256": model_sha256(self.model)}


def _answers(address: str) -> None:
    """A HOST:PORT where nothing listens fails here, in one line: Ray waits on it for minutes.
    ("auto" and ray://… are Ray's to resolve.)"""
    host, colon, port = address.rpartition(":")
    if not colon or not port.isdigit() or "://" in address:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as e:
        raise PonderError(
            f"cannot join Ray at {address} ({e.strerror or e}): start it with `ray start --head`, "
            "or fix --address"
        ) from None


@contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Ray, joined at `address` (None: a local cluster of this machine's cores), for the block; a
    Ray already initialised by the caller is used as it is and left running."""
    ray = _ray()
    started = False
    if not ray.is_initialized():
        if address is not None:
            _answers(address)
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as e:
            where = address or "a new local cluster"
            raise PonderError(f"cannot join Ray at {where} ({e}): start it with `ray start --head`") from None
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def deal(work: list[Work], workers: int) -> list[list[Work]]:
    """Each actor's requests: every request of a (problem, model) to one actor, problems dealt
    heaviest first to the least loaded (a pool of n samples weighs n), each list in plan order."""
    weight: dict[tuple[str, str], int] = {}
    for w in work:
        key = (w.model, w.item.id)
        weight[key] = weight.get(key, 0) + max(1, w.n)
    loads = [(0, i) for i in range(workers)]
    owner: dict[tuple[str, str], int] = {}
    for key in sorted(weight, key=lambda k: (-weight[k], k)):
        load, i = heapq.heappop(loads)
        owner[key] = i
        heapq.heappush(loads, (load + weight[key], i))
    lanes: list[list[Work]] = [[] for _ in range(workers)]
    for w in work:
        lanes[owner[(w.model, w.item.id)]].append(w)
    return lanes


@dataclass(frozen=True)
class _Seen(Item):
    """An item as an actor receives it: the problem a strategy sees, computed on the driver, and no
    gold: neither the answer nor the oracle's `data` (a suite's hidden tests, a worked solution)."""

    seen: Problem | None = None

    def problem(self) -> Problem:
        assert self.seen is not None
        return self.seen


def _without_gold(work: Work) -> Work:
    i = work.item
    seen = _Seen(
        i.id, i.family, i.level, i.split, i.question, "", i.instruction, i.answer_format, seen=i.problem()
    )
    return replace(work, item=seen)


def _one_line(error: BaseException) -> str:
    cause = getattr(error, "cause", None)
    shown = cause if isinstance(cause, BaseException) else error
    text = str(shown).strip().splitlines()
    return f"{type(shown).__name__}: {text[-1] if text else ''}"[:500]


class ActorPool:
    """`workers` actors of one model, replaced when they die (at most `workers` times)."""

    def __init__(
        self, ray: Any, model: str, config: StudyConfig, factory: BackendFactory | None, largest: int
    ) -> None:
        self.ray = ray
        # an engine's threads; a client of a server one core (reading replies is real work), so
        # Ray spreads the clients over the cluster's cores
        cpus = 1 if model.startswith("openai:") else config.threads
        have = ray.cluster_resources().get("CPU", 0)
        if cpus * config.workers > have:
            raise PonderError(
                f"{config.workers} workers of {cpus} threads need {cpus * config.workers} CPUs and the Ray "
                f"cluster has {have:g}: lower --workers or --threads"
            )
        self.remote = ray.remote(num_cpus=cpus, max_concurrency=config.concurrency)(StudyWorker)
        self.args = (model, config, factory, largest)
        from ponder.lab.study.outputs import engine_versions, model_sha256

        # what every worker must report: the driver's own, computed once (a model given as a path
        # is hashed whole)
        self.expected: dict[str, Any] = {"engine": engine_versions(), "sha256": model_sha256(model)}
        self.actors: list[Any | None] = [self._start() for _ in range(config.workers)]
        self.replacements = config.workers

    def _start(self) -> Any:
        return self.remote.remote(*self.args)

    def ready(self) -> None:
        """Wait for every actor's session (the model loaded; a model that cannot load fails here),
        and check that each runs what the driver runs: the same ponder and engine versions and the
        same model file. The summary reports the driver's (`environment`), so a worker on another
        version, or with another file at the model's path, would make its records unattributable."""
        try:
            facts = self.ray.get([a.facts.remote() for a in self.actors if a is not None])
        except self.ray.exceptions.RayError as e:
            raise PonderError(f"a Ray worker could not open its session: {_one_line(e)}") from None
        for theirs in facts:
            self._check(theirs)

    def _check(self, theirs: dict[str, Any]) -> None:
        if theirs != self.expected:
            engines: dict[str, Any] = self.expected["engine"]
            differ = ", ".join(sorted(k for k, v in engines.items() if theirs["engine"].get(k) != v))
            what = f"versions of {differ}" if differ else f"the file of {self.args[0]} ({theirs['sha256']})"
            raise PonderError(
                f"a Ray worker runs other {what} than this driver: install the same ponder, engines "
                "and models on every node"
            )

    async def replace(self, i: int, dead: Any) -> None:
        """A fresh actor in place of a dead one, once it has opened its session and passed the
        driver's check within `REPLACE_SECONDS`; else none (its requests go to the others). The
        place is empty meanwhile, so no request waits on an actor that may never start."""
        if self.actors[i] is not dead:
            return  # another request already saw it die
        self.actors[i] = None
        self.ray.kill(dead, no_restart=True)
        if self.replacements <= 0:
            return
        self.replacements -= 1
        fresh = self._start()
        try:
            self._check(await asyncio.wait_for(fresh.facts.remote(), REPLACE_SECONDS))
        except (TimeoutError, PonderError, self.ray.exceptions.RayError):
            self.ray.kill(fresh, no_restart=True)
            return
        self.actors[i] = fresh

    async def run(self, lane: int, work: Work) -> tuple[Record | None, int, str]:
        """The record of one request, tried on successive actors from its own; or None with the tries
        and the last error."""
        errors = self.ray.exceptions
        sent, error = _without_gold(work), ""
        places = len(self.actors)
        for attempt in range(TRIES):
            alive = [j for j in range(places) if self.actors[j] is not None]
            if not alive:
                return None, attempt, error or "every worker is gone"
            # its own actor first, then the next ones; an empty place passes to the next
            i = min(alive, key=lambda j: (j - lane - attempt) % places)
            actor = self.actors[i]
            assert actor is not None
            try:
                record: Record = await actor.execute.remote(sent)
                return record, attempt + 1, ""
            except errors.RayActorError as e:
                error = f"the worker died ({_one_line(e)})"
                await self.replace(i, actor)
            except errors.RayError as e:
                error = _one_line(e)
        return None, TRIES, error

    def close(self) -> None:
        for a in self.actors:
            if a is not None:
                self.ray.kill(a, no_restart=True)


async def drive_on_ray(
    work: list[Work],
    pool: ActorPool,
    config: StudyConfig,
    store: StudyStore,
    advance: Callable[[], None] = lambda: None,
) -> int:
    """Run one model's work on its actors, each record saved by the driver as it arrives; returns
    how many requests failed on every try (each recorded in the store's `failures`)."""
    if not work:
        return 0
    loop = asyncio.get_running_loop()
    lanes = [deque(lane) for lane in deal(work, len(pool.actors))]
    failed = 0

    with ThreadPoolExecutor(1, thread_name_prefix="ponder-study-save") as writer:

        async def lane_worker(i: int) -> None:
            nonlocal failed
            while lanes[i]:
                w = lanes[i].popleft()
                if w.scoring:
                    w = await loop.run_in_executor(writer, with_pool, store, w)
                record, tries, error = await pool.run(i, w)
                if record is None:
                    failed += 1
                    await loop.run_in_executor(
                        writer, store.save_failure, w.model, w.item.id, w.kind, tries, error
                    )
                else:
                    await loop.run_in_executor(writer, save, store, w.item, record)
                advance()

        lanes_in_flight = (
            lane_worker(i) for i, lane in enumerate(lanes) for _ in range(min(config.concurrency, len(lane)))
        )
        await all_or_none(lanes_in_flight)
    return failed


def run_model_on_ray(
    ray: Any,
    model: str,
    work: list[Work],
    config: StudyConfig,
    store: StudyStore,
    factory: BackendFactory | None,
    largest: int,
    advance: Callable[[], None] = lambda: None,
) -> int:
    """One model's work on its own actors, which are killed after it; the scoring passes read
    stored pools, so they run once every pool is stored (not at all when a pool failed: a
    `--resume` runs them). Returns how many requests failed on every try."""
    pool = ActorPool(ray, model, config, factory, largest)
    try:
        pool.ready()
        drawing = [w for w in work if not w.scoring]
        failed = asyncio.run(drive_on_ray(drawing, pool, config, store, advance))
        if not failed:
            scoring = [w for w in work if w.scoring]
            failed = asyncio.run(drive_on_ray(scoring, pool, config, store, advance))
        return failed
    finally:
        pool.close()
