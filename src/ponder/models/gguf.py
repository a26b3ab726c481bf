"""Read a GGUF file's header: its metadata and the parameter count summed over its tensors.

Only the header is read (a few MB at most), so this is cheap even for large models. The parameter
count feeds the FLOPs estimate (2 × parameters × tokens processed) for any `.gguf` a user points at.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ponder.errors import PonderError

_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class GGUFInfo:
    parameters: int
    compute_parameters: int
    architecture: str
    context_length: int | None
    metadata: dict[str, Any]


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise EOFError
    return struct.unpack(fmt, data)[0]


def _string(f: BinaryIO) -> str:
    n = _read(f, "<Q")
    return bytes(f.read(n)).decode("utf-8", errors="replace")


def _value(f: BinaryIO, kind: int) -> Any:
    if kind in _SCALARS:
        return _read(f, _SCALARS[kind])
    if kind == _STRING:
        return _string(f)
    if kind == _ARRAY:
        item_kind = _read(f, "<I")
        count = _read(f, "<Q")
        items = [_value(f, item_kind) for _ in range(count)]
        # Token tables are huge and useless here: keep only their length.
        return items if count <= 64 else count
    raise ValueError(f"unknown GGUF value type {kind}")


def read_gguf(path: Path) -> GGUFInfo:
    try:
        with path.open("rb") as f:
            if f.read(4) != b"GGUF":
                raise PonderError(f"{path} is not a GGUF file: give a .gguf model file")
            _read(f, "<I")  # version
            n_tensors = _read(f, "<Q")
            n_kv = _read(f, "<Q")
            metadata: dict[str, Any] = {}
            for _ in range(n_kv):
                key = _string(f)
                metadata[key] = _value(f, _read(f, "<I"))
            sizes: dict[str, int] = {}
            for _ in range(n_tensors):
                name = _string(f)
                dims = [_read(f, "<Q") for _ in range(_read(f, "<I"))]
                _read(f, "<I")  # tensor type
                _read(f, "<Q")  # offset
                sizes[name] = math.prod(dims)
    except (EOFError, ValueError, struct.error) as e:
        raise PonderError(f"{path} is not a readable GGUF file ({e}): re-pull or replace it") from e
    except OSError as e:
        raise PonderError(f"cannot read {path}: {e.strerror}") from e
    arch = str(metadata.get("general.architecture", "unknown"))
    ctx = metadata.get(f"{arch}.context_length")
    parameters = sum(sizes.values())
    # The input embedding is a lookup, not arithmetic, unless it is tied to the output layer.
    untied = "output.weight" in sizes
    compute = parameters - sizes.get("token_embd.weight", 0) if untied else parameters
    return GGUFInfo(parameters, compute, arch, int(ctx) if isinstance(ctx, int) else None, metadata)
