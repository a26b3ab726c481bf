"""What a score request reads: a stored pool's samples, or a run's final answer, as candidates."""

from __future__ import annotations

from dataclasses import replace

from ponder.errors import PonderError
from ponder.lab.study.execute import Work
from ponder.lab.study.store import StudyStore
from ponder.strategies.pooling import pool_kind
from ponder.types import Candidate


def with_pool(store: StudyStore, work: Work) -> Work:
    """A score request with the candidates it scores: its stored pool's samples, or, for a judge
    reading a run (`work.pool` is `run:SPEC`), that run's final answer."""
    if work.pool.startswith("run:"):
        return replace(work, candidates=run_answer(store, work))
    request = store.request_id(work.model, work.item.id, pool_kind(work.pool))
    if request is None:
        raise PonderError(f"{work.kind} of {work.item.id}: its pool is not stored")
    candidates = tuple(
        Candidate(text=s.text, answer=s.answer, score=s.score, completion_tokens=s.completion_tokens,
                  thoughts=s.thoughts, finish_reason=s.finish_reason)
        for s in store.samples(request)
    )  # fmt: skip
    return replace(work, candidates=candidates)


def run_answer(store: StudyStore, work: Work) -> tuple[Candidate, ...]:
    """A run's final answer as the one candidate a judge reads: the last of its candidates that
    holds the run's answer (none: an empty text, which the judge does not read)."""
    request = store.request_id(work.model, work.item.id, work.pool)
    if request is None:
        raise PonderError(f"{work.kind} of {work.item.id}: its run is not stored")
    answer = store.answer(request)
    final = [s for s in store.samples(request) if answer is not None and s.answer == answer]
    text = final[-1].text if final else ""
    return (Candidate(text=text, answer=answer, score=None, completion_tokens=0),)
