"""The oracle: the one place that compares a prediction with the gold answer (eval time only).

`correct` is the verdict every family gives. `grade` is partial credit in [0, 1], for a family
whose answers can be partly right (a writing task's share of constraints kept): None where the
family gives no partial credit, and then a study reads the verdict as 0 or 1.
"""

from __future__ import annotations

from ponder.tasks.base import Item
from ponder.tasks.registry import FAMILIES
from ponder.tasks.static import check_static


def correct(item: Item, pred: str | None) -> bool:
    fam = FAMILIES.get(item.family)
    if fam is not None:
        return fam.check(item.answer, pred, item.data)
    return check_static(item, pred)


def grade(item: Item, pred: str | None) -> float | None:
    """The share of the item's checks that `pred` passes, where the family grades; else None."""
    fam = FAMILIES.get(item.family)
    grader = getattr(fam, "grade", None)
    return float(grader(item.answer, pred, item.data)) if grader is not None else None
