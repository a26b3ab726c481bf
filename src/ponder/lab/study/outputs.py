"""The study's outputs in DIR: `summary.json` (a `Summary`, see summary.py) and `samples.parquet`.

Both are functions of the study store alone, so a resumed study rewrites them identically and
`ponder report DIR` re-renders from them. The provenance never holds the private split's secret.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

from ponder import __version__
from ponder.errors import missing_extra
from ponder.lab.study.analysis import analyse
from ponder.lab.study.config import StudyConfig
from ponder.lab.study.store import StudyStore
from ponder.lab.study.summary import Provenance, Sampling
from ponder.models import catalog
from ponder.strategies import prompts
from ponder.tasks.base import Item

SUMMARY = "summary.json"
SAMPLES = "samples.parquet"


def model_sha256(model: str) -> str | None:
    if model.startswith("openai:"):
        return None
    if model in catalog.CATALOG:
        return catalog.CATALOG[model].sha256
    path = Path(model)
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def engine_versions() -> dict[str, str | None]:
    return {"ponder": __version__, "xllamacpp": _version("xllamacpp"), "openai": _version("openai")}


def provenance(config: StudyConfig, store: StudyStore) -> Provenance:
    items = store.problems()
    env = store.meta("environment") or {}
    return Provenance(
        ponder=env.get("engine", {}).get("ponder", __version__),
        engine=env.get("engine", {}),
        models=env.get("models", {}),
        suite=config.suite,
        split=config.split,
        problems=len(items),
        levels=tuple(sorted({i.level for i in items if i.level is not None})),
        item_space=item_space(items),
        problem_ids=tuple(i.id for i in items),
        strategies={m: [str(s) for s in config.specs(m)] for m in config.models},
        budgets={str(s): config.ladder(s) for m in config.models for s in config.specs(m)},
        pool_size={m: config.pool_size(m) for m in config.models},
        sampling=Sampling(max_tokens=config.max_tokens, temperature=config.temperature, seed=config.seed),
        prompts={
            "cot": prompts.COT.system,
            "direct": prompts.DIRECT.system,
            "reason_first": prompts.REASON_FIRST,
            "instructions": sorted({i.instruction for i in items}),
        },
        threads=config.threads,
        ctx=config.ctx,
        base_url=config.base_url,
    )


def item_space(items: list[Item]) -> dict[str, int]:
    """FAMILY@LEVEL → about how many distinct items that level holds (the family's own lower
    estimate): small spaces overlap across seeds, and a private split's items can be recovered from
    a small public one (docs/tasks.md)."""
    from ponder.tasks.registry import FAMILIES

    out: dict[str, int] = {}
    for item in items:
        fam = FAMILIES.get(item.family)
        if fam is not None and item.level is not None:
            out.setdefault(f"{item.family}@{item.level}", int(fam.space(item.level)))
    return out


def write_outputs(config: StudyConfig, store: StudyStore) -> Path:
    out = Path(config.out)
    path = out / SUMMARY
    analyse(config, store, provenance(config, store)).save(path)
    write_samples(store, out / SAMPLES)
    return path


def write_samples(store: StudyStore, path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise missing_extra("pyarrow", "study") from None
    rows = store.all_samples()
    table = pa.table(
        {
            "model": pa.array([r["model"] for r in rows], pa.string()),
            "problem_id": pa.array([r["problem_id"] for r in rows], pa.string()),
            "request": pa.array([r["kind"] for r in rows], pa.string()),
            "sample_index": pa.array([r["idx"] for r in rows], pa.int32()),
            "answer": pa.array([r["answer"] for r in rows], pa.string()),
            "correct": pa.array([bool(r["correct"]) for r in rows], pa.bool_()),
            "score": pa.array([r["score"] for r in rows], pa.float64()),
            "completion_tokens": pa.array([r["completion_tokens"] for r in rows], pa.int32()),
            "finish_reason": pa.array([r["finish_reason"] for r in rows], pa.string()),
        }
    )
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
