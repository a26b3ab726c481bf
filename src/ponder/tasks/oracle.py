"""The oracle: the one place that compares a prediction with the gold answer (eval time only)."""

from __future__ import annotations

from ponder.tasks.base import Item
from ponder.tasks.registry import FAMILIES
from ponder.tasks.static import check_static


def correct(item: Item, pred: str | None) -> bool:
    fam = FAMILIES.get(item.family)
    if fam is not None:
        return fam.check(item.answer, pred, item.data)
    return check_static(item, pred)
