"""`ponder study`: accuracy against compute, with honest statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ponder.lab.study.config import StudyConfig, budgets
from ponder.lab.study.plan import Plan, estimate
from ponder.lab.study.runner import BackendFactory, run_study


def study(
    models: str | list[str],
    suite: str,
    *,
    strategies: str | list[str] = "cot,sc,bon,coverage",
    resume: bool = False,
    extend: bool = False,
    backend_factory: BackendFactory | None = None,
    quiet: bool = True,
    **settings: Any,
) -> dict[str, Any]:
    """Run a study (see StudyConfig for the settings) and return its summary; `resume` continues the
    study in `out`, `extend` adds this config's new strategies or models to it."""
    import json

    config = StudyConfig(
        models=models.split(",") if isinstance(models, str) else list(models),
        suite=suite,
        strategies=strategies.split(",") if isinstance(strategies, str) else list(strategies),
        **settings,
    )
    path = run_study(config, resume=resume, extend=extend, backend_factory=backend_factory, quiet=quiet)
    summary: dict[str, Any] = json.loads(Path(path).read_text())
    return summary


__all__ = ["Plan", "StudyConfig", "budgets", "estimate", "run_study", "study"]
