"""What several families share: names, the integer oracle, and the error for a level out of reach.

Names: the fixed list first, then as many made-up names as a level needs, built from syllables in a
fixed order ("Baba", "Babe", …, then three syllables). Every name is one capitalised word, so the
`names` answer format reads a list of them back, and none is a word that format treats specially.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

from ponder.answers.extract import normalize
from ponder.errors import PonderError

NAMES = [
    "Ava",
    "Ben",
    "Cleo",
    "Dan",
    "Eli",
    "Faye",
    "Gus",
    "Hana",
    "Ivan",
    "Jade",
    "Kai",
    "Lena",
    "Milo",
    "Nina",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Vic",
    "Wes",
    "Xena",
    "Yara",
    "Zed",
    "Abe",
    "Bea",
    "Cal",
    "Dina",
    "Ezra",
    "Fern",
    "Gia",
    "Hugo",
    "Iris",
    "Joel",
    "Kira",
    "Liam",
    "Maya",
    "Ned",
    "Opal",
    "Penn",
    "Rhea",
    "Seth",
    "Tess",
    "Ugo",
    "Vera",
    "Wade",
    "Yuki",
    "Zoe",
    "Arlo",
    "Bree",
    "Cyd",
    "Dora",
    "Enzo",
    "Flo",
    "Gwen",
    "Hal",
    "Ines",
    "Jon",
]


_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
_RESERVED = {"None", "Nobody", "Noone"}  # words the `names` format reads as "no knights"


def _made_up_names() -> Iterator[str]:
    fixed = set(NAMES)
    for syllables in itertools.count(2):
        for parts in itertools.product(_SYLLABLES, repeat=syllables):
            name = "".join(parts).capitalize()
            if name not in fixed and name not in _RESERVED:
                yield name


def people(rng: random.Random, n: int) -> list[str]:
    """n distinct names in random order: from the fixed list while it lasts (the same draw as
    `rng.sample(NAMES, n)`), else from it and made-up names together."""
    if n <= len(NAMES):
        return rng.sample(NAMES, n)
    pool = NAMES + list(itertools.islice(_made_up_names(), 2 * n - len(NAMES)))
    return rng.sample(pool, n)


def out_of_reach(family: str, level: int, what: str) -> PonderError:
    """The error for a level whose items a family cannot make: one line, saying what to do."""
    return PonderError(f"{family} at level {level}: {what}; use a lower level")


def check_integer(gold: str, pred: str | None) -> bool:
    """Exact integer equality after normalization ("$1,200" is 1200; "1200.5" is not 1200)."""
    if pred is None:
        return False
    return normalize(pred) == normalize(gold)
