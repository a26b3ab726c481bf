"""What every estimator shares: one pool of n samples per problem, and budgets 1 ≤ k ≤ n.

Invariant: 1 ≤ k ≤ n for every budget; the pool size n is shared by all problems (arrays are
(problems, n)).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

CHUNK_ELEMENTS = 2_000_000  # bounds the temporary arrays of the enumeration


def check_budgets(ks: Sequence[int], n: int) -> list[int]:
    out = [int(k) for k in ks]
    for k in out:
        if not 1 <= k <= n:
            raise ValueError(f"budget k={k} is outside 1..n={n}")
    return out
