"""summary.json's schema history: how an older file is upgraded to the current schema, one step a
version (`UPGRADES`, append-only: a new schema adds one function and never renames a key in place).
`Summary.from_dict` applies them in turn; docs/study.md says what each schema added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Json = dict[str, Any]


def _from_1(d: Json) -> Json:
    """Schema 1 → 2. Schema 2 only adds the `schema` field. Files written before figures were added
    to schema 1 lack them: they read with the values the report assumed for them then."""
    rows = [
        {"ci_method": "bootstrap", "mean_cached_prompt_tokens": 0.0, "mean_cache_saved_flops": 0.0,
         "seconds_method": "recorded", "derived": [], **r}
        for r in d["rows"]
    ]  # fmt: skip
    laws = {
        m: None if law is None else {
            "ks": [], "residuals": [], "holdout_k": None, "holdout_predicted": None,
            "holdout_observed": None, **law,
        }
        for m, law in d.get("coverage_law", {}).items()
    }  # fmt: skip
    difficulty = {
        m: [{"best_strategy": None, "best_budget": None, "best_accuracy": None, "ci_low": {}, "ci_high": {},
             **b} for b in bins]
        for m, bins in d.get("difficulty", {}).items()
    }  # fmt: skip
    headline = d.get("headline")
    if headline is not None:
        headline = {"ci_method": "", "chosen_among": 1, "flops_condition": None, **headline}
    prov = {"levels": [], "item_space": {}, "pool_size": {}, "engine": {}, "models": {}, "prompts": {},
            "threads": None, "ctx": None, "base_url": None, **d["provenance"]}  # fmt: skip
    return {
        "schema": 2, **d, "provenance": prov, "rows": rows, "frontier": d.get("frontier", []),
        "coverage_law": laws, "difficulty": difficulty, "headline": headline,
        "comparisons": d.get("comparisons", []), "estimators": d.get("estimators", {}),
        "notes": d.get("notes", []),
    }  # fmt: skip


def _from_2(d: Json) -> Json:
    """Schema 2 → 3: rows gain `mean_thinking_tokens` (null: schema 2 did not record it), the
    summary gains `matched` (empty: no reading was made)."""
    rows = [{"mean_thinking_tokens": None, **r} for r in d["rows"]]
    return {**d, "schema": 3, "rows": rows, "matched": d.get("matched", [])}


# UPGRADES[v] turns a schema-v summary into a schema-(v+1) one. Append only.
UPGRADES: dict[int, Callable[[Json], Json]] = {1: _from_1, 2: _from_2}
