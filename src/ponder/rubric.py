"""Rubrics: what a judge reads a text against, where no oracle says right or wrong.

A rubric is a list of criteria. Each has a name, a description (what the judge is asked), a weight
and an integer scale: `(1, 5)` for a quality a reader grades, `(0, 1)` for a rule that is kept or
not. A criterion's `kind` says where it comes from: `reader` (coherence, vividness: only a reader can
judge it) or `check` (a rule the task states, which a program could check: the judge is asked it
anyway, which is how its reliability is measured against the program).

A rubric's total is the weighted mean of its criteria's scores, each mapped onto [0, 1] by its scale;
a criterion the judge gave no score is left out of the mean (and the scorer's notes say so).

A rubric comes from the task (a writing task states its rules, `Problem.rubric`), from a TOML file
(`--rubric FILE`), or is the `DEFAULT` one for an open question. The file's form:

    [[criterion]]
    name = "coherence"            # [a-z][a-z0-9_]*, unique
    description = "The text reads as one whole: each sentence follows from the last."
    weight = 2.0                  # > 0; default 1
    scale = [1, 5]                # two integers, low < high; default [1, 5]
    kind = "reader"               # or "check"; default "reader"

Nothing here is gold: a rubric is what the task asks for, as the strategy is told it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.errors import PonderError

_NAME = re.compile(r"[a-z][a-z0-9_]*")
KINDS = ("reader", "check")


@dataclass(frozen=True)
class Criterion:
    name: str
    description: str
    weight: float = 1.0
    scale: tuple[int, int] = (1, 5)
    kind: str = "reader"

    def unit(self, score: float) -> float:
        """The score on [0, 1], clamped to the scale."""
        low, high = self.scale
        return min(max((score - low) / (high - low), 0.0), 1.0)


@dataclass(frozen=True)
class Rubric:
    criteria: tuple[Criterion, ...]

    def total(self, scores: Mapping[str, float | None], kind: str | None = None) -> float | None:
        """The weighted mean of the scored criteria on [0, 1] (of one `kind` only, if named);
        None where none of them was scored."""
        chosen = [c for c in self.criteria if kind is None or c.kind == kind]
        got = [(c.weight, c.unit(s)) for c in chosen if (s := scores.get(c.name)) is not None]
        weight = sum(w for w, _ in got)
        return sum(w * u for w, u in got) / weight if weight > 0 else None

    def of_kind(self, kind: str) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.kind == kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion": [
                {
                    "name": c.name,
                    "description": c.description,
                    "weight": c.weight,
                    "scale": list(c.scale),
                    "kind": c.kind,
                }
                for c in self.criteria
            ]
        }


def criterion(raw: Mapping[str, Any], where: str) -> Criterion:
    """One criterion from its table, every field checked in one line naming what to fix."""
    unknown = set(raw) - {"name", "description", "weight", "scale", "kind"}
    if unknown:
        raise PonderError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise PonderError(f'{where}: `name` must match [a-z][a-z0-9_]*, e.g. name = "coherence"')
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        raise PonderError(f"{where}: criterion '{name}' needs a `description` (what the judge is asked)")
    weight = raw.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
        raise PonderError(f"{where}: criterion '{name}' has weight {weight!r}: use a number above 0")
    scale = raw.get("scale", [1, 5])
    if (
        not isinstance(scale, Sequence)
        or len(scale) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in scale)
        or not scale[0] < scale[1]
        or scale[1] - scale[0] > 10
    ):
        raise PonderError(
            f"{where}: criterion '{name}' has scale {scale!r}: use two integers low < high, at most "
            "10 apart, e.g. scale = [1, 5]"
        )
    kind = raw.get("kind", "reader")
    if kind not in KINDS:
        raise PonderError(f"{where}: criterion '{name}' has kind {kind!r}: use reader or check")
    return Criterion(name, description.strip(), float(weight), (int(scale[0]), int(scale[1])), kind)


def from_dict(raw: Mapping[str, Any], where: str = "rubric") -> Rubric:
    items = raw.get("criterion")
    if not isinstance(items, list) or not items:
        raise PonderError(f"{where}: no criteria: add [[criterion]] tables with name and description")
    criteria = tuple(criterion(c, f"{where}, criterion {i + 1}") for i, c in enumerate(items))
    names = [c.name for c in criteria]
    if len(set(names)) != len(names):
        raise PonderError(f"{where}: criterion names repeat: each name must be unique")
    return Rubric(criteria)


def load(path: Path) -> Rubric:
    """A rubric from a TOML file; a missing or malformed file is one line naming it."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PonderError(f"no rubric file at {path}: check the path given to --rubric") from None
    except (OSError, UnicodeDecodeError) as e:
        raise PonderError(f"cannot read the rubric file {path}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise PonderError(f"the rubric file {path} is not valid TOML: {e}") from None
    return from_dict(raw, str(path))


# For an open question with no rubric of its own: what any answer should do.
DEFAULT = Rubric(
    (
        Criterion("addresses", "It does what the request asks, all of it, and nothing it forbids.", 2.0),
        Criterion("correct", "What it states is accurate, and its reasoning holds.", 2.0),
        Criterion("coherent", "It reads as one whole: each part follows from the last."),
        Criterion("concise", "It says what it needs to, without padding or repetition."),
    )
)
# What only a reader can judge of a written text (the writing family adds its rules as checks).
WRITING = (
    Criterion("coherent", "The text reads as one whole: each sentence follows from the last."),
    Criterion("vivid", "The writing is concrete and vivid, not generic or vague."),
    Criterion("on_subject", "The text stays on the subject and in the form the task names."),
)
