"""The base of the study summary's typed records, and the small records a score axis adds.

A `Record` is a frozen dataclass that serializes field by field, in declaration order, so its
fields are the JSON's keys (`summary.py` says what the file holds); a field whose metadata is `OMIT`
is left out of the JSON where it is None. The coverage law is written from
`ponder.lab.stats.CoverageLaw`'s fields (`law_dict`) and read back into one (`law_of`), its
derived figures recomputed, not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from ponder.lab.stats import CoverageLaw

Json = dict[str, Any]
OMIT = {"omit_none": True}  # a field's metadata: left out of the JSON where it is None


class Record:
    """A dataclass that serializes field by field, in declaration order."""

    def to_dict(self) -> Json:
        out: Json = plain(self)
        return out


def plain(value: Any) -> Any:
    if isinstance(value, CoverageLaw):
        return law_dict(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name))
            for f in fields(value)
            if not (f.metadata.get("omit_none") and getattr(value, f.name) is None)
        }
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Score(Record):
    """A mean over problems on one score axis, with its 95% interval (`score_intervals.py`)."""

    mean: float
    ci_low: float
    ci_high: float
    ci_method: str

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Score:
        return cls(d["mean"], d["ci_low"], d["ci_high"], d["ci_method"])


@dataclass(frozen=True)
class ScoreDifference(Record):
    """a − b in mean score on one axis, paired by problem, with its 95% interval."""

    difference: float
    ci_low: float
    ci_high: float
    ci_method: str

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ScoreDifference:
        return cls(d["difference"], d["ci_low"], d["ci_high"], d["ci_method"])


def scores_of(d: Mapping[str, Any] | None, kind: type[Score] | type[ScoreDifference]) -> Any:
    return None if d is None else {name: kind.from_dict(x) for name, x in d.items()}


def law_dict(law: CoverageLaw) -> Json:
    return {
        "a": law.a,
        "b": law.b,
        "r2": law.r2,
        "points": law.points,
        "ks": list(law.ks),
        "residuals": list(law.residuals),
        "max_abs_residual": law.max_abs_residual,
        "holdout_k": law.holdout_k,
        "holdout_predicted": law.holdout_predicted,
        "holdout_observed": law.holdout_observed,
        "holdout_error": law.holdout_error,
    }


def law_of(d: Mapping[str, Any] | None) -> CoverageLaw | None:
    if d is None:
        return None
    return CoverageLaw(
        a=d["a"], b=d["b"], r2=d["r2"], points=d["points"], ks=tuple(d["ks"]),
        residuals=tuple(d["residuals"]), holdout_k=d["holdout_k"],
        holdout_predicted=d["holdout_predicted"], holdout_observed=d["holdout_observed"],
    )  # fmt: skip
