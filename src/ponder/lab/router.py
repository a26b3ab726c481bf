"""Compute-optimal routing (after Snell et al. 2024): per problem, a strategy and budget chosen from
cheap signals seen first, fitted on a study's pool to maximise accuracy at a mean-token target.

Signals. Two probe samples come first, drawn with logprobs: whether their answers agree (both
answered, the same normalized answer), their mean token logprob (the mean of the two samples'
means, "none" where neither has one) binned at the fit data's quantiles (3 bins by default), and
the problem's group: a procedural family with its level (`arithmetic@L3`), none for a static
benchmark such as GSM8K. A bin is (group, agree, logprob bin).

Options. `sc@k` (majority vote) and `bon@k` (best by mean logprob; the vote where no sample has
one) for k = 2, 4, 8, ... up to the pool size n (n included). The probes are the first two of the k
samples: reused, charged once; an option at k draws k − 2 more. bon is left out of a pool drawn
without logprobs (it would be the vote).

Reading a pool. Every pair of a problem's pool samples serves as a probe draw, the other k − 2 a
uniform subset of the rest: each option's expected value and tokens per pair, exact where cheap
(`ponder.lab.router_pool`, which also reads a study's store into arrays).

Fit (`fit_arrays`). Per bin, an option's accuracy and tokens are means over the bin's (problem,
pair) cells; a problem counts for the share of its pairs in the bin. Small bins are SHRUNK, not
merged: a bin holding w problems' worth has accuracy (w·acc + prior·pooled)/(w + prior), pooled
being the option's accuracy over every fit problem (prior = 4 problems by default). Tokens are not
shrunk, so the target holds on the fit data exactly. The choice: per bin the option maximising
accuracy − λ·tokens (ties: fewer tokens), λ ≥ 0 bisected to the least value whose mean tokens per
problem meet the target; no mix at the binding λ: the feasible side, which may leave part of the
target unspent. A target below the probes' own tokens is refused.

Groups. Where the fit's problems have groups, there are bins per group and bins pooled over groups
(`*`); the latter serve a problem whose group the fit did not see or cannot see (a study's pooled
estimate has no groups). Without groups every bin is `*`. An unseen bin takes `default`, the pooled
choice at the same λ.

Evaluation (`evaluate`) reads a held-out study's pool the same way: the router and every fixed
option per problem, averaged over the probe pairs (an estimate from the pool), with Wilson
intervals and the paired (MOVER) difference against the most accurate fixed option at no more
mean tokens than the router, at a Bonferroni quantile over the options it was chosen from. A rule
is stored as JSON under PONDER_HOME/routers (`save`, `load`).
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ponder import paths
from ponder.errors import PonderError
from ponder.lab.intervals import Interval, bonferroni_z, mean_interval, paired_difference
from ponder.lab.router_pool import (
    ANY,
    FloatArray,
    PoolArrays,
    apply,
    bin_index,
    capped,
    needed,
    pair_table,
    parse_option,
    pool_models,
    pool_options,
    read_pool,
)

BINS, PRIOR = 3, 4.0
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Bin:
    group: str  # family@level, "" for problems without one, `*` for any
    agree: bool
    logprob: int  # the logprob bin, 0-based; -1: no logprob
    option: str
    problems: float  # the fit problems' worth in the bin (shares of their pairs)
    accuracy: float  # the option's shrunk accuracy estimate in the bin
    tokens: float  # the option's mean completion tokens in the bin


@dataclass(frozen=True)
class Signals:
    agree: bool
    logprob: float  # NaN: none
    group: str


@dataclass(frozen=True)
class Rule:
    """A fitted router: its bins and options, and where it came from. JSON-able (`to_dict`)."""

    study: str
    model: str
    target: float  # mean completion tokens per problem
    edges: tuple[float, ...]  # the logprob bins' edges
    bins: tuple[Bin, ...]
    default: str
    options: tuple[str, ...]
    fit_accuracy: float  # in-sample, from the pool
    fit_tokens: float
    fit_problems: tuple[str, ...]  # their ids: an evaluation leaves them out
    multiplier: float  # λ
    prior: float
    version: str
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["bins"] = tuple(Bin(**b) for b in data["bins"])
        for key in ("edges", "options", "fit_problems"):
            data[key] = tuple(data[key])
        return cls(**data)

    def logprob_bin(self, logprob: float) -> int:
        return -1 if math.isnan(logprob) else bisect.bisect_right(self.edges, logprob)

    def choose(self, signals: Signals, cap: int | None = None) -> str:
        """The option for these signals, capped at `cap` samples."""
        return self.option_of(signals.group, signals.agree, self.logprob_bin(signals.logprob), cap)

    def option_of(self, group: str, agree: bool, logprob_bin: int, cap: int | None = None) -> str:
        """A bin's option: the group's bin, else the pooled one, else the default."""
        table = {(b.group, b.agree, b.logprob): b.option for b in self.bins}
        option = table.get((group, agree, logprob_bin)) or table.get((ANY, agree, logprob_bin))
        option = option or self.default
        return capped(option, cap) if cap is not None else option


def signals(answers: Sequence[str | None], logprobs: Sequence[float | None], group: str) -> Signals:
    """The probes' signals: two answers and their samples' mean logprobs (None where none)."""
    agree = answers[0] is not None and answers[0] == answers[1]
    known = [x for x in logprobs if x is not None and math.isfinite(x)]
    return Signals(agree, sum(known) / len(known) if known else math.nan, group)


def agreement_rule(n: int) -> Rule:
    """The built-in rule of `router` without a name (not fitted): probes that agree give their
    answer; otherwise a vote over n samples."""
    bins = tuple(
        Bin(ANY, agree, lp, "sc@2" if agree else f"sc@{n}", 0.0, math.nan, math.nan)
        for agree in (True, False)
        for lp in (-1, 0)
    )
    options = ("sc@2", f"sc@{n}")
    nan = math.nan
    return Rule("", "", nan, (), bins, options[1], options, nan, nan, (), 0.0, 0.0, "", "(built-in)")


# Fitting


def _pick(accuracy: FloatArray, tokens: FloatArray, multiplier: float) -> int:
    """The option maximising accuracy − λ·tokens; ties to fewer tokens, then to the first."""
    score = accuracy - multiplier * tokens
    tied = np.flatnonzero(score >= score.max() - 1e-12)
    return int(tied[np.argmin(tokens[tied])])


@dataclass(eq=False)
class _Cell:
    """A bin of the fit: its problems' worth, and each option's shrunk and raw accuracy and tokens."""

    group: str
    agree: bool
    logprob: int
    problems: float
    shrunk: FloatArray
    raw: FloatArray
    tokens: FloatArray

    def pick(self, multiplier: float) -> int:
        return _pick(self.shrunk, self.tokens, multiplier)


def fit_arrays(
    pool: PoolArrays,
    mean_tokens: float,
    *,
    bins: int = BINS,
    prior: float = PRIOR,
    seed: int = 0,
    study: str = "",
    model: str = "",
) -> Rule:
    """The rule maximising accuracy at ≤ `mean_tokens` completion tokens per problem on this pool."""
    if not mean_tokens > 0 or not math.isfinite(mean_tokens):
        raise PonderError(f"--mean-tokens must be a positive number (got {mean_tokens})")
    if bins < 1 or not prior >= 0:
        raise PonderError("--bins must be at least 1 and --prior at least 0")
    options = pool_options(pool)
    table = pair_table(pool, options, seed=seed)
    P, Q = len(pool.groups), int(table.agree.shape[1])
    finite = table.logprob[~np.isnan(table.logprob)]
    quantiles = np.quantile(finite, np.arange(1, bins) / bins) if finite.size else np.empty(0)
    edges = tuple(float(x) for x in np.unique(quantiles))
    lp = bin_index(edges, table.logprob)
    pooled = table.values.mean(axis=(0, 1)), table.tokens.mean(axis=(0, 1))
    grouped = any(pool.groups)
    own = [g if grouped else ANY for g in pool.groups]

    def cells(names: Sequence[str]) -> list[_Cell]:
        out = []
        for group in sorted(set(names)):
            rows = np.array([g == group for g in names])[:, None]
            for agree in (True, False):
                for b in np.unique(lp[rows[:, 0]]):
                    mask = rows & (table.agree == agree) & (lp == b)
                    if mask.any():
                        w = float(mask.sum()) / Q
                        acc, tok = table.values[mask].mean(axis=0), table.tokens[mask].mean(axis=0)
                        shrunk = (w * acc + prior * pooled[0]) / (w + prior)
                        out.append(_Cell(group, agree, int(b), w, shrunk, acc, tok))
        return out

    budgeted = cells(own)
    fallback = cells([ANY] * P) if grouped else []

    def spend(multiplier: float) -> float:
        return float(sum(c.problems * float(c.tokens[c.pick(multiplier)]) for c in budgeted)) / P

    cheapest = sum(c.problems * float(c.tokens.min()) for c in budgeted) / P
    if cheapest > mean_tokens:
        raise PonderError(
            f"--mean-tokens {mean_tokens:g} is below the cheapest option's mean tokens ({cheapest:.0f} a "
            "problem: the two probes alone): raise it"
        )
    low, high = 0.0, 0.0  # λ: the feasible side is `high`
    if spend(0.0) > mean_tokens:
        high = 1.0
        while spend(high) > mean_tokens:
            low, high = high, high * 2
        for _ in range(100):
            mid = (low + high) / 2
            low, high = (low, mid) if spend(mid) <= mean_tokens else (mid, high)
    made = []
    accuracy = tokens = 0.0
    for c in [*budgeted, *fallback]:
        o = c.pick(high)
        made.append(
            Bin(c.group, c.agree, c.logprob, options[o], c.problems, float(c.shrunk[o]), float(c.tokens[o]))
        )
        if c in budgeted:
            accuracy += c.problems * float(c.raw[o]) / P
            tokens += c.problems * float(c.tokens[o]) / P
    from ponder import __version__

    default = options[_pick(pooled[0], pooled[1], high)]
    return Rule(study, model, float(mean_tokens), edges, tuple(made), default, tuple(options), accuracy,
                tokens, pool.ids, high, float(prior), __version__)  # fmt: skip


def fit(
    study_dir: Path | str,
    mean_tokens: float,
    *,
    model: str | None = None,
    bins: int = BINS,
    prior: float = PRIOR,
) -> Rule:
    """Fit a rule from a study's stored pool (`DIR/study.sqlite`) for one model."""
    pool, model = read_pool(study_dir, model)
    return fit_arrays(pool, mean_tokens, bins=bins, prior=prior, study=str(study_dir), model=model)


# Held-out evaluation


@dataclass(frozen=True)
class Row:
    strategy: str
    accuracy: Interval
    tokens: float  # mean completion tokens a problem, probes charged once
    samples: float


@dataclass(frozen=True)
class Evaluation:
    rule: str
    study: str
    model: str
    problems: int
    left_out: int  # problems of the fit, left out
    router: Row
    fixed: tuple[Row, ...]
    best: str | None  # the most accurate fixed option at ≤ the router's mean tokens
    difference: Interval | None  # router − best, paired
    choices: dict[str, float]
    method: str
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _verdict(router: Row, fixed: Sequence[Row], best: Row | None, diff: Interval | None) -> str:
    if best is None or diff is None:
        return "no fixed option costs as few tokens as the router"
    span = f"{diff.estimate:+.3f} [{diff.low:+.3f}, {diff.high:+.3f}]"
    against = f"{best.strategy}, the most accurate fixed option at ≤ its tokens"
    if diff.low > 0:
        out = f"the router beats {against}: {span}"
    elif diff.high < 0:
        out = f"the router falls short of {against}: {span}"
    else:
        out = f"the router and {against} differ by {span}: no measured difference"
    top = max(fixed, key=lambda r: (r.accuracy.estimate, -r.tokens))
    if top is not best:
        short = top.accuracy.low - router.accuracy.estimate
        reach = "reaches" if short <= 0 else f"falls {short:.3f} short of"
        out += (
            f"; at {router.tokens:.0f} mean tokens it {reach} the interval of the most accurate fixed "
            f"option, {top.strategy} ({top.accuracy.estimate:.3f} at {top.tokens:.0f} tokens)"
        )
    return out


def evaluate_arrays(
    rule: Rule, pool: PoolArrays, *, seed: int = 0, study: str = "", model: str = ""
) -> Evaluation:
    """The rule on a held-out pool, against every fixed option read from the same pool."""
    seen = set(rule.fit_problems)
    keep = [i for i in range(pool.labels.shape[0]) if not pool.ids or pool.ids[i] not in seen]
    if not keep:
        raise PonderError("every problem of the study was in the router's fit: evaluate on a held-out study")
    left_out = pool.labels.shape[0] - len(keep)
    if left_out:
        groups, ids = tuple(pool.groups[i] for i in keep), tuple(pool.ids[i] for i in keep)
        pool = PoolArrays(
            pool.labels[keep], pool.correct[keep], pool.scores[keep], pool.tokens[keep], groups, ids
        )
    n = pool.labels.shape[1]
    fixed_options = pool_options(pool)
    table = pair_table(pool, sorted({*fixed_options, *needed(rule, n)}), seed=seed)
    routed = apply(rule, table, pool.groups)
    router = Row(
        "router", mean_interval(routed.values), float(routed.tokens.mean()), float(routed.samples.mean())
    )
    per_problem = {o: table.values[..., table.column(o)].mean(axis=1) for o in fixed_options}
    fixed = tuple(
        Row(o, mean_interval(v), float(table.tokens[..., table.column(o)].mean()), float(parse_option(o)[1]))
        for o, v in per_problem.items()
    )
    eligible = [r for r in fixed if r.tokens <= router.tokens * (1 + 1e-9)]
    best = max(eligible, key=lambda r: (r.accuracy.estimate, -r.tokens)) if eligible else None
    diff = None
    if best is not None:
        d = paired_difference(routed.values, per_problem[best.strategy], bonferroni_z(len(eligible)))
        diff = replace(d, method=f"{d.method}, Bonferroni over the {len(eligible)} options at ≤ its tokens")
    method = f"estimate from the pool: {table.method}, the probes charged once"
    verdict = _verdict(router, fixed, best, diff)
    name = best.strategy if best else None
    return Evaluation(rule.name, study, model, len(keep), left_out, router, fixed, name, diff, routed.choices,
                      method, verdict)  # fmt: skip


def evaluate(rule: Rule, study_dir: Path | str, model: str | None = None) -> Evaluation:
    """The rule on a held-out study's pool (the rule's model unless named; the fit's problems left out)."""
    if model is None and rule.model:
        model = rule.model if rule.model in pool_models(study_dir) else None
    pool, model = read_pool(study_dir, model)
    return evaluate_arrays(rule, pool, study=str(study_dir), model=model)


# Rules by name


def routers_dir() -> Path:
    return paths.home() / "routers"


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise PonderError(f"router name '{name}': use letters, digits, '_', '.' and '-' only")
    return name


def save(rule: Rule, name: str) -> Path:
    """Store a rule as PONDER_HOME/routers/NAME.json (replacing one of that name)."""
    path = routers_dir() / f"{check_name(name)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(replace(rule, name=name).to_dict(), indent=2, allow_nan=False) + "\n")
    tmp.replace(path)
    return path


def load(name: str) -> Rule:
    path = routers_dir() / f"{check_name(name)}.json"
    if not path.is_file():
        raise PonderError(
            f"no router named '{name}' in {routers_dir()}: fit one with "
            f"`ponder router fit STUDY_DIR --mean-tokens T --name {name}`"
        )
    try:
        return replace(Rule.from_dict(json.loads(path.read_text())), name=name)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise PonderError(f"{path} is not a router ({type(e).__name__}: {e}): fit it again") from None


def names() -> list[str]:
    return sorted(p.stem for p in routers_dir().glob("*.json")) if routers_dir().is_dir() else []
