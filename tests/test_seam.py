"""The seam every strategy stands on: roles, children, composition, limits, plugins (scripted models)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ponder.errors import PonderError
from ponder.limits import Limit
from ponder.session import parse_roles
from ponder.specs import parse_spec
from ponder.strategies import REGISTRY, build, load_plugins, samples_needed
from ponder.strategies import base as strategies_base
from ponder.strategies.base import Key, StrategyInfo, _convert, child_seed, register
from ponder.types import Message, Problem, Result
from scripted import ScriptedBackend, session

Q = Problem("How many?")


async def test_a_judge_role_uses_its_own_model_and_its_flops() -> None:
    policy, judge = ScriptedBackend(["Answer: 1"]), ScriptedBackend(["yes"], tokens_each=3, prompt_tokens=7)
    s = session(
        {"small": policy, "big": judge}, {"small": 100, "big": 5000}, {"policy": "small", "judge": "big"}
    )
    ctx = s.context()
    await ctx.generate([Message("user", "q")], 2, temperature=0.5)
    await ctx.child(role="judge").generate([Message("user", "is it right?")], 1, temperature=0.0)
    await ctx.generate([Message("user", "q")], 1, temperature=0.0, role="proposer")  # no model: policy's
    records = ctx.ledger.records
    assert [(r.role, r.model) for r in records] == [
        ("policy", "small"),
        ("judge", "big"),
        ("proposer", "small"),
    ]
    assert records[1].usage.flops == 2 * 5000 * (7 + 3)
    assert records[0].usage.flops == 2 * 100 * (20 + 2 * 10)
    assert len(policy.requests) == 2 and len(judge.requests) == 1


def test_roles_parse_and_refuse_bad_ones() -> None:
    assert parse_roles("m", ["proposer=p"], judge="j") == {"policy": "m", "proposer": "p", "judge": "j"}
    for bad in (["judge"], ["policy=x"], ["tool=x"], ["Bad=x"], ["judge=a", "judge=b"]):
        with pytest.raises(PonderError, match="--role"):
            parse_roles("m", bad)


async def test_vote_over_cot_is_self_consistency_by_composition() -> None:
    backend = ScriptedBackend(["Answer: 2", "Answer: 3", "Answer: 2"], tokens_each=11, prompt_tokens=20)
    result = await build("vote@3(cot)")(Q, session(backend, seed=5).context())
    assert result.answer == "2" and result.votes == {"2": 2, "3": 1}
    assert len(result.children) == 3 and all(c.strategy == "cot" for c in result.children)
    # the vote sets its runs' temperature (a greedy cot would give identical runs) and their seeds differ
    assert [r.params.temperature for r in backend.requests] == [0.7] * 3
    assert len({r.params.seed for r in backend.requests}) == 3
    # usage is the sum of its runs, to the token, each counted once
    assert result.usage == sum((c.usage for c in result.children), start=type(result.usage)())
    assert result.usage.completion_tokens == 33 and result.usage.calls == len(result.calls) == 3
    assert result.to_dict()["children"][0]["strategy"] == "cot"


async def test_children_seeds_are_distinct_and_deterministic() -> None:
    seeds = [child_seed(7, i) for i in range(50)]
    assert len(set(seeds)) == 50 and seeds == [child_seed(7, i) for i in range(50)]
    a, b = ScriptedBackend(["Answer: 1"], delay=0.01), ScriptedBackend(["Answer: 1"])
    await build("vote@4(vote@3(cot))")(Q, session(a, seed=11).context())
    await build("vote@4(vote@3(cot))")(Q, session(b, seed=11).context())
    sent = [r.params.seed for r in a.requests]
    assert len(set(sent)) == 12  # every leaf run its own seed, at any depth
    assert sorted(sent) == sorted(r.params.seed for r in b.requests)  # whatever order they ran in


async def test_concurrent_children_wait_for_reserved_tokens_instead_of_being_refused() -> None:
    backend = ScriptedBackend(["Answer: 2"], tokens_each=10, delay=0.02)
    ctx = session(backend, max_tokens=50, limit=Limit(tokens=100)).context()
    result = await build("vote@4(cot)")(Q, ctx)
    # two runs reserve 50 each; the others wait, then get what those two did not use
    assert len(backend.requests) == 4 and result.usage.completion_tokens == 40
    assert result.stopped is None and result.votes == {"2": 4}


async def test_a_dollar_limit_holds_under_concurrency() -> None:
    """Under a dollar limit calls go one at a time: the first passes the limit, no second is made."""
    from ponder.models.prices import PriceTable, TokenPrice

    hosted = ScriptedBackend(["Answer: 2"], delay=0.01, tokens_each=500, prompt_tokens=0)
    s = session({"openai:priced": hosted}, None)
    s.prices = PriceTable(models={"priced": TokenPrice(input_per_mtok=0.0, output_per_mtok=2000.0)})
    result = await build("vote@4(cot)")(Q, s.context(limit=Limit(usd=0.5)))
    assert len(hosted.requests) == 1 and result.usage.cost_usd == pytest.approx(1.0)
    assert result.stopped is not None and "$0.5" in result.stopped
    assert result.answer == "2"


async def test_a_refusal_keeps_the_best_answer_so_far() -> None:
    from ponder.strategies.base import Context
    from ponder.strategies.prompts import COT, messages

    def draft_then_refine(*, spec: str):  # type: ignore[no-untyped-def]
        async def run(problem: Problem, ctx: Context) -> Result:
            await ctx.generate(messages(COT, problem), temperature=0.0)
            ctx.keep("draft-answer")
            await ctx.generate(messages(COT, problem), temperature=0.0)
            return ctx.result(answer="refined", strategy=spec, candidates=[], votes={})

        return run

    register(StrategyInfo("draftrefine", "t", draft_then_refine, {}, budget=False))
    try:
        ctx = session(ScriptedBackend(["x"]), limit=Limit(calls=1)).context()
        result = await build("draftrefine")(Q, ctx)
        assert result.answer == "draft-answer" and result.stopped is not None
    finally:
        REGISTRY.pop("draftrefine")


async def test_notes_and_judge_calls_roll_up_into_the_tree() -> None:
    backend = ScriptedBackend(["Answer: 1"])  # no logprobs: bon falls back to the vote and says so
    result = await build("vote@2(bon@2)")(Q, session(backend).context())
    assert any("fell back" in n for n in result.notes)
    ctx = session(backend).context()
    await ctx.child(role="judge").generate([Message("user", "ok?")], temperature=0.0)
    tree = ctx.result(answer=None, strategy="t", candidates=[], votes={})
    assert [c.strategy for c in tree.children] == ["judge calls"]
    assert tree.children[0].usage == tree.usage


def test_nested_budgets_are_capped_and_roles_must_be_used() -> None:
    with pytest.raises(PonderError, match="more than 256"):
        build("vote@64(sc@64)")
    from ponder.strategies import check_roles

    with pytest.raises(PonderError, match="no strategy in cot calls a judge role"):
        check_roles(["cot"], ["judge"])
    check_roles(["cot"], [])


def test_wrapping_is_checked_and_slots_count_inner_samples() -> None:
    with pytest.raises(PonderError, match="does not wrap"):
        build("sc@2(cot)")
    assert samples_needed("vote@4(sc@3)") == 12
    assert samples_needed("vote@4") == 4  # the default inner is cot
    assert samples_needed("cot") == 1


async def test_a_token_limit_cuts_calls_and_then_refuses_them() -> None:
    backend = ScriptedBackend(["Answer: 2"], tokens_each=10)
    ctx = session(backend, max_tokens=50, limit=Limit(tokens=25)).context()
    result = await build("vote@4(cot)")(Q, ctx)
    # 25 tokens: runs of 10 while they fit, the third cut to the 5 left, the fourth refused
    assert [r.params.max_tokens for r in backend.requests] == [25, 15, 5]
    assert result.usage.completion_tokens == 25
    assert result.stopped is not None and "limit" in result.stopped
    assert [c.stopped is not None for c in result.children] == [False, False, True, True]
    assert result.answer == "2"  # the best answer so far


async def test_a_calls_limit_counts_engine_requests() -> None:
    backend = ScriptedBackend(["Answer: 2"])
    backend.capabilities = type(backend.capabilities)(max_n=4, logprobs=True, prefix_sharing=True)
    result = await build("sc@8")(Q, session(backend, limit=Limit(calls=1)).context())
    assert result.answer is None and "needs 2" in (result.stopped or "")
    assert backend.requests == []


async def test_a_calls_limit_refuses_before_the_call() -> None:
    backend = ScriptedBackend(["Answer: 2"])
    result = await build("sc@2")(Q, session(backend, limit=Limit(calls=1)).context())
    assert result.answer == "2" and result.stopped is None
    ctx = session(backend, limit=Limit(calls=1)).context()
    await build("cot")(Q, ctx)
    again = await build("cot")(Q, ctx)  # the same question's context: its one call is spent
    assert again.answer is None and again.stopped is not None and "1 calls" in again.stopped
    assert len(backend.requests) == 2


def test_limits_parse_with_one_line_errors() -> None:
    assert Limit.parse("tokens=4000,usd=0.5") == Limit(tokens=4000, usd=0.5)
    assert str(Limit.parse("calls=3,seconds=2.5")) == "calls=3,seconds=2.5"
    assert Limit.parse(None) is None
    for bad in ("tokens", "tokens=-1", "tokens=1.5", "watts=3", "usd=nan", "calls=1,calls=2", "tokens=5,"):
        with pytest.raises(PonderError, match="limit"):
            Limit.parse(bad)


def test_boolean_keys_are_spelled_out() -> None:
    spec = parse_spec("x:stop=false")
    meta = Key(bool, False, "stop early")
    assert _convert(spec, "stop", "false", meta) is False
    assert _convert(spec, "stop", "true", meta) is True
    with pytest.raises(PonderError, match="true or false"):
        _convert(spec, "stop", "maybe", meta)


async def test_a_strategy_registered_from_outside_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry point in the `ponder.strategies` group registers a strategy without forking ponder."""
    (tmp_path / "ponder_plugin_first.py").write_text(
        "from ponder.strategies.base import StrategyInfo, Context\n"
        "from ponder.types import Problem, Result\n"
        "def first(*, spec):\n"
        "    async def run(problem: Problem, ctx: Context) -> Result:\n"
        "        return ctx.result(answer='first', strategy=spec, candidates=[], votes={})\n"
        "    return run\n"
        "INFO = StrategyInfo('first', 'always answers first', first, {}, budget=False)\n"
    )
    dist = tmp_path / "ponder_plugin_first-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ponder-plugin-first\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[ponder.strategies]\nfirst = ponder_plugin_first:INFO\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(strategies_base, "_plugins_loaded", False)
    try:
        assert "first" in load_plugins()
        result = await build("first")(Q, session(ScriptedBackend(["x"])).context())
        assert result.answer == "first"
    finally:
        REGISTRY.pop("first", None)
        sys.modules.pop("ponder_plugin_first", None)


def test_a_broken_plugin_is_skipped_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = tmp_path / "ponder_plugin_broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ponder-plugin-broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[ponder.strategies]\nbroken = no_such_module_here:INFO\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(strategies_base, "_plugins_loaded", False)
    assert "broken" not in load_plugins()
    assert "strategy plugin 'broken' failed to load" in capsys.readouterr().err


def test_register_replaces_by_name() -> None:
    info = StrategyInfo("tmp-x", "t", lambda *, spec: None, {}, budget=False)  # type: ignore[arg-type,return-value]
    try:
        register(info)
        assert REGISTRY["tmp-x"] is info
    finally:
        REGISTRY.pop("tmp-x")


def test_result_round_trips_through_its_dict() -> None:
    r = Result(
        "1", "vote@2(cot)", "m", [], {"1": 2}, type(Q).__mro__[0] and __import__("ponder").Usage(calls=2)
    )
    r.children = [Result("1", "cot", "m", [], {"1": 1}, __import__("ponder").Usage(calls=1))]
    again = Result.from_dict(r.to_dict())
    assert again.to_dict() == r.to_dict()


async def test_calls_overlapping_on_a_local_engine_pay_for_its_cores_once() -> None:
    """Two runs in flight together on one local engine: each is charged half the cores' time."""
    from ponder.backends.base import Capabilities

    backend = ScriptedBackend(["Answer: 2"], delay=0.3, cost_seconds=3600.0)
    backend.capabilities = Capabilities(max_n=64, logprobs=True, prefix_sharing=True, local_cores=2)
    s = session(backend)
    together = await build("vote@2(cot)")(Q, s.context())
    alone = await build("cot")(Q, s.context())
    assert alone.usage.cost_usd == pytest.approx(2 * s.prices.cpu_core_hour)  # one core-hour on each core
    assert together.usage.cost_usd == pytest.approx(alone.usage.cost_usd, rel=0.1)  # not twice
    assert together.usage.wall_seconds == 2 * 3600.0  # each call's latency stays as measured
