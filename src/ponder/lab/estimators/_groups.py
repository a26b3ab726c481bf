"""A vote's pool reduced to its answer groups, shared by majority@k and the adaptive vote.

Invariants:
- Each sample carries an answer id (label) and a correctness flag, shared by all samples with its
  label (a clash is refused); samples with no answer (label -1) do not vote, and their flag is
  ignored. Several labels may be correct (different spellings of one right answer).
- The estimate of a problem depends only on its answer-group counts (unanswered, and the multisets
  of the correct groups' sizes and of the wrong groups' sizes), so problems with the same counts are
  computed once and share one value; this also makes Monte Carlo results independent of label ids
  and sample order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ponder.lab.estimators._pool import BoolArray, IntArray


@dataclass(frozen=True)
class AnswerGroups:
    """Each problem reduced to what its majority@k depends on, deduplicated across problems."""

    right: IntArray  # (U, R) sizes of the correct answers' groups, descending, zero padded
    wrong: IntArray  # (U, W) sizes of the wrong answers' groups, descending, zero padded
    blank: IntArray  # (U,) samples with no answer
    inverse: IntArray  # (P,) which row of the above each problem is
    multiplicity: IntArray  # (U,) how many problems share the row


def group_answers(labels: IntArray, correct: BoolArray) -> AnswerGroups:
    problems, n = labels.shape
    order = np.argsort(labels, axis=1, kind="stable")
    ordered = np.take_along_axis(labels, order, axis=1)
    flags = np.take_along_axis(correct, order, axis=1)
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    clash = ~starts[:, 1:] & (flags[:, 1:] != flags[:, :-1]) & (ordered[:, 1:] >= 0)
    if clash.any():
        row, col = (int(x[0]) for x in np.nonzero(clash))
        raise ValueError(
            f"problem {row}: samples with answer id {int(ordered[row, col + 1])} disagree on whether "
            "they are correct; samples with one answer must share one correctness flag"
        )
    group = (np.cumsum(starts, axis=1) - 1).ravel()  # the run of equal labels each position belongs to
    rows = np.repeat(np.arange(problems), n)
    sizes = np.bincount(rows * n + group, minlength=problems * n).reshape(problems, n)
    label_of = np.full((problems, n), -2, dtype=np.int64)  # -2: an unused run slot
    label_of[rows, group] = ordered.ravel()
    right_of = np.zeros((problems, n), dtype=bool)
    right_of[rows, group] = flags.ravel()  # one flag per answered run (checked above)
    answered = label_of >= 0
    is_right = answered & right_of
    is_wrong = answered & ~right_of
    blank = np.where(label_of == -1, sizes, 0).sum(axis=1)
    right = -np.sort(-np.where(is_right, sizes, 0), axis=1)
    wrong = -np.sort(-np.where(is_wrong, sizes, 0), axis=1)
    right_width = max(1, int(is_right.sum(axis=1).max(initial=0)))
    wrong_width = max(1, int(is_wrong.sum(axis=1).max(initial=0)))
    key = np.concatenate([blank[:, None], right[:, :right_width], wrong[:, :wrong_width]], axis=1)
    unique, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    unique = unique.astype(np.int64)
    return AnswerGroups(
        right=unique[:, 1 : 1 + right_width],
        wrong=unique[:, 1 + right_width :],
        blank=unique[:, 0],
        inverse=inverse.reshape(-1).astype(np.int64),
        multiplicity=counts.astype(np.int64),
    )


def check_votes(
    labels: npt.ArrayLike, correct: npt.ArrayLike, draws: int
) -> tuple[npt.NDArray[np.int64], BoolArray]:
    """A vote's inputs, checked: answer ids (problems, n), −1 for none; their flags; draws ≥ 2."""
    votes = np.asarray(labels)
    flags = np.asarray(correct)
    if votes.ndim != 2 or votes.shape[1] == 0 or not np.issubdtype(votes.dtype, np.integer):
        raise ValueError("labels must be an integer array of shape (problems, n) with n ≥ 1")
    if flags.shape != votes.shape or flags.dtype != np.bool_:
        raise ValueError("correct must be a bool array of the same shape as labels, (problems, n)")
    if (votes < -1).any():
        raise ValueError("answer ids must be ≥ 0, or -1 for no answer")
    if draws < 2:
        raise ValueError("draws must be at least 2 (the error estimate needs a variance)")
    return votes, flags
