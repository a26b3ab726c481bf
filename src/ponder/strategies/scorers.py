"""Test-time scorers for best-of-n: they see the candidates, never the gold answer.

- `logprob`: the mean token logprob of each sample (the model's own confidence);
- `vote`: the share of samples whose extracted answer equals this one's.
A scorer returns one score per sample, or None where it cannot score (no logprobs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from ponder.types import Sample

Scorer = Callable[[Sequence[Sample], Sequence[str | None]], list[float] | None]


def logprob_scores(samples: Sequence[Sample], answers: Sequence[str | None]) -> list[float] | None:
    """Mean token logprobs; None when the backend gave none (an empty sample alone scores −inf)."""
    scores = [s.mean_logprob for s in samples]
    if all(x is None for x in scores):
        return None
    return [float(x) if x is not None else float("-inf") for x in scores]


def vote_scores(samples: Sequence[Sample], answers: Sequence[str | None]) -> list[float]:
    counts = Counter(a for a in answers if a is not None)
    total = len(answers)
    return [counts[a] / total if a is not None else 0.0 for a in answers]


SCORERS: dict[str, Scorer] = {"logprob": logprob_scores, "vote": vote_scores}
