"""The router's arithmetic on a pool: every probe pair's signals and every option's value and tokens.

A pool is P problems of n samples each (`PoolArrays`: answer ids, the oracle's verdicts, mean token
logprobs, completion tokens, groups), read from a study's store (`read_pool`) or built by a test.

Every pair of a problem's n samples serves as a probe draw, weighted alike; the other k − 2 samples
of an option at k are a uniform subset of the remaining n − 2 (`pair_table`). A pair's value for an
option is its expected correctness over those subsets:
- bon, exact: the samples ranked once by (answered, score, −index), as best-of-n and
  `ponder.lab.estimators` rank them; the rest's rank-j sample is the best of a uniform (k−2)-subset
  with probability C(n−3−j, k−3)/C(n−2, k−2) and wins where it outranks the better probe. A problem
  whose answered samples have no logprob is voted on, as best-of-n falls back;
- sc: exact by enumerating the subsets where at most EXACT_LIMIT exist (every k of a pool of 16),
  else a seeded Monte Carlo over DRAWS subsets. Pairs with the same two answers share one
  computation. A tie is credited c/t (t answers tied at the top, c of them correct), as in
  `ponder.lab.estimators`.
A pair's tokens: the probes' own plus k − 2 times the mean of the rest. Averaged over pairs, the
values are maj@k and bon@k of the pool, so fixed options and the router are read alike (`apply`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ponder.errors import PonderError

if TYPE_CHECKING:
    from ponder.lab.router import Rule

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

ANY = "*"  # the group of a bin pooled over groups
KINDS = ("sc", "bon")
EXACT_LIMIT = 5000  # enumerate a vote's subsets when there are at most this many
DRAWS = 2000  # Monte Carlo subsets per pair class beyond that
STORE = "study.sqlite"
_GROUP_ID = re.compile(r"([a-z][a-z0-9_]*)-L([0-9]+)-")  # a generated item's id: FAMILY-L{level}-...


def ladder(n: int) -> list[int]:
    """The budgets an option may take in a pool of n: 2, 4, 8, ... below n, and n."""
    out, k = [], 2
    while k < n:
        out.append(k)
        k *= 2
    return [*out, n] if n >= 2 else []


def parse_option(option: str) -> tuple[str, int]:
    kind, _, k = option.partition("@")
    return kind, int(k)


def capped(option: str, n: int) -> str:
    """An option at no more than n samples (the strategy's @N, or a smaller pool)."""
    kind, k = parse_option(option)
    return f"{kind}@{min(k, n)}"


def group_of(family: str | None, level: int | None) -> str:
    return f"{family}@L{level}" if family and level is not None else ""


def group_of_id(problem_id: str) -> str:
    """A problem's group as a strategy can see it: a generated item's id names its family and level."""
    m = _GROUP_ID.match(problem_id)
    return group_of(m.group(1), int(m.group(2))) if m else ""


@dataclass(frozen=True)
class PoolArrays:
    """One model's pool over P problems of n samples: what the fit and the evaluation read."""

    labels: IntArray  # (P, n) answer ids per problem, -1 for no answer
    correct: BoolArray  # (P, n) the oracle's verdicts
    scores: FloatArray  # (P, n) mean token logprob, NaN where none
    tokens: FloatArray  # (P, n) completion tokens
    groups: tuple[str, ...]  # (P,) family@level, "" where none
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PairTable:
    """Per problem and probe pair: the pair's signals and each option's expected value and tokens."""

    agree: BoolArray  # (P, Q), Q = C(n, 2)
    logprob: FloatArray  # (P, Q), NaN: neither probe has a logprob
    values: FloatArray  # (P, Q, O)
    tokens: FloatArray  # (P, Q, O)
    options: tuple[str, ...]
    method: str
    n: int  # the pool's samples a problem

    def column(self, option: str) -> int:
        return self.options.index(option)


@lru_cache(maxsize=64)
def _subsets(m: int, r: int) -> IntArray:
    return np.array(list(itertools.combinations(range(m), r)), dtype=np.int64).reshape(-1, r)


def _vote(tallies: IntArray, right: BoolArray, probes: IntArray) -> float:
    """Mean credit of votes (rows: counts per answer group, the unanswered last) whose first two
    samples are the probes (`probes`: their count per group). As `sampling.vote` breaks a tie by
    first appearance: a probe's answer tied at the top wins (either probe first, equally likely);
    a tie among other answers goes to each alike (the rest come in random order): c/t."""
    voting = tallies[:, :-1]
    top = voting.max(axis=1, initial=0)[:, None]
    at_top = (voting == top) & (top > 0)
    ahead = at_top & (probes[:-1] > 0)
    c, t = (at_top & right).sum(axis=1), at_top.sum(axis=1)
    pc, pt = (ahead & right).sum(axis=1), ahead.sum(axis=1)
    credit = np.where(pt > 0, pc / np.maximum(pt, 1), np.where(t > 0, c / np.maximum(t, 1), 0.0))
    return float(credit.mean())


Cache = dict[tuple[object, ...], float]


@dataclass(frozen=True)
class _Votes:
    """One problem's probe pairs by what a vote depends on: the sizes of the answer groups in the
    pair and in the rest, and their verdicts (pairs and problems alike in those share a value)."""

    of: IntArray  # (Q,) each pair's class
    keys: list[tuple[object, ...]]
    pairs: list[IntArray]  # per class: the pair's count per group, the unanswered last
    rests: list[IntArray]
    right: BoolArray  # per answered group


def _vote_classes(labels: IntArray, correct: BoolArray, pa: IntArray, pb: IntArray) -> _Votes:
    answered = sorted({int(x) for x in labels if x >= 0})
    ids = [answered.index(int(x)) if x >= 0 else len(answered) for x in labels]
    width = len(answered) + 1
    right = np.array([bool(correct[[i == g for i in ids]].any()) for g in range(len(answered))], dtype=bool)
    counts = np.bincount(ids, minlength=width)
    local: dict[tuple[int, int], int] = {}
    votes = _Votes(np.empty(pa.size, dtype=np.int64), [], [], [], right)
    for q, (a, b) in enumerate(zip(pa.tolist(), pb.tolist(), strict=True)):
        ga, gb = sorted((ids[a], ids[b]))
        if (ga, gb) not in local:
            pair = np.bincount([ga, gb], minlength=width)
            rest = counts - pair
            groups = sorted(zip(pair[:-1].tolist(), rest[:-1].tolist(), right.tolist(), strict=True))
            local[(ga, gb)] = len(votes.keys)
            votes.keys.append((int(pair[-1]), int(rest[-1]), *groups))
            votes.pairs.append(pair)
            votes.rests.append(rest)
        votes.of[q] = local[(ga, gb)]
    return votes


def _vote_values(
    votes: _Votes, m: int, r: int, rng: np.random.Generator, cache: Cache
) -> tuple[FloatArray, bool]:
    """One problem's sc value per pair with r more samples drawn from the m others: exact where at
    most EXACT_LIMIT subsets exist, else Monte Carlo. Returns (values, exact)."""
    exact = r == 0 or math.comb(m, r) <= EXACT_LIMIT
    width = votes.right.size + 1
    values = np.empty(len(votes.keys))
    for c, (key, pair, rest) in enumerate(zip(votes.keys, votes.pairs, votes.rests, strict=True)):
        if (r, *key) not in cache:
            if r == 0:
                tallies = pair[None, :]
            elif exact:
                chosen = np.repeat(np.arange(width), rest)[_subsets(m, r)]
                rows = np.arange(chosen.shape[0])[:, None] * width
                tallies = np.bincount((chosen + rows).ravel(), minlength=chosen.shape[0] * width)
                tallies = tallies.reshape(chosen.shape[0], width) + pair
            else:
                tallies = rng.multivariate_hypergeometric(rest, r, size=DRAWS) + pair
            cache[(r, *key)] = _vote(tallies, votes.right, pair)
        values[c] = cache[(r, *key)]
    out: FloatArray = values[votes.of]
    return out, exact


def _best_values(
    scores: FloatArray, valid: BoolArray, correct: BoolArray, pa: IntArray, pb: IntArray, r: int
) -> FloatArray:
    """One problem's bon value per pair with r more samples, exact. Ranked by (answered, score):
    a probe wins a tie with the rest (it comes first, as in best-of-n), two tied probes are each
    first alike, and ties within the rest go to the lower pool index."""
    n = scores.size
    key = np.where(np.isnan(scores), -np.inf, scores)
    order = np.lexsort((np.arange(n), -key, ~valid))  # best first
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    # the rank at which each sample's tie group starts: the samples strictly better come before it
    same = (key[order][1:] == key[order][:-1]) & (valid[order][1:] == valid[order][:-1])
    start = np.maximum.accumulate(np.where(np.concatenate([[False], same]), 0, np.arange(n)))
    first = start[rank]
    better = np.minimum(rank[pa], rank[pb])  # the better probe's rank
    tied = first[pa] == first[pb]
    probe_right = np.where(tied, (correct[pa] * 1.0 + correct[pb]) / 2, correct[order[better]])
    if r == 0:
        return probe_right.astype(np.float64)
    m = n - 2
    weights = np.array([math.comb(m - 1 - j, r - 1) for j in range(m)], dtype=np.float64) / math.comb(m, r)
    # The rest's samples strictly above the better probe are exactly order[:first of it], ranked
    # 0, 1, ... within the rest; the rank-j one is the best of a uniform r-subset with weights[j].
    above = first[order[better]]
    beats = np.concatenate([[0.0], np.cumsum(weights * correct[order[:m]])])
    mass = np.concatenate([[0.0], np.cumsum(weights)])
    out: FloatArray = beats[above] + probe_right * (1.0 - mass[above])
    return out


def pair_table(pool: PoolArrays, options: Sequence[str], *, seed: int = 0) -> PairTable:
    """Every problem's probe pairs: their signals, and each option's value and tokens (exact for
    bon; for sc exact up to EXACT_LIMIT subsets, else Monte Carlo, seeded per problem)."""
    P, n = pool.labels.shape
    if n < 2:
        raise PonderError("the pool holds fewer than 2 samples a problem: a router needs 2 probes")
    pa, pb = (np.array(x, dtype=np.int64) for x in zip(*itertools.combinations(range(n), 2), strict=True))
    valid = pool.labels >= 0
    agree = valid[:, pa] & (pool.labels[:, pa] == pool.labels[:, pb])
    sa, sb = pool.scores[:, pa], pool.scores[:, pb]
    with np.errstate(invalid="ignore"):
        logprob = np.where(np.isnan(sa), sb, np.where(np.isnan(sb), sa, (sa + sb) / 2))
    values = np.empty((P, pa.size, len(options)))
    tokens = np.empty_like(values)
    exact, cache = True, Cache()
    for p in range(P):
        rng = np.random.default_rng([seed, p])
        scored = bool((valid[p] & ~np.isnan(pool.scores[p])).any())
        votes = _vote_classes(pool.labels[p], pool.correct[p], pa, pb)
        probe_tokens = pool.tokens[p, pa] + pool.tokens[p, pb]
        rest_mean = (pool.tokens[p].sum() - probe_tokens) / max(n - 2, 1)
        for o, option in enumerate(options):
            kind, k = parse_option(option)
            if kind == "bon" and scored:
                values[p, :, o] = _best_values(pool.scores[p], valid[p], pool.correct[p], pa, pb, k - 2)
            else:  # sc, or bon on a problem without logprobs: the vote, as bon falls back
                values[p, :, o], ok = _vote_values(votes, n - 2, k - 2, rng, cache)
                exact = exact and ok
            tokens[p, :, o] = probe_tokens + (k - 2) * rest_mean
    method = (
        "exact over every probe pair and subset"
        if exact
        else (f"every probe pair; votes over more than {EXACT_LIMIT} subsets by Monte Carlo ({DRAWS} draws)")
    )
    return PairTable(agree, logprob, values, tokens, tuple(options), method, n)


def pool_options(pool: PoolArrays) -> list[str]:
    n = pool.labels.shape[1]
    kinds = KINDS if bool(((pool.labels >= 0) & ~np.isnan(pool.scores)).any()) else ("sc",)
    return [f"{kind}@{k}" for kind in kinds for k in ladder(n)]


@dataclass(frozen=True)
class Applied:
    """A rule over a pool, each problem's value, tokens and samples averaged over its probe pairs."""

    values: FloatArray  # (P,)
    tokens: FloatArray  # (P,)
    samples: FloatArray  # (P,)
    choices: dict[str, float]  # option → share of the (problem, pair) cells


def bin_index(edges: Sequence[float], logprob: FloatArray) -> IntArray:
    index = np.searchsorted(np.asarray(edges, dtype=np.float64), logprob, side="right")
    return np.where(np.isnan(logprob), -1, index).astype(np.int64)


def needed(rule: Rule, n: int, cap: int | None = None) -> list[str]:
    """The options a rule may pick from a pool of n at no more than `cap` samples."""
    limit = n if cap is None else min(n, cap)
    return sorted({capped(o, limit) for o in (*rule.options, rule.default, *(b.option for b in rule.bins))})


def apply(rule: Rule, table: PairTable, groups: Sequence[str], cap: int | None = None) -> Applied:
    """The rule on every probe pair of every problem, at no more than `cap` samples."""
    limit = table.n if cap is None else min(cap, table.n)
    P, Q = table.agree.shape
    lp = bin_index(rule.edges, table.logprob)
    out = np.zeros((3, P, Q))
    choices: Counter[str] = Counter()
    for group in sorted(set(groups)):
        rows = np.array([g == group for g in groups])[:, None]
        for agree in (True, False):
            for b in np.unique(lp[rows[:, 0]]):
                mask = rows & (table.agree == agree) & (lp == b)
                if mask.any():
                    option = rule.option_of(group, agree, int(b), limit)
                    o = table.column(option)
                    out[0][mask] = table.values[..., o][mask]
                    out[1][mask] = table.tokens[..., o][mask]
                    out[2][mask] = parse_option(option)[1]
                    choices[option] += float(mask.sum()) / (P * Q)
    mean = out.mean(axis=2)
    return Applied(mean[0], mean[1], mean[2], dict(sorted(choices.items())))


def estimate_pool(
    rule: Rule, labels: IntArray, correct: BoolArray, scores: FloatArray, ks: Sequence[int], *, seed: int
) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    """A study's pooled estimate: (values, expected samples drawn), each (P, len(ks)), the rule at
    each budget k as a cap (k = 1: one sample, no probes). The study's pool has no groups: the
    rule's pooled (`*`) bins serve every problem."""
    P, n = labels.shape
    clean = np.where(np.isfinite(scores), scores, np.nan)
    pool = PoolArrays(labels, correct, clean, np.zeros((P, n)), (ANY,) * P)  # not "": a group of its own
    caps = [k for k in ks if k >= 2]
    options = sorted({o for k in caps for o in needed(rule, n, k)})
    table = pair_table(pool, options, seed=seed) if caps else None
    values, samples = np.empty((P, len(ks))), np.empty((P, len(ks)))
    for j, k in enumerate(ks):
        if table is None or k < 2:
            values[:, j], samples[:, j] = correct.mean(axis=1), 1.0
        else:
            routed = apply(rule, table, pool.groups, cap=k)
            values[:, j], samples[:, j] = routed.values, routed.samples
    info = {"router": rule.name, "method": table.method if table else "one sample", "groups": "none seen"}
    return values, samples, info


def _store(study_dir: Path | str) -> Any:
    from ponder.lab.study.store import StudyStore

    d = Path(study_dir)
    if not d.is_dir():
        raise PonderError(f"{d} is not a directory: give a study's --out directory")
    if not (d / STORE).is_file():
        raise PonderError(f"{d} holds no study ({STORE} is missing): run `ponder study --out {d}` first")
    return StudyStore(d / STORE, readonly=True)


def pool_models(study_dir: Path | str) -> list[str]:
    """The models with a chain-of-thought pool in a study."""
    store = _store(study_dir)
    try:
        rows = store.db.execute("SELECT DISTINCT model FROM requests WHERE kind = 'pool' ORDER BY model")
        return [str(r["model"]) for r in rows]
    finally:
        store.close()


def read_pool(study_dir: Path | str, model: str | None = None) -> tuple[PoolArrays, str]:
    """A study's chain-of-thought pool for one model (the only one, unless named), as arrays."""
    models = pool_models(study_dir)
    if not models:
        raise PonderError(f"{study_dir} holds no chain-of-thought pool: a study of sc or bon draws one")
    if model is None and len(models) > 1:
        raise PonderError(f"{study_dir} pools several models ({', '.join(models)}): name one with --model")
    if model is not None and model not in models:
        raise PonderError(f"{study_dir} has no pool of {model} (it has: {', '.join(models)})")
    model = model or models[0]
    store = _store(study_dir)
    try:
        rows = {
            r["problem_id"]: r["id"] for r in store.requests() if r["model"] == model and r["kind"] == "pool"
        }
        items = [item for item in store.problems() if item.id in rows]
        pools = [store.samples(rows[item.id]) for item in items]
    finally:
        store.close()
    n = min(len(p) for p in pools)
    P = len(pools)
    labels, correct = np.full((P, n), -1, dtype=np.int64), np.zeros((P, n), dtype=bool)
    scores, tokens = np.full((P, n), np.nan), np.zeros((P, n))
    for i, samples in enumerate(pools):
        ids: dict[str, int] = {}
        for j, s in enumerate(samples[:n]):
            if s.answer is not None:
                labels[i, j] = ids.setdefault(s.answer, len(ids))
            correct[i, j] = s.correct
            scores[i, j] = s.score if s.score is not None and math.isfinite(s.score) else np.nan
            tokens[i, j] = s.completion_tokens
    groups = tuple(group_of(item.family, item.level) for item in items)
    return PoolArrays(labels, correct, scores, tokens, groups, tuple(item.id for item in items)), model
