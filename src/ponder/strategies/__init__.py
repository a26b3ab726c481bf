"""Strategies: ways to spend more inference compute on one problem, named by spec strings."""

from ponder.strategies import (
    adaptive,
    best_of_n,
    execution,
    program,
    repair,
    revise,
    search,
    self_consistency,
    single,
    think,
    verify,
    vote,
    weighted,
)
from ponder.strategies.base import (
    REGISTRY,
    Bound,
    Context,
    Strategy,
    StrategyInfo,
    build,
    check_roles,
    info_of,
    load_plugins,
    register,
    samples_needed,
)
from ponder.strategies.pooling import POOL_ESTIMATORS, Pooling

DEFAULT_STRATEGIES = ("cot", "sc", "bon", "coverage")  # a study's strategies unless told otherwise

__all__ = [
    "DEFAULT_STRATEGIES",
    "POOL_ESTIMATORS",
    "REGISTRY",
    "Bound",
    "Context",
    "Pooling",
    "Strategy",
    "StrategyInfo",
    "adaptive",
    "best_of_n",
    "build",
    "check_roles",
    "execution",
    "info_of",
    "load_plugins",
    "program",
    "register",
    "repair",
    "revise",
    "samples_needed",
    "search",
    "self_consistency",
    "single",
    "think",
    "verify",
    "vote",
    "weighted",
]
