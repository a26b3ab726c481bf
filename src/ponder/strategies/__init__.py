"""Strategies: ways to spend more inference compute on one problem, named by spec strings."""

from ponder.strategies import best_of_n, self_consistency, single
from ponder.strategies.base import REGISTRY, Context, Strategy, build, samples_needed

__all__ = [
    "REGISTRY",
    "Context",
    "Strategy",
    "best_of_n",
    "build",
    "samples_needed",
    "self_consistency",
    "single",
]
