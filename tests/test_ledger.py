from __future__ import annotations

import pytest

from ponder.ledger import Ledger
from ponder.models.prices import PriceTable, TokenPrice
from ponder.types import Generation, Sample


def gen(prompt: int, cached: int, tokens: list[int], seconds: float = 2.0) -> Generation:
    samples = [Sample("x", completion_tokens=t) for t in tokens]
    return Generation(samples, prompt, cached, sum(tokens), seconds)


def test_flops_count_uncached_tokens_only() -> None:
    ledger = Ledger()
    usage = ledger.record(
        gen(100, 60, [10, 20]), role="policy", model="m", n=2, compute_parameters=5, local_cores=2
    )
    assert usage.flops == 2 * 5 * (100 - 60 + 30)
    assert usage.uncached_tokens == 70


def test_local_calls_cost_core_hours() -> None:
    ledger = Ledger(prices=PriceTable(cpu_core_hour=0.36))
    usage = ledger.record(
        gen(10, 0, [5], seconds=3600), role="policy", model="m", n=1, compute_parameters=1, local_cores=2
    )
    assert usage.cost_usd == pytest.approx(0.72)


def test_hosted_calls_cost_tokens_and_unknown_prices_are_noted() -> None:
    table = PriceTable(
        models={"gpt-x": TokenPrice(input_per_mtok=1.0, output_per_mtok=4.0, cached_input_per_mtok=0.5)}
    )
    ledger = Ledger(prices=table)
    usage = ledger.record(
        gen(1_000_000, 500_000, [250_000]),
        role="policy",
        model="openai:gpt-x",  # hosted: priced per token under the server's name
        n=1,
        compute_parameters=None,
        local_cores=0,
    )
    assert usage.cost_usd == pytest.approx(0.5 + 0.25 + 1.0)
    assert usage.flops == 0 and any("FLOPs of openai:gpt-x not counted" in n for n in ledger.notes)
    ledger.record(
        gen(10, 0, [1]), role="judge", model="openai:other", n=1, compute_parameters=None, local_cores=0
    )
    assert any("dollars of openai:other not counted" in n for n in ledger.notes)


def test_total_is_the_sum_of_records() -> None:
    ledger = Ledger()
    a = ledger.record(gen(10, 0, [3, 4]), role="policy", model="m", n=2, compute_parameters=7, local_cores=1)
    b = ledger.record(gen(10, 9, [5]), role="judge", model="m", n=1, compute_parameters=7, local_cores=1)
    total = ledger.total()
    assert total.calls == 2
    assert total.completion_tokens == a.completion_tokens + b.completion_tokens == 12
    assert total.cached_prompt_tokens == 9
    assert total.flops == a.flops + b.flops
    assert [r.role for r in ledger.records] == ["policy", "judge"]
