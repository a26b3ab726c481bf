"""How a study derives a strategy from one pool of samples per problem, as the strategy declares it.

A pooled strategy at budget k is estimated from a pool of n ≥ k samples (ARCHITECTURE.md's first
measurement rule), not run at every k. What it declares (`StrategyInfo.pooling(spec)`):
- `pool`: which pool: the name of its prompt in `POOL_PROMPTS` (`cot`: the chain-of-thought prompt
  at the study's temperature); a strategy whose samples need another prompt registers its own pool;
- `logprobs`: whether the pool must carry token logprobs (best-of-n by logprob only);
- `estimate(view, ks)`: its value per problem at each k, from the pool's answers, scores and the
  oracle's verdicts (an eval-time function: it sees correctness, as an estimator must; the strategy
  that runs at test time never does);
- `selection`: False for an estimator where the oracle picks (coverage), not the model;
- `scorer`: the scoring pass (`SCORE_PASSES`) whose per-sample scores the estimator reads in place of
  the pool's own (a verifier's P(yes), execution's clusters); the study runs it once per problem
  over the whole pool (a `score:NAME` request) and charges it per sample scored.
The study never tests a strategy's name: it asks `pooling`.

A pool's prompt may come with its own way to read an answer off a sample (`PoolPrompt.answer`: a
program of thought's answer is what the program prints, found by running it); every other pool
extracts the answer from the text. A scoring pass is the same function a strategy calls at run time
(`bon@8:scorer=verify` and the study's `score:verify` request both call `SCORE_PASSES["verify"]`), so
what the study measures is what the strategy does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ponder.strategies import prompts

if TYPE_CHECKING:
    import numpy as np

    from ponder.strategies.base import Context
    from ponder.types import Candidate, Problem, Sample

# Reads a sample's answer where the text alone does not hold it (runs a program): tool calls go
# through `ctx`, and it never sees the gold answer.
PoolAnswer = Callable[["Problem", "Sample", "Context"], Awaitable["str | None"]]


@dataclass(frozen=True)
class PoolPrompt:
    style: prompts.Style
    answer: PoolAnswer | None = None  # None: extract the answer from the text


POOL_PROMPTS: dict[str, PoolPrompt] = {"cot": PoolPrompt(prompts.COT)}


def pool_kind(pool: str) -> str:
    """A study's stored request kind for a pool (the chain-of-thought pool keeps its first name)."""
    return "pool" if pool == "cot" else f"pool:{pool}"


def timing_prefix(pool: str) -> str:
    """The prefix of a pool's timing requests' kinds: `timing:k`, or `timing:NAME:k`."""
    return "timing:" if pool == "cot" else f"timing:{pool}:"


def register_pool(name: str, style: prompts.Style, answer: PoolAnswer | None = None) -> None:
    """A pool of its own for strategies whose samples use another prompt (program of thought), and
    how its answers are read where not from the text."""
    POOL_PROMPTS[name] = PoolPrompt(style, answer)


@dataclass(frozen=True)
class Scored:
    """A scoring pass's verdict on a list of candidates, one entry per candidate.

    - `scores`: higher is better; −inf where a candidate could not be scored;
    - `method`: how the scores were found, for the result and the summary ("P(yes) from the judge's
      token logprobs", "a 0-10 grade parsed from the judge's reply (no logprobs)");
    - `groups`: where the pass also says which candidates behave alike (execution on the same
      inputs), the key each candidate votes under instead of its extracted answer; None for no group;
    - `details`: what the pass found per candidate beyond its score, JSON-able (a rubric judge's
      score per criterion, a pairwise judge's preferences), which a study stores; None: nothing.
    """

    scores: list[float]
    method: str
    groups: list[str | None] | None = None
    notes: list[str] = field(default_factory=list)
    details: list[dict[str, Any] | None] | None = None


ScorePass = Callable[["Problem", "Sequence[Candidate]", "Context"], Awaitable[Scored]]


@dataclass(frozen=True)
class ScorePassInfo:
    """A registered scoring pass: the function, the roles whose models it calls, and the roles whose
    calls are made once per problem whatever the number of candidates (a proposer writing test
    inputs), which the study charges whole at every budget; every other call is charged per sample.
    `runs_code`: whether it runs model-written code, as `StrategyInfo.runs_code` (None: undeclared,
    treated as True by `ponder serve`)."""

    name: str
    run: ScorePass
    roles: tuple[str, ...] = ("judge",)
    per_problem_roles: tuple[str, ...] = ()
    runs_code: bool | None = None


SCORE_PASSES: dict[str, ScorePassInfo] = {}


def register_score_pass(info: ScorePassInfo) -> ScorePassInfo:
    SCORE_PASSES[info.name] = info
    return info


def score_kind(name: str, pool: str) -> str:
    """A study's stored request kind for a scoring pass over a pool: `score:NAME` (`:POOL` beyond cot)."""
    return f"score:{name}" if pool == "cot" else f"score:{name}:{pool}"


def run_judge_kind(judge: str, run: str) -> str:
    """A study's stored kind for a judge's reading of a run's final answer: `score:rubric@run:SPEC`."""
    return f"score:{judge}@{run}"


@dataclass(frozen=True)
class PoolView:
    """One model's pool over the study's problems, as estimators read it."""

    correct: np.ndarray  # (P, n) bool: the oracle's verdict on each sample
    labels: np.ndarray  # (P, n) int: answer groups, -1 for no answer
    scores: np.ndarray  # (P, n) float: the sample's test-time score, -inf where unscored
    valid: np.ndarray  # (P, n) bool: the sample has an answer
    seed: int  # for estimators that subsample (Monte Carlo beyond exact enumeration)


@dataclass(frozen=True)
class Estimate:
    values: np.ndarray  # (P, len(ks)), each in [0, 1]
    info: dict[str, Any] = field(default_factory=dict)  # how it was computed, for the summary
    # (P, len(ks)): the expected samples drawn at each budget where a strategy may stop early
    # (adaptive sampling); None: every budget k draws k. The study charges compute by these.
    samples: np.ndarray | None = None


Estimator = Callable[[PoolView, Sequence[int]], Estimate]


@dataclass(frozen=True)
class Pooling:
    estimate: Estimator
    pool: str = "cot"
    logprobs: bool = False
    selection: bool = True
    scorer: str | None = None


def majority(view: PoolView, ks: Sequence[int]) -> Estimate:
    """maj@k: the expected majority vote over k-subsets of the pool."""
    from ponder.lab import estimators as est

    curve = est.majority_curve(view.labels, view.correct, ks, seed=view.seed)
    info = {
        "methods": dict(zip(map(str, ks), curve.method, strict=True)),
        "mc_error": dict(zip(map(str, ks), map(float, curve.mc_error), strict=True)),
    }
    return Estimate(curve.values, info)


def best_scored(view: PoolView, ks: Sequence[int]) -> Estimate:
    """The exact expected correctness of the best-scored sample of a k-subset; on a problem where no
    answered sample has a score (no logprobs, a judge that said nothing usable), the vote, as
    best-of-n itself falls back at run time (`scorers.score`)."""
    import numpy as np

    from ponder.lab import estimators as est

    unscored = ~(np.isfinite(view.scores) & view.valid).any(axis=1)
    if unscored.all():
        return majority(view, ks)
    values = est.best_of_k_curve(view.scores, view.correct, ks, valid=view.valid)
    if unscored.any():  # a problem whose answered samples have no score: the vote, per problem
        voted = majority(view, ks)
        values = np.where(unscored[:, None], voted.values, values)
        return Estimate(values, {**voted.info, "voted_problems": int(unscored.sum())})
    return Estimate(values)


def coverage(view: PoolView, ks: Sequence[int]) -> Estimate:
    """pass@k (Chen et al. 2021): the chance that a k-subset holds a correct sample."""
    from ponder.lab import estimators as est

    return Estimate(est.pass_at_k_curve(view.correct, ks))


def scored_by(scorer: str, estimate: Estimator) -> Pooling:
    """How a strategy with a `scorer` key reads the pool: `logprob` from the pool's own logprobs,
    `vote` from its answers alone, any other from that scoring pass over it."""
    if scorer == "logprob":
        return Pooling(estimate, logprobs=True)
    if scorer == "vote":
        return Pooling(estimate)
    return Pooling(estimate, scorer=scorer)


# Estimators of a pool that are not strategies: named in a study's strategies like one.
POOL_ESTIMATORS: dict[str, Pooling] = {"coverage": Pooling(coverage, selection=False)}
