"""The driver's loop on the local executor, and the save every executor shares.

`drive` runs one model's requests on one event loop, `concurrency` in flight; each record is judged
by the oracle and saved on one writer thread as it completes (`save`: the oracle's verdicts, each
computed once per (problem, answer), go into the request's own transaction). The Ray executor
(`ray_executor.py`) sends the same requests to actors and saves their records with the same `save`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from ponder.lab.study.candidates import with_pool
from ponder.lab.study.config import StudyConfig
from ponder.lab.study.execute import Record, Work, execute
from ponder.lab.study.store import StudyStore
from ponder.session import Session
from ponder.tasks import correct
from ponder.tasks.base import Item

__all__ = ["all_or_none", "drive", "judged", "save"]


def judge(store: StudyStore, item: Item, answer: str | None, new: dict[str, bool]) -> bool:
    """The oracle's verdict, computed once per (problem, answer) and then read from the store; one
    not yet stored goes into `new`, saved with the request that found it (one transaction)."""
    if answer is None:
        return correct(item, answer)
    known = new.get(answer)
    if known is None:
        known = store.verdict(item.id, answer)
    if known is not None:
        return known
    new[answer] = verdict = correct(item, answer)
    return verdict


def judged(store: StudyStore, item: Item, record: Record) -> tuple[Record, dict[str, bool]]:
    """The record with the oracle's verdicts (a run's answer first, then each sample), and the
    verdicts the store does not hold yet; a timing request is measured, not judged."""
    new: dict[str, bool] = {}
    if not record.judged:
        return record, new
    verdict = judge(store, item, record.answer, new) if record.run else None
    verdicts = tuple(judge(store, item, d.answer, new) for d in record.samples)
    return replace(record, verdicts=verdicts, correct=verdict), new


def save(store: StudyStore, item: Item, record: Record) -> None:
    record, new = judged(store, item, record)
    store.save(record, new)


async def drive(
    work: list[Work],
    session: Session,
    config: StudyConfig,
    store: StudyStore,
    advance: Callable[[], None] = lambda: None,
) -> None:
    """Run one model's work on one event loop, `config.concurrency` requests in flight, each judged
    and saved as it completes. The oracle and the store run on one writer thread, so a slow oracle
    (the sandbox) holds no request in flight, and saves never overlap. On failure or interruption
    the requests in flight are cancelled; every finished one is saved."""
    if not work:
        return
    loop = asyncio.get_running_loop()
    queue = iter(work)

    with ThreadPoolExecutor(1, thread_name_prefix="ponder-study-save") as writer:

        async def worker() -> None:
            for w in queue:  # one iterator shared by the workers: each takes the next request
                if w.scoring:
                    w = await loop.run_in_executor(writer, with_pool, store, w)
                record = await execute(w, session, config)
                await loop.run_in_executor(writer, save, store, w.item, record)
                advance()

        await all_or_none(worker() for _ in range(min(config.concurrency, len(work))))


async def all_or_none(workers: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run the workers together until all finish; at the first error, or on interruption, cancel
    the others (waiting for them to stop) and raise it."""
    tasks = [asyncio.create_task(w) for w in workers]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error
