"""Every strategy and scoring pass of ponder declares whether it runs model-written code
(`runs_code`), and the declaration agrees with its module's source: True exactly where the module
imports `ponder.sandbox` (anywhere in it: at the top, in a function, for types), or imports from a
ponder strategy module that does (repair runs code through execution's runner). The registry is read
whole, so a strategy or a pass added later is covered by itself. `ponder serve` refuses what runs
code unless `--allow-code`, and takes an undeclared one (a plugin's) to run code.

The check reads imports, not behaviour: a module that took only a constant from a code-running one
would be asked to declare True. That errs toward refusing, which is the safe side for a server.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Any

import pytest

from ponder.serve.errors import ApiError
from ponder.serve.routing import route, runs_code
from ponder.specs import parse_spec
from ponder.strategies import REGISTRY, StrategyInfo
from ponder.strategies.base import Key
from ponder.strategies.pooling import SCORE_PASSES, Scored, ScorePassInfo
from ponder.types import Problem, Result

PACKAGE = "ponder.strategies"


def _imports(path: Path) -> set[str]:
    """The ponder modules a source file imports from, `from ponder.strategies import x` as x's."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in out if m.startswith("ponder.")}


def code_modules() -> set[str]:
    """The strategy modules that import the sandbox, or import from one that does."""
    folder = Path(importlib.import_module(PACKAGE).__file__ or "").parent
    graph = {f"{PACKAGE}.{p.stem}": _imports(p) for p in folder.glob("*.py") if p.stem != "__init__"}
    found = {
        m for m, imports in graph.items() if any(i.split(".")[:2] == ["ponder", "sandbox"] for i in imports)
    }
    while grown := {m for m, imports in graph.items() if m not in found and imports & found}:
        found |= grown
    return found


def test_the_guard_finds_the_known_code_modules() -> None:
    assert {f"{PACKAGE}.program", f"{PACKAGE}.execution", f"{PACKAGE}.repair"} <= code_modules()
    assert f"{PACKAGE}.self_consistency" not in code_modules()


def ponder_strategies() -> list[StrategyInfo]:
    return [i for _, i in sorted(REGISTRY.items()) if i.factory.__module__.startswith("ponder.")]


@pytest.mark.parametrize("info", ponder_strategies(), ids=lambda i: i.name)
def test_each_ponder_strategy_declares_whether_it_runs_code(info: StrategyInfo) -> None:
    module = info.factory.__module__
    assert info.runs_code is not None, f"{info.name} ({module}) must declare runs_code=True or False"
    assert info.runs_code == (module in code_modules()), (
        f"{info.name}: runs_code={info.runs_code}, but {module} "
        f"{'reaches' if module in code_modules() else 'does not reach'} ponder.sandbox"
    )


@pytest.mark.parametrize("name", sorted(SCORE_PASSES))
def test_each_scoring_pass_declares_whether_it_runs_code(name: str) -> None:
    info = SCORE_PASSES[name]
    module = info.run.__module__
    assert info.runs_code is not None, f"scoring pass {name} must declare runs_code=True or False"
    assert info.runs_code == (module in code_modules()), name


def test_code_strategies_are_pot_exec_and_repair_today() -> None:
    code = {i.name for i in ponder_strategies() if i.runs_code}
    assert code == {"pot", "exec", "repair"}
    assert {n for n, p in SCORE_PASSES.items() if p.runs_code} == {"exec"}


# ponder serve reads the flags: a plugin's strategy or scoring pass that says nothing is refused.


def _factory(*, spec: str, **kwargs: Any) -> Any:
    async def run(problem: Problem, ctx: Any) -> Result:
        raise AssertionError("never run here")

    return run


async def _pass(problem: Problem, candidates: Any, ctx: Any) -> Scored:
    raise AssertionError("never run here")


def _route(name: str, allow_code: bool = False) -> object:
    return route(name, None, None, served=("tiny",), max_n=16, allow_code=allow_code)


@pytest.mark.parametrize(
    ("declared", "refused"), [(None, True), (True, True), (False, False)], ids=["undeclared", "true", "false"]
)
def test_a_plugin_strategy_is_taken_to_run_code_unless_it_declares_false(
    monkeypatch: pytest.MonkeyPatch, declared: bool | None, refused: bool
) -> None:
    monkeypatch.setitem(
        REGISTRY, "plug", StrategyInfo("plug", "t", _factory, {}, budget=False, runs_code=declared)
    )
    for name in ("plug/tiny", "vote@2(plug)/tiny"):
        if refused:
            with pytest.raises(ApiError) as e:
                _route(name)
            assert e.value.code == "code_execution_disabled" and "'plug'" in e.value.message
            assert ("does not declare" in e.value.message) == (declared is None)
        else:
            _route(name)
        _route(name, allow_code=True)


def test_a_scoring_pass_a_key_names_is_read_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SCORE_PASSES, "plugpass", ScorePassInfo("plugpass", _pass))
    keys = {"scorer": Key(str, "verify", "the scorer")}
    monkeypatch.setitem(
        REGISTRY, "pick", StrategyInfo("pick", "t", _factory, keys, budget=False, runs_code=False)
    )
    assert runs_code(parse_spec("pick")) is None  # verify declares False
    assert runs_code(parse_spec("pick:scorer=plugpass")) == ("pick:scorer=plugpass", False)
    monkeypatch.setitem(SCORE_PASSES, "plugpass", ScorePassInfo("plugpass", _pass, runs_code=False))
    assert runs_code(parse_spec("pick:scorer=plugpass")) is None
    assert runs_code(parse_spec("pick:scorer=exec")) == ("pick:scorer=exec", True)
