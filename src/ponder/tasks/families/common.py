"""What several families share: names, and the integer oracle."""

from __future__ import annotations

from ponder.answers.extract import normalize

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


def check_integer(gold: str, pred: str | None) -> bool:
    """Exact integer equality after normalization ("$1,200" is 1200; "1200.5" is not 1200)."""
    if pred is None:
        return False
    return normalize(pred) == normalize(gold)
