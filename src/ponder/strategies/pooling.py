"""How a study derives a strategy from one pool of samples per problem, as the strategy declares it.

A pooled strategy at budget k is estimated from a pool of n ≥ k samples (ARCHITECTURE.md's first
measurement rule), not run at every k. What it declares (`StrategyInfo.pooling(spec)`):
- `pool`: which pool: the name of its prompt in `POOL_PROMPTS` (`cot`: the chain-of-thought prompt
  at the study's temperature); a strategy whose samples need another prompt registers its own pool;
- `logprobs`: whether the pool must carry token logprobs (best-of-n by logprob only);
- `estimate(view, ks)`: its value per problem at each k, from the pool's answers, scores and the
  oracle's verdicts (an eval-time function: it sees correctness, as an estimator must; the strategy
  that runs at test time never does);
- `selection`: False for an estimator where the oracle picks (coverage), not the model.
The study never tests a strategy's name: it asks `pooling`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ponder.strategies import prompts

if TYPE_CHECKING:
    import numpy as np

POOL_PROMPTS: dict[str, str] = {"cot": prompts.COT}


def pool_kind(pool: str) -> str:
    """A study's stored request kind for a pool (the chain-of-thought pool keeps its first name)."""
    return "pool" if pool == "cot" else f"pool:{pool}"


def timing_prefix(pool: str) -> str:
    """The prefix of a pool's timing requests' kinds: `timing:k`, or `timing:NAME:k`."""
    return "timing:" if pool == "cot" else f"timing:{pool}:"


def register_pool(name: str, style: str) -> None:
    """A pool of its own for strategies whose samples use another prompt (program of thought)."""
    POOL_PROMPTS[name] = style


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


Estimator = Callable[[PoolView, Sequence[int]], Estimate]


@dataclass(frozen=True)
class Pooling:
    estimate: Estimator
    pool: str = "cot"
    logprobs: bool = False
    selection: bool = True


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
    """The exact expected correctness of the best-scored sample of a k-subset; where no sample has a
    score (no logprobs), the vote, as best-of-n itself falls back at run time (`scorers.py`)."""
    import numpy as np

    from ponder.lab import estimators as est

    if not np.isfinite(view.scores).any():
        return majority(view, ks)
    return Estimate(est.best_of_k_curve(view.scores, view.correct, ks, valid=view.valid))


def coverage(view: PoolView, ks: Sequence[int]) -> Estimate:
    """pass@k (Chen et al. 2021): the chance that a k-subset holds a correct sample."""
    from ponder.lab import estimators as est

    return Estimate(est.pass_at_k_curve(view.correct, ks))


# Estimators of a pool that are not strategies: named in a study's strategies like one.
POOL_ESTIMATORS: dict[str, Pooling] = {"coverage": Pooling(coverage, selection=False)}
