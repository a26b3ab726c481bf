"""The study's summary, typed: what `summary.json` holds, written and read in this one module.

`analyse` builds a `Summary`; the report, the CLI and tests read its fields, never string keys.
The JSON is the public contract (docs/study.md), so each record's fields are the JSON's keys in the
JSON's order and `to_dict` writes them as they are: a summary written through these types is the
file ponder wrote before them, plus `"schema"`. Two things are not stored as written:
- a `Row` leaves out `coverage` and `selection_gap` where they are None (rows of runs, not pools),
  and `mean_samples` where it is None (every strategy but one that stops early); every record
  leaves out its `scores` where the study has no score axis (`scores.py`), so a study without one
  (GSM8K) writes the file it wrote before scores existed;
- the coverage law is `ponder.lab.stats.CoverageLaw`, the class that fits it, so its prediction
  exists once; its `max_abs_residual` and `holdout_error` are written from its fields and
  recomputed, not read, when the file is loaded.

Schemas: 1 is every summary.json written before the file named its schema; 2 adds `"schema"`; 3
adds each row's `mean_thinking_tokens` (null in a file upgraded from 2: not recorded there) and
`matched` (the strategies read off their curves at matched compute, `matched.py`). The score keys
(each row's, comparison's and reading's `scores`, an estimator's `scores`, the summary's
`score_axes`) came within schema 3: they are optional, and a reader of schema 3 that predates them
reads such a file without them, so the number did not change.
Loading upgrades an older file step by step through `upgrades.UPGRADES` (append-only: a new schema
adds one function) and refuses a newer one with a line that says what to do. Loading keeps numbers as
stored (an integer stays an integer), so load → to_json gives back the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ponder.errors import PonderError
from ponder.lab.stats import CoverageLaw
from ponder.lab.study.records import OMIT, Json, Record, Score, ScoreDifference, law_of, plain, scores_of
from ponder.lab.study.upgrades import UPGRADES

SCHEMA = 3
REWRITE = "rewrite it with this ponder: `ponder study --resume` with the study's settings"


@dataclass(frozen=True)
class Row(Record):
    """One model, strategy and budget: accuracy over problems with its interval, and what it costs."""

    model: str
    strategy: str
    budget: int
    accuracy: float
    ci_low: float
    ci_high: float
    ci_method: str
    mean_completion_tokens: float
    # The part of mean_completion_tokens spent thinking (a think@T ladder plots against it); None
    # in a summary upgraded from schema 2, which did not record it.
    mean_thinking_tokens: float | None
    mean_flops: float
    mean_seconds: float
    mean_cost_usd: float
    mean_cached_prompt_tokens: float
    mean_cache_saved_flops: float
    seconds_method: str
    derived: tuple[str, ...]  # the figures derived from the recorded calls, by their JSON names
    truncated_rate: float
    problems: int
    # Pool strategies only: pass@k at this budget, and coverage − accuracy (0 for coverage itself).
    coverage: float | None = field(default=None, metadata=OMIT)
    selection_gap: float | None = field(default=None, metadata=OMIT)
    # A strategy that may stop early (adaptive): the expected samples drawn at this budget, derived
    # from the pool by replay; None where every budget k draws k.
    mean_samples: float | None = field(default=None, metadata=OMIT)
    # Per score axis (`checks`, ...): the mean score over problems with its interval; None where the
    # study has no axis.
    scores: dict[str, Score] | None = field(default=None, metadata=OMIT)

    @property
    def name(self) -> str:
        """`sc@4`: how a point is named within one model (difficulty bins, comparisons)."""
        return f"{self.strategy}@{self.budget}"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Row:
        return cls(
            model=d["model"], strategy=d["strategy"], budget=d["budget"], accuracy=d["accuracy"],
            ci_low=d["ci_low"], ci_high=d["ci_high"], ci_method=d["ci_method"],
            mean_completion_tokens=d["mean_completion_tokens"],
            mean_thinking_tokens=d["mean_thinking_tokens"], mean_flops=d["mean_flops"],
            mean_seconds=d["mean_seconds"], mean_cost_usd=d["mean_cost_usd"],
            mean_cached_prompt_tokens=d["mean_cached_prompt_tokens"],
            mean_cache_saved_flops=d["mean_cache_saved_flops"], seconds_method=d["seconds_method"],
            derived=tuple(d["derived"]), truncated_rate=d["truncated_rate"], problems=d["problems"],
            coverage=d.get("coverage"), selection_gap=d.get("selection_gap"),
            mean_samples=d.get("mean_samples"), scores=scores_of(d.get("scores"), Score),
        )  # fmt: skip


@dataclass(frozen=True)
class Point(Record):
    """A point named in the frontier, the headline or a comparison."""

    model: str
    strategy: str
    budget: int
    accuracy: float
    mean_flops: float

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Point:
        return cls(d["model"], d["strategy"], d["budget"], d["accuracy"], d["mean_flops"])


@dataclass(frozen=True)
class Headline(Record):
    """The small model's best point (a) against the large model's cheapest (b): a − b with its
    interval, Bonferroni-adjusted over the `chosen_among` points it was chosen from."""

    a: Point
    b: Point
    difference: float
    ci_low: float
    ci_high: float
    ci_method: str
    chosen_among: int
    flops_condition: str | None  # None with one model or unknown FLOPs: no condition is claimed
    flops_ratio: float | None
    sentence: str

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Headline:
        return cls(
            a=Point.from_dict(d["a"]), b=Point.from_dict(d["b"]), difference=d["difference"],
            ci_low=d["ci_low"], ci_high=d["ci_high"], ci_method=d["ci_method"],
            chosen_among=d["chosen_among"], flops_condition=d["flops_condition"],
            flops_ratio=d["flops_ratio"], sentence=d["sentence"],
        )  # fmt: skip


@dataclass(frozen=True)
class Comparison(Record):
    """A pair named before the data (`--compare`): a − b with its paired interval, unadjusted."""

    pair: str
    a: Point
    b: Point
    difference: float
    ci_low: float
    ci_high: float
    ci_method: str
    sentence: str
    # Per score axis both points have: a − b in mean score, paired; None where the study has none.
    scores: dict[str, ScoreDifference] | None = field(default=None, metadata=OMIT)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Comparison:
        return cls(
            pair=d["pair"], a=Point.from_dict(d["a"]), b=Point.from_dict(d["b"]),
            difference=d["difference"], ci_low=d["ci_low"], ci_high=d["ci_high"],
            ci_method=d["ci_method"], sentence=d["sentence"],
            scores=scores_of(d.get("scores"), ScoreDifference),
        )  # fmt: skip


@dataclass(frozen=True)
class Reading(Record):
    """One curve (a strategy without its budget) read at a matched target: at one of its points, or
    interpolated on the log axis between its budgets a and b with weight w on b (`method` says which;
    an interpolated reading is derived, a read-off, not a run). `difference` is the target's
    accuracy minus this reading, paired by problem; None on the target's own reading."""

    strategy: str
    budgets: tuple[int, int]  # the bracketing points (a, b); a == b where read at a point
    weight: float
    method: str
    accuracy: float
    ci_low: float
    ci_high: float
    ci_method: str
    mean_completion_tokens: float
    mean_flops: float
    difference: float | None
    diff_low: float | None
    diff_high: float | None
    diff_method: str | None
    # Per score axis: the reading's mean score (its values mixed at the same weight), and the
    # target's minus it, paired (`score_differences` is None on the target's own reading).
    scores: dict[str, Score] | None = field(default=None, metadata=OMIT)
    score_differences: dict[str, ScoreDifference] | None = field(default=None, metadata=OMIT)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Reading:
        a, b = d["budgets"]
        return cls(
            strategy=d["strategy"], budgets=(a, b), weight=d["weight"], method=d["method"],
            accuracy=d["accuracy"], ci_low=d["ci_low"], ci_high=d["ci_high"], ci_method=d["ci_method"],
            mean_completion_tokens=d["mean_completion_tokens"], mean_flops=d["mean_flops"],
            difference=d["difference"], diff_low=d["diff_low"], diff_high=d["diff_high"],
            diff_method=d["diff_method"], scores=scores_of(d.get("scores"), Score),
            score_differences=scores_of(d.get("score_differences"), ScoreDifference),
        )  # fmt: skip


@dataclass(frozen=True)
class Matched(Record):
    """One run-as-written point of a model (`target`) and every curve of the model read at its mean
    on one axis (`tokens`: mean completion tokens; `flops`: mean FLOPs). `readings` starts with the
    target's own point; `not_read` names the curves whose range does not hold `at` (never
    extrapolated)."""

    model: str
    axis: str
    target: str
    at: float
    readings: tuple[Reading, ...]
    not_read: tuple[str, ...]
    sentence: str

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Matched:
        return cls(
            model=d["model"], axis=d["axis"], target=d["target"], at=d["at"],
            readings=tuple(Reading.from_dict(r) for r in d["readings"]),
            not_read=tuple(d["not_read"]), sentence=d["sentence"],
        )  # fmt: skip


@dataclass(frozen=True)
class Bin(Record):
    """One pass@1 quintile of a model's problems (bin 0 the hardest): each point's accuracy and
    Wilson interval within it, keyed by `strategy@budget`; a best point only where it is clear."""

    bin: int
    problems: int
    pass1_low: float
    pass1_high: float
    best_strategy: str | None
    best_budget: int | None
    best_accuracy: float | None
    accuracy: dict[str, float]
    ci_low: dict[str, float]
    ci_high: dict[str, float]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Bin:
        return cls(
            bin=d["bin"], problems=d["problems"], pass1_low=d["pass1_low"], pass1_high=d["pass1_high"],
            best_strategy=d["best_strategy"], best_budget=d["best_budget"],
            best_accuracy=d["best_accuracy"], accuracy=dict(d["accuracy"]), ci_low=dict(d["ci_low"]),
            ci_high=dict(d["ci_high"]),
        )  # fmt: skip


@dataclass(frozen=True)
class Estimator(Record):
    """How a pool strategy's estimate was computed at each budget (keys are str(k)): exact or Monte
    Carlo, with the Monte Carlo standard error (0 where exact); and, for a strategy that reads a
    scoring pass, the pass and how it scored (`{"pass": "verify", "methods": [...]}`)."""

    methods: dict[str, str] = field(default_factory=dict)
    mc_error: dict[str, float] = field(default_factory=dict)
    scoring: dict[str, Any] | None = None
    # Per score axis, how its pooled estimate was derived (`scores.score_estimate`): `method`, the
    # Monte Carlo error bound per budget, and any problems valued by group means.
    scores: dict[str, Any] | None = field(default=None, metadata=OMIT)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Estimator:
        scoring, scores = d.get("scoring"), d.get("scores")
        return cls(
            methods=dict(d.get("methods", {})),
            mc_error=dict(d.get("mc_error", {})),
            scoring=dict(scoring) if scoring is not None else None,
            scores=dict(scores) if scores is not None else None,
        )


@dataclass(frozen=True)
class Sampling(Record):
    max_tokens: int
    temperature: float
    seed: int

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Sampling:
        return cls(d["max_tokens"], d["temperature"], d["seed"])


@dataclass(frozen=True)
class Provenance(Record):
    """What the study ran on and with. `engine`, `models` and `prompts` are records of the machine
    and the templates, kept as the JSON's own mappings: ponder reads none of their keys."""

    ponder: str
    engine: dict[str, Any]
    models: dict[str, Any]
    suite: str
    split: str
    problems: int
    levels: tuple[int, ...]
    item_space: dict[str, int]  # FAMILY@LEVEL → about how many distinct items it holds
    problem_ids: tuple[str, ...]
    strategies: dict[str, list[str]]  # model → its strategy specs
    budgets: dict[str, list[int]]  # strategy spec → its ladder
    pool_size: dict[str, int]
    sampling: Sampling
    prompts: dict[str, Any]
    threads: int | None
    ctx: int | None
    base_url: str | None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Provenance:
        return cls(
            ponder=d["ponder"], engine=dict(d["engine"]), models=dict(d["models"]), suite=d["suite"],
            split=d["split"], problems=d["problems"], levels=tuple(d["levels"]),
            item_space=dict(d["item_space"]), problem_ids=tuple(d["problem_ids"]),
            strategies=dict(d["strategies"]), budgets=dict(d["budgets"]), pool_size=dict(d["pool_size"]),
            sampling=Sampling.from_dict(d["sampling"]), prompts=dict(d["prompts"]), threads=d["threads"],
            ctx=d["ctx"], base_url=d["base_url"],
        )  # fmt: skip


@dataclass(frozen=True)
class Summary(Record):
    """Everything `summary.json` holds (docs/study.md says what each part means)."""

    provenance: Provenance
    rows: tuple[Row, ...]
    frontier: tuple[Point, ...]  # compute-optimal: Pareto over accuracy and mean charged FLOPs
    coverage_law: dict[str, CoverageLaw | None]  # per model with a pool; None: too few points to fit
    difficulty: dict[str, tuple[Bin, ...]]
    headline: Headline | None
    comparisons: tuple[Comparison, ...]
    matched: tuple[Matched, ...]  # each run-as-written point against every curve at its compute
    estimators: dict[str, Estimator]  # "MODEL SPEC" → how its maj@k was estimated
    notes: tuple[str, ...]  # what the figures could not include
    # Score axis → what its values mean (`scores.py`); None where the study has no axis.
    score_axes: dict[str, str] | None = field(default=None, metadata=OMIT)
    # Where the study ran judges: their agreement with the oracle per kind of rule, and a pairwise
    # judge's position bias (`ponder.lab.judging`); None where it ran none.
    judging: Json | None = field(default=None, metadata=OMIT)

    def to_dict(self) -> Json:
        return {"schema": SCHEMA, **plain(self)}

    def to_json(self) -> str:
        """The JSON text, as written to summary.json (without its final newline)."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def save(self, path: Path) -> None:
        """Write `path` atomically: a reader never sees half a summary."""
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.to_json() + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | str) -> Summary:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise PonderError(f"{path} cannot be read as a study summary ({e}): {REWRITE}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "summary.json") -> Summary:
        """Read the current schema, upgrade an older one, refuse a newer or unknown one."""
        if not isinstance(data, dict):
            raise PonderError(f"{source} is not a study summary (not a JSON object): {REWRITE}")
        schema = data.get("schema", 1)
        if type(schema) is not int or schema < 1:
            raise PonderError(f"{source} has an unknown summary schema {schema!r}: {REWRITE}")
        if schema > SCHEMA:
            raise PonderError(
                f"{source} is summary schema {schema}, this ponder reads up to {SCHEMA}: "
                "upgrade ponder, or rewrite it with `ponder study --resume` and the study's settings"
            )
        try:
            for version in range(schema, SCHEMA):
                data = UPGRADES[version](data)
            return cls._read(data)
        except KeyError as e:
            raise PonderError(f"{source} is not a study summary (no {e}): {REWRITE}") from None
        except (TypeError, ValueError, AttributeError) as e:
            raise PonderError(f"{source} is not a study summary ({e}): {REWRITE}") from None

    @classmethod
    def _read(cls, d: Mapping[str, Any]) -> Summary:
        headline = d["headline"]
        return cls(
            provenance=Provenance.from_dict(d["provenance"]),
            rows=tuple(Row.from_dict(r) for r in d["rows"]),
            frontier=tuple(Point.from_dict(p) for p in d["frontier"]),
            coverage_law={m: law_of(law) for m, law in d["coverage_law"].items()},
            difficulty={m: tuple(Bin.from_dict(b) for b in bins) for m, bins in d["difficulty"].items()},
            headline=Headline.from_dict(headline) if headline is not None else None,
            comparisons=tuple(Comparison.from_dict(c) for c in d["comparisons"]),
            matched=tuple(Matched.from_dict(m) for m in d["matched"]),
            estimators={name: Estimator.from_dict(e) for name, e in d["estimators"].items()},
            notes=tuple(d["notes"]),
            score_axes=dict(d["score_axes"]) if d.get("score_axes") is not None else None,
            judging=dict(d["judging"]) if d.get("judging") is not None else None,
        )


__all__ = [
    "SCHEMA",
    "Bin",
    "Comparison",
    "CoverageLaw",
    "Estimator",
    "Headline",
    "Matched",
    "Point",
    "Provenance",
    "Reading",
    "Row",
    "Sampling",
    "Score",
    "ScoreDifference",
    "Summary",
]
