"""Items of a procedural family, in order, for one (family, level, split, seed).

1. The item at index i is drawn from a generator seeded by the hash of (secret, family, level,
   split, seed, i, attempt).
2. An item whose content hash belongs to the other split is skipped (next attempt): the splits are
   disjoint by construction. So is one whose hash is excluded (`exclude`: a calibration's items).
3. An item equal to an earlier one of the same sequence is skipped too, so a sequence never repeats
   itself; when attempts keep failing, the level's item space is exhausted and that is an error.
Sequences are cached per process, so asking for index i after index j < i generates only the rest.
"""

from __future__ import annotations

import hashlib
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


# (secret, family, level, split, seed), and the exclusions when there are any: a sequence that skips
# some items is another sequence, and never shares a cache entry with the plain one.
_Key = tuple[str, str, int, str, int] | tuple[str, str, int, str, int, frozenset[str]]
_CACHE: dict[_Key, _Sequence] = {}


def _secret(split: str, secret: str | None) -> str:
    if split == "public":
        return seeds.PUBLIC_SECRET
    if split == "private":
        return secret or seeds.installation_secret()
    raise PonderError(f"unknown split '{split}': use public or private")


def items(
    name: str,
    level: int,
    count: int,
    *,
    split: str = "public",
    seed: int = 0,
    secret: str | None = None,
    exclude: frozenset[str] = frozenset(),
) -> list[Item]:
    """Items 0…count−1 of the family's sequence at `level`.

    `exclude` holds content hashes to skip, as the other split's items are skipped (a calibration's
    items, kept out of the study at its frontier). A sequence that skips some items gets ids of its
    own (`-x` and a digest of the exclusions), so an id names one item for a given exclusion set.
    """
    fam = get_family(name)
    if level < 1:
        raise PonderError(f"{name}: levels start at 1 (got {level})")
    key_secret = _secret(split, secret)
    exclude = frozenset(h for h in exclude if seeds.split_of(h) == split)  # the other split's: moot
    key: _Key = (key_secret, name, level, split, seed)
    tag = ""
    if exclude:
        key = (*key, exclude)
        tag = "-x" + hashlib.sha256("\n".join(sorted(exclude)).encode()).hexdigest()[:8]
    seq = _CACHE.setdefault(key, _Sequence())
    while len(seq.items) < count:
        index = len(seq.items)
        for attempt in range(MAX_ATTEMPTS):
            rng = seeds.item_rng(key_secret, name, level, split, seed, index, attempt)
            content = fam.generate(rng, level)
            digest = seeds.content_hash(name, content.question)
            if seeds.split_of(digest) != split or digest in seq.seen or digest in exclude:
                continue
            seq.seen.add(digest)
            seq.items.append(
                Item(
                    id=f"{name}-L{level}-{split}-s{seed}{tag}-{index}",
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
                f"{name} at level {level} has no new {split} item after {index} items"
                f"{f' and {len(exclude)} excluded' if exclude else ''}: its item "
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
