"""The task families by name."""

from __future__ import annotations

from ponder.errors import PonderError
from ponder.tasks.base import Family
from ponder.tasks.families.arithmetic import Arithmetic
from ponder.tasks.families.code import Code
from ponder.tasks.families.countdown import Countdown
from ponder.tasks.families.counting import Counting
from ponder.tasks.families.knights import Knights
from ponder.tasks.families.linear import Linear
from ponder.tasks.families.lists import Lists
from ponder.tasks.families.modular import Modular
from ponder.tasks.families.writing import Writing

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Arithmetic(),
        Linear(),
        Modular(),
        Knights(),
        Lists(),
        Counting(),
        Countdown(),
        Code(),
        Writing(),
    )
}


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise PonderError(
            f"unknown task family '{name}': use one of {', '.join(FAMILIES)}, gsm8k, gsm8k:PATH or jsonl:PATH"
        ) from None
