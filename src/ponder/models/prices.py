"""The price table: dollars per token for hosted models, per CPU-core-hour for local ones.

Local models are priced by the wall time they occupy the cores they run on, so local curves have a
real dollar axis. The default core-hour price is an on-demand cloud vCPU-hour (about $0.045 in 2026);
override any entry in `PONDER_HOME/prices.toml`:

    cpu_core_hour = 0.045
    [models."gpt-4o-mini"]
    input_per_mtok = 0.15
    cached_input_per_mtok = 0.075
    output_per_mtok = 0.60
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

from ponder import paths
from ponder.errors import PonderError
from ponder.types import Generation

DEFAULT_CPU_CORE_HOUR = 0.045
HOSTED_PREFIX = "openai:"


def hosted_name(model: str) -> str | None:
    """The one rule for local against hosted pricing: a model served over HTTP (`openai:NAME`) is
    priced per token under the server's own name; any other (an embedded model, a tool) by the
    time it holds its cores."""
    return model.removeprefix(HOSTED_PREFIX) if model.startswith(HOSTED_PREFIX) else None


@dataclass(frozen=True)
class TokenPrice:
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None


@dataclass(frozen=True)
class PriceTable:
    cpu_core_hour: float = DEFAULT_CPU_CORE_HOUR
    models: dict[str, TokenPrice] | None = None

    def local_cost(self, wall_seconds: float, cores: int) -> float:
        return wall_seconds / 3600.0 * cores * self.cpu_core_hour

    def cost(self, model: str, local_cores: int, g: Generation) -> float | None:
        """Dollars of one model call by `hosted_name`'s rule; None for a hosted model without a price."""
        name = hosted_name(model)
        if name is None:
            return self.local_cost(g.wall_seconds * g.core_share, local_cores)
        return self.token_cost(name, g.prompt_tokens, g.cached_prompt_tokens, g.completion_tokens)

    def token_cost(self, model: str, prompt: int, cached: int, completion: int) -> float | None:
        """Dollars for one hosted call, or None when the model has no price entry."""
        price = (self.models or {}).get(model)
        if price is None:
            return None
        cached_rate = (
            price.cached_input_per_mtok if price.cached_input_per_mtok is not None else price.input_per_mtok
        )
        return (
            (prompt - cached) * price.input_per_mtok
            + cached * cached_rate
            + completion * price.output_per_mtok
        ) / 1e6


def load() -> PriceTable:
    path = paths.home() / "prices.toml"
    if not path.is_file():
        return PriceTable()
    try:
        data = tomllib.loads(path.read_text())
        models = {
            name: TokenPrice(
                float(entry["input_per_mtok"]),
                float(entry["output_per_mtok"]),
                float(entry["cached_input_per_mtok"]) if "cached_input_per_mtok" in entry else None,
            )
            for name, entry in data.get("models", {}).items()
        }
        return PriceTable(float(data.get("cpu_core_hour", DEFAULT_CPU_CORE_HOUR)), models)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise PonderError(f"{path} is not a valid price table ({e}): fix or remove it") from e
