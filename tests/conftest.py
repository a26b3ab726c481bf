"""Test isolation: every test gets its own PONDER_HOME; all share the one model cache.

The small packaged model (smollm2-135m) is pulled by `make test` before the tests run; tests never
download. The engine is loaded once per session and shared.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ponder import paths
from ponder.models import catalog

MODELS = paths.models_dir().resolve()  # resolved before any test changes PONDER_HOME
os.environ["PONDER_MODELS"] = str(MODELS)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ponder-home"
    monkeypatch.setenv("PONDER_HOME", str(home))
    monkeypatch.setenv("PONDER_MODELS", str(MODELS))
    for var in ("PONDER_BASE_URL", "PONDER_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def smol_path() -> Path:
    model = catalog.get(catalog.TEST_MODEL)
    if not model.present:
        pytest.fail(f"{model.name} is not in {MODELS}: run `make test`, which pulls it first")
    return model.path


@pytest.fixture(scope="session")
def smol_engine(smol_path: Path) -> Iterator[object]:
    from ponder.backends.embedded import EmbeddedBackend

    engine = EmbeddedBackend(smol_path, model=catalog.TEST_MODEL, n_parallel=4, n_ctx=1024)
    yield engine
    engine.close()
