"""`router`: the fit recovers a rule that a synthetic study hides in a signal, meets its token target,
round-trips through PONDER_HOME; the strategy routes on a scripted backend; the pooled estimate is
the strategy replayed by brute force; the CLI's errors are one line. No real model."""

from __future__ import annotations

import itertools
import json
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ponder.cli import main
from ponder.errors import PonderError
from ponder.lab import estimators as est
from ponder.lab import router as rules
from ponder.lab.router_pool import PoolArrays, estimate_pool, group_of_id, pair_table, parse_option
from ponder.lab.study import study
from ponder.lab.study.store import StoredSample, StudyStore
from ponder.strategies import build
from ponder.strategies.sampling import vote
from ponder.tasks.base import Item
from ponder.types import Problem, Usage
from scripted import ScriptedBackend, session
from test_study import factory, suite_file

N = 16


def synthetic(problems: int, seed: int, groups: tuple[str, ...] = ("",)) -> tuple[PoolArrays, np.ndarray]:
    """Easy problems: 16 samples of one right answer. Hard ones: 4 right, 12 wrong answers all
    different, so two probes mostly disagree and only the vote of all 16 is sure. Logprobs carry
    no signal. Returns the pool and which problems are hard."""
    rng = np.random.default_rng(seed)
    hard = rng.random(problems) < 0.5
    labels = np.zeros((problems, N), dtype=np.int64)
    for p in np.flatnonzero(hard):
        labels[p] = rng.permutation([0] * 4 + list(range(1, 13)))
    scores = rng.normal(-0.3, 0.05, (problems, N))
    tokens = rng.integers(80, 121, (problems, N)).astype(np.float64)
    group = tuple(groups[i % len(groups)] for i in range(problems))
    ids = tuple(f"s{seed}-{i}" for i in range(problems))
    return PoolArrays(labels, labels == 0, scores, tokens, group, ids), hard


def intended_tokens(pool: PoolArrays) -> float:
    """Mean tokens of the hidden rule: probes that agree stop at 2; otherwise all 16."""
    total = 0.0
    for labels, tokens in zip(pool.labels, pool.tokens, strict=True):
        pairs = list(itertools.combinations(range(N), 2))
        total += sum(
            tokens[a] + tokens[b] if labels[a] == labels[b] else tokens.sum() for a, b in pairs
        ) / len(pairs)
    return total / len(pool.labels)


def test_the_fit_recovers_a_rule_hidden_in_the_probes_agreement() -> None:
    fit_pool, _ = synthetic(200, seed=1)
    target = 1.02 * intended_tokens(fit_pool)
    rule = rules.fit_arrays(fit_pool, target, study="synthetic", model="m")
    assert {b.option for b in rule.bins if b.agree} <= {"sc@2", "bon@2"}
    assert {b.option for b in rule.bins if not b.agree} == {"sc@16"}
    held, hard = synthetic(200, seed=2)
    right = 0
    for p in range(200):  # each held-out problem routed on its first two samples, as at run time
        answers = [str(x) for x in held.labels[p, :2]]
        option = rule.choose(rules.signals(answers, list(held.scores[p, :2]), ""))
        right += option == "sc@16" if hard[p] else option.endswith("@2")
    assert right >= 180
    result = rules.evaluate_arrays(rule, held)
    assert result.left_out == 0 and result.router.accuracy.estimate > 0.97
    assert result.best is not None and result.difference is not None and result.difference.low > 0


def test_the_token_target_is_met_on_the_fit_data() -> None:
    pool, _ = synthetic(120, seed=3)
    for target in (250.0, 500.0, 900.0, 5000.0):
        rule = rules.fit_arrays(pool, target)
        assert rule.fit_tokens <= target
        again = rules.evaluate_arrays(rule, PoolArrays(pool.labels, pool.correct, pool.scores, pool.tokens,
                                                       pool.groups))  # fmt: skip
        assert again.router.tokens == pytest.approx(rule.fit_tokens)
        assert again.router.accuracy.estimate == pytest.approx(rule.fit_accuracy)
    with pytest.raises(PonderError, match="below the cheapest option") as e:
        rules.fit_arrays(pool, 100.0)  # two probes cost ~200
    assert "\n" not in str(e.value)


def test_groups_get_their_own_bins_and_a_pooled_fallback() -> None:
    pool, _ = synthetic(160, seed=4, groups=("arithmetic@L1", "arithmetic@L2"))
    rule = rules.fit_arrays(pool, 1.02 * intended_tokens(pool))
    assert {b.group for b in rule.bins} == {"arithmetic@L1", "arithmetic@L2", rules.ANY}
    assert group_of_id("arithmetic-L2-public-s0-7") == "arithmetic@L2"
    assert group_of_id("gsm8k-12") == ""
    unseen = rules.Signals(False, -0.3, "countdown@L9")  # a group the fit never saw: the pooled bins
    assert rule.choose(unseen) == rule.option_of(rules.ANY, False, rule.logprob_bin(-0.3))


def test_save_and_load_round_trip_and_names_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PONDER_HOME", str(tmp_path / "home"))
    pool, _ = synthetic(40, seed=5)
    rule = rules.fit_arrays(pool, 600.0, study="s", model="m")
    path = rules.save(rule, "gsm8k-0.5b_v1")
    assert path == tmp_path / "home" / "routers" / "gsm8k-0.5b_v1.json"
    loaded = rules.load("gsm8k-0.5b_v1")
    assert loaded == replace(rule, name="gsm8k-0.5b_v1")
    assert json.loads(path.read_text())["version"] == rule.version and rules.names() == ["gsm8k-0.5b_v1"]
    for bad in ("a/b", "", "x y", "../up", "ü"):
        with pytest.raises(PonderError, match="letters, digits") as e:
            rules.save(rule, bad)
        assert "\n" not in str(e.value)
    with pytest.raises(PonderError, match="ponder router fit STUDY_DIR --mean-tokens T --name nope"):
        rules.load("nope")


# The strategy at run time


def handmade(agree: str, disagree: str) -> rules.Rule:
    bins = tuple(
        rules.Bin(rules.ANY, a, lp, agree if a else disagree, 1.0, 0.5, 100.0)
        for a in (True, False)
        for lp in (-1, 0)
    )
    return rules.Rule("s", "m", 1000.0, (), bins, disagree, (agree, disagree), 0.5, 100.0, (), 0.0, 4.0, "0")


async def run(spec: str, backend: ScriptedBackend) -> tuple[object, list[int]]:
    result = await build(spec)(
        Problem("How many?", id="gsm8k-1"), session(backend, max_tokens=50, seed=7).context()
    )
    return result, [r.n for r in backend.requests]


async def test_probes_that_disagree_buy_the_rest_and_are_charged_once() -> None:
    rules.save(handmade("sc@2", "sc@8"), "r")
    backend = ScriptedBackend(["Answer: 1", "Answer: 2", "Answer: 2"], logprobs=[-1.0, -0.5, -0.7])
    result, sizes = await run("router:name=r", backend)
    assert sizes == [2, 6]  # 2 probes, then k − 2 more: 8 in all
    first, second = backend.requests
    assert first.params.logprobs and not second.params.logprobs  # logprobs only where read
    assert first.params.seed != second.params.seed
    assert len(result.candidates) == 8 and result.answer == "2"
    assert result.usage.calls == 2 and len(result.calls) == 2
    assert result.usage.completion_tokens == sum(c.usage.completion_tokens for c in result.calls) == 80
    (note,) = [n for n in result.notes if n.startswith("router 'r'")]
    assert "disagree" in note and "→ sc@8" in note and "-0.750" in note


async def test_probes_that_agree_stop_and_a_cap_cuts_the_option() -> None:
    rules.save(handmade("sc@2", "sc@16"), "r")
    result, sizes = await run("router:name=r", ScriptedBackend(["Answer: 3"]))
    assert sizes == [2] and result.answer == "3" and any("agree" in n and "→ sc@2" in n for n in result.notes)
    result, sizes = await run("router@4:name=r", ScriptedBackend(["Answer: 1", "Answer: 2"]))
    assert sizes == [2, 2] and any("→ sc@4" in n for n in result.notes)
    result, sizes = await run("router@1:name=r", ScriptedBackend(["Answer: 5"]))
    assert sizes == [1] and result.answer == "5"


async def test_bon_picks_by_logprob_and_the_builtin_rule_needs_no_name() -> None:
    rules.save(handmade("sc@2", "bon@4"), "b")
    backend = ScriptedBackend(
        ["Answer: 1", "Answer: 2", "Answer: 3", "Answer: 2"], logprobs=[-1, -2, -0.1, -3]
    )
    result, sizes = await run("router:name=b", backend)
    assert sizes == [2, 2] and backend.requests[1].params.logprobs and result.answer == "3"
    result, sizes = await run("router@4", ScriptedBackend(["Answer: 1", "Answer: 2", "Answer: 2"]))
    assert sizes == [2, 2] and any("built-in" in n for n in result.notes)
    with pytest.raises(PonderError, match="ponder router fit"):
        build("router:name=missing")


# The pooled estimate


def brute_force(rule: rules.Rule, pool: PoolArrays, cap: int) -> np.ndarray:
    """The strategy replayed on every probe pair, both probe orders and every ordered draw of the
    rest: sampling.vote, or the best by (answered, logprob, −position) where any sample has one.
    Every pair weighs alike, whatever the draws behind its option."""
    P, n = pool.labels.shape
    out = np.zeros(P)
    for p in range(P):
        answer = [str(x) if x >= 0 else None for x in pool.labels[p]]
        score = [None if math.isnan(x) else float(x) for x in pool.scores[p]]
        pairs = []
        for a, b in itertools.combinations(range(n), 2):
            kind, k = parse_option(
                rule.choose(rules.signals([answer[a], answer[b]], [score[a], score[b]], ""), cap)
            )
            rest = [i for i in range(n) if i not in (a, b)]
            runs = []
            for probes in ((a, b), (b, a)):
                for more in itertools.permutations(rest, k - 2):
                    drawn = [*probes, *more]
                    if kind == "bon" and any(score[i] is not None for i in drawn):
                        key = [
                            (answer[i] is not None, -math.inf if score[i] is None else score[i], -j)
                            for j, i in enumerate(drawn)
                        ]
                        pick = drawn[max(range(k), key=key.__getitem__)]
                        runs.append(float(pool.correct[p, pick]))
                    else:
                        won = vote([answer[i] for i in drawn])[0]
                        runs.append(
                            float(any(pool.correct[p, i] for i in range(n) if answer[i] == won and won))
                        )
            pairs.append(np.mean(runs))
        out[p] = np.mean(pairs)
    return out


def test_the_pooled_estimate_is_the_strategy_replayed_by_brute_force() -> None:
    rng = np.random.default_rng(6)
    P, n = 8, 5
    labels = rng.integers(-1, 3, size=(P, n))
    right = rng.random((P, 3)) < 0.5
    correct = np.where(labels >= 0, right[np.arange(P)[:, None], labels.clip(0)], False)
    scores = rng.normal(-0.5, 0.2, size=(P, n))
    scores[:2] = np.nan  # two problems without logprobs: bon votes there, as it does at run time
    pool = PoolArrays(labels, correct, scores, np.full((P, n), 10.0), ("",) * P)
    bins = tuple(
        rules.Bin(rules.ANY, agree, lp, option, 1.0, 0.5, 10.0)
        for (agree, lp), option in {
            (True, -1): "sc@2", (True, 0): "bon@2", (True, 1): "sc@4",
            (False, -1): "sc@5", (False, 0): "bon@4", (False, 1): "sc@5",
        }.items()
    )  # fmt: skip
    rule = rules.Rule("", "", 30.0, (-0.5,), bins, "sc@5", ("sc@2", "bon@2", "sc@4", "bon@4", "sc@5"),
                      0.5, 30.0, (), 0.0, 4.0, "0")  # fmt: skip
    study_scores = np.where(np.isnan(scores), -np.inf, scores)  # as a study's PoolView holds them
    values, samples, _ = estimate_pool(rule, labels, correct, study_scores, [1, 2, 4, 5], seed=0)
    assert values[:, 0] == pytest.approx(correct.mean(axis=1)) and (samples[:, 0] == 1).all()
    for j, cap in enumerate((2, 4, 5), start=1):
        assert values[:, j] == pytest.approx(brute_force(rule, pool, cap), abs=1e-12)
    assert (samples[:, 1] == 2).all() and (samples[:, 3] <= 5).all() and (samples[:, 3] >= 2).all()


def test_fixed_options_read_from_pairs_are_the_studys_estimators() -> None:
    rng = np.random.default_rng(7)
    P, n = 20, 8
    labels = rng.integers(-1, 4, size=(P, n))
    right = rng.random((P, 4)) < 0.4
    correct = np.where(labels >= 0, right[np.arange(P)[:, None], labels.clip(0)], False)
    scores = rng.normal(size=(P, n))
    table = pair_table(PoolArrays(labels, correct, scores, np.ones((P, n)), ("",) * P), ["sc@4", "bon@4"])
    assert table.values[..., 0].mean(axis=1) == pytest.approx(
        est.majority_curve(labels, correct, [4]).values[:, 0]
    )
    assert table.values[..., 1].mean(axis=1) == pytest.approx(
        est.best_of_k_curve(scores, correct, [4], valid=labels >= 0)[:, 0]
    )


# A study, and the CLI


def test_a_study_derives_the_router_from_its_pool_and_the_cli_fits_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = suite_file(tmp_path)
    settings = {"max_n": 8, "problems": 8, "seed": 3, "backend_factory": factory, "timing_problems": 0}
    summary = study("small", suite, strategies="sc,router", out=str(tmp_path / "s"), **settings)
    rows = {(r["strategy"], r["budget"]): r for r in summary["rows"]}
    assert sorted(k for s, k in rows if s == "router") == [1, 2, 4, 8]
    assert rows[("router", 1)]["accuracy"] == pytest.approx(rows[("sc", 1)]["accuracy"])
    for k in (2, 4, 8):
        assert 2 <= rows[("router", k)]["mean_samples"] <= k
    assert (
        cli(monkeypatch, capsys, "router", "fit", str(tmp_path / "s"), "--mean-tokens", "60", "--name", "t")
        == 0
    )
    assert "saved to" in capsys.readouterr().out
    named = study("small", suite, strategies="sc,router:name=t", out=str(tmp_path / "n"), **settings)
    assert any(r["strategy"] == "router:name=t" for r in named["rows"])


def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["ponder", *args])
    try:
        main.run()
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def store_with(tmp_path: Path, pooled: bool) -> Path:
    """A study store written through its own API: two problems, a pool of 4 where `pooled`."""
    out = tmp_path / ("pooled" if pooled else "bare")
    out.mkdir()
    store = StudyStore(out / "study.sqlite")
    items = [Item(f"q{i}", "jsonl:qa", None, "public", f"Q{i}?", "1", "Answer.", "auto") for i in range(2)]
    store.initialise(items, {})
    if pooled:
        for item in items:
            samples = [StoredSample("t", "", a, a == "1", -0.2, 100, "stop") for a in ("1", "2", "1", None)]
            store.save_request(
                model="m", problem_id=item.id, kind="pool", seed=0, usage=Usage(), samples=samples
            )
    store.close()
    return out


def test_cli_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pooled, bare = store_with(tmp_path, True), store_with(tmp_path, False)
    cases = [
        (
            ("router", "fit", str(tmp_path / "missing"), "--mean-tokens", "500", "--name", "x"),
            "not a directory",
        ),
        (("router", "fit", str(bare), "--mean-tokens", "500", "--name", "x"), "no chain-of-thought pool"),
        (("router", "fit", str(pooled), "--mean-tokens", "50", "--name", "x"), "below the cheapest"),
        (("router", "fit", str(pooled), "--mean-tokens", "500", "--name", "a/b"), "letters, digits"),
        (("router", "show", "nope"), "no router named 'nope'"),
        (("router", "eval", "nope", str(pooled)), "no router named 'nope'"),
    ]
    for args, message in cases:
        assert cli(monkeypatch, capsys, *args) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert cli(monkeypatch, capsys, "router", "fit", str(pooled), "--mean-tokens", "500", "--name", "ok") == 0
    capsys.readouterr()
    assert cli(monkeypatch, capsys, "router", "list", "--json") == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)["routers"]] == ["ok"]
    assert cli(monkeypatch, capsys, "router", "eval", "ok", str(pooled)) == 2  # its own fit problems
    assert "held-out" in capsys.readouterr().err


def test_a_studys_pooled_estimate_reads_the_pooled_bins_not_those_of_problems_without_a_group() -> None:
    # a rule fitted on a mixed suite: static problems (group "") go to sc@4, the pooled bins to sc@2
    bins = tuple(
        rules.Bin(group, agree, lp, "sc@4" if group == "" else "sc@2", 1.0, 0.5, 10.0)
        for group in ("", rules.ANY)
        for agree in (True, False)
        for lp in (-1, 0)
    )
    rule = rules.Rule("", "", 30.0, (), bins, "sc@2", ("sc@2", "sc@4"), 0.5, 30.0, (), 0.0, 4.0, "0")
    labels = np.zeros((3, 4), dtype=np.int64)
    correct = np.ones((3, 4), dtype=bool)
    _, samples, _ = estimate_pool(rule, labels, correct, np.full((3, 4), -0.5), [4], seed=0)
    assert (samples[:, 0] == 2).all()
