"""The eval lab's problems: procedural families that cannot saturate or leak, and static sets.

ponder.tasks.load("arithmetic@3+gsm8k", problems=20, seed=0)
"""

from __future__ import annotations

from ponder.tasks.base import Content, Family, Item
from ponder.tasks.oracle import correct
from ponder.tasks.registry import FAMILIES
from ponder.tasks.suites import Part, load_parts, parse_suite


def load(
    suite: str, problems: int = 10, *, split: str = "public", seed: int = 0, model: str | None = None
) -> list[Item]:
    """The first `problems` items of a suite. `model` resolves FAMILY@frontier from its calibration,
    whose items such a part skips."""
    parts = parse_suite(suite)
    frontier: dict[str, int | None] = {}
    exclude: dict[str, frozenset[str]] = {}
    if any(p.level == "frontier" for p in parts):
        from ponder.errors import PonderError
        from ponder.store import open_store

        if model is None:
            raise PonderError("a FAMILY@frontier suite needs a model: pass --model")
        store = open_store()
        try:
            frontier = store.frontiers(model)
            exclude = store.calibration_items(model)
        finally:
            store.close()
    return load_parts(parts, problems, split=split, seed=seed, frontier=frontier, exclude=exclude)


__all__ = ["FAMILIES", "Content", "Family", "Item", "Part", "correct", "load", "parse_suite"]
