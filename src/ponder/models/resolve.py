"""Model references: a catalog name, a path to a `.gguf` file, `openai:NAME`, or `prm:URL` (a process
reward model served over HTTP, which only scores steps: `ponder.backends.prm`).

Resolving a reference never loads the model; it says which backend serves it, where its weights are,
and how many parameters its FLOPs count. A catalog model that is not present is pulled here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ponder.errors import PonderError
from ponder.models import catalog
from ponder.models.gguf import read_gguf

OPENAI_PREFIX = "openai:"
PRM_PREFIX = "prm:"


@dataclass(frozen=True)
class ModelRef:
    ref: str  # what the user wrote
    kind: Literal["embedded", "openai", "prm"]
    name: str  # catalog name, file stem, the server's model name, or a PRM's URL
    path: Path | None  # the GGUF file, for embedded models
    compute_parameters: int | None  # None when unknown (a hosted model not in the catalog)
    chat: bool = True
    context_length: int | None = None  # the trained context, from the GGUF header


def parse(ref: str, *, pull: bool = True, quiet: bool = False) -> ModelRef:
    """Resolve a reference; pull a catalog model that is missing unless `pull` is False."""
    if ref.startswith(OPENAI_PREFIX):
        name = ref[len(OPENAI_PREFIX) :]
        if not name:
            raise PonderError("openai: needs a model name, for example openai:gpt-4o-mini")
        known = catalog.CATALOG.get(name)
        params = known.compute_parameters if known else None
        return ModelRef(ref, "openai", name, None, params)
    if ref.startswith(PRM_PREFIX):
        url = ref[len(PRM_PREFIX) :]
        if not url.startswith(("http://", "https://")):
            raise PonderError(
                "prm: needs the scoring endpoint's URL, for example prm:http://127.0.0.1:8000/score"
            )
        return ModelRef(ref, "prm", url, None, None)
    if ref.endswith(".gguf") or "/" in ref:
        path = Path(ref).expanduser()
        if not path.is_file():
            raise PonderError(f"model file {ref} not found: give an existing .gguf path")
        info = read_gguf(path)
        return ModelRef(ref, "embedded", path.stem, path, info.compute_parameters, True, info.context_length)
    model = catalog.get(ref)
    if pull and not model.present:
        from ponder.models.pull import pull as do_pull

        do_pull(model, quiet=quiet)
    context = read_gguf(model.path).context_length if model.present else None
    return ModelRef(ref, "embedded", model.name, model.path, model.compute_parameters, model.chat, context)
