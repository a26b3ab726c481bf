"""Items of a procedural family, in order, for one (family, level, split, seed).

1. The item at index i is drawn from a generator seeded by the hash of (secret, family, level,
   split, seed, i, attempt).
2. An item whose content hash belongs to the other split is skipped (next attempt): the splits are
   disjoint by construction.
3. An item equal to an earlier one of the same sequence is skipped too, so a sequence never repeats
   itself; when attempts keep failing, the level's item space is exhausted and that is an error.
Sequences are cached per process, so asking for index i after index j < i generates only the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ponder.errors import PonderError
from ponder.tasks import seeds
from ponder.tasks.base import Item
from ponder.tasks.registry import family as get_family

MAX_ATTEMPTS = 400


@dataclass
class _Sequence:
    items: list[Item] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)


_CACHE: dict[tuple[str, str, int, str, int], _Sequence] = {}


def _secret(split: str, secret: str | None) -> str:
    if split == "public":
        return seeds.PUBLIC_SECRET
    if split == "private":
        return secret or seeds.installation_secret()
    raise PonderError(f"unknown split '{split}': use public or private")


def items(
    name: str, level: int, count: int, *, split: str = "public", seed: int = 0, secret: str | None = None
) -> list[Item]:
    """Items 0…count−1 of the family's sequence at `level`."""
    fam = get_family(name)
    if level < 1:
        raise PonderError(f"{name}: levels start at 1 (got {level})")
    key_secret = _secret(split, secret)
    seq = _CACHE.setdefault((key_secret, name, level, split, seed), _Sequence())
    while len(seq.items) < count:
        index = len(seq.items)
        for attempt in range(MAX_ATTEMPTS):
            rng = seeds.item_rng(key_secret, name, level, split, seed, index, attempt)
            content = fam.generate(rng, level)
            digest = seeds.content_hash(name, content.question)
            if seeds.split_of(digest) != split or digest in seq.seen:
                continue
            seq.seen.add(digest)
            seq.items.append(
                Item(
                    id=f"{name}-L{level}-{split}-s{seed}-{index}",
                    family=name,
                    level=level,
                    split=split,
                    question=content.question,
                    answer=content.answer,
                    instruction=fam.instruction,
                    answer_format=fam.answer_format,
                    structure=content.structure,
                    data=content.data,
                )
            )
            break
        else:
            raise PonderError(
                f"{name} at level {level} has no new {split} item after {index} items: its item "
                "space is too small at this level; use a higher level or fewer problems"
            )
    return seq.items[:count]


def space_warning(name: str, level: int, count: int) -> str | None:
    """A one-line warning when the family's item space at `level` is under ten times the `count`
    problems asked for (then different seeds share items, and a long sequence may run out); else None."""
    space = get_family(name).space(level)
    if space >= 10 * count:
        return None
    return (
        f"{name}@{level} has about {space} distinct items, under 10x the {count} asked for: items "
        "from different seeds will overlap; use a higher level or fewer problems"
    )
