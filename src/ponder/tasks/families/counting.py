"""`counting`: lattice paths on a grid with waypoints and blocked points.

Count the paths from (0, 0) to (w, h) moving one unit right or up at a time, that pass through every
waypoint and avoid every blocked point. Level L: L constraints (waypoints and blocked points), and a
grid that grows with L. The count is exact (dynamic programming over the grid).

The item space is smallest at level 1 (a few thousand grids and single constraints): the splits and
seeds there overlap more than at higher levels, as `space` says. Grids start up to 8 × 8 at level 1,
so that two seeds' first items at level 2 rarely meet.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

from ponder.tasks.base import NUMBER_INSTRUCTION, Content
from ponder.tasks.families.common import check_integer, out_of_reach

Point = tuple[int, int]


def count_paths(w: int, h: int, waypoints: set[Point], blocked: set[Point]) -> int:
    """Monotone paths (0,0)→(w,h) through all waypoints, avoiding blocked points."""
    # A monotone path visits waypoints in the order of their coordinates: count segment by segment.
    stops = [(0, 0), *sorted(waypoints), (w, h)]
    if any(y1 < y0 for (_, y0), (_, y1) in itertools.pairwise(stops)):
        return 0  # sorted by x first, the stops are a chain unless y goes down somewhere
    total = 1
    for (x0, y0), (x1, y1) in itertools.pairwise(stops):
        # ways[j]: paths to (x, y0 + j), one column x at a time; before the update it holds column x − 1
        ways = [0] * (y1 - y0 + 1)
        for x in range(x0, x1 + 1):
            for j in range(len(ways)):
                if x == x0 and j == 0:
                    ways[j] = 1
                elif (x, y0 + j) in blocked:
                    ways[j] = 0
                elif j:
                    ways[j] += ways[j - 1]
        total *= ways[-1]
    return total


class Counting:
    name = "counting"
    description = "lattice paths on a grid through waypoints and around blocked points"
    instruction = NUMBER_INSTRUCTION
    answer_format = "number"

    def generate(self, rng: random.Random, level: int) -> Content:
        top = 7 + level
        # Waypoints are rarely a chain when there are many, so high levels draw often: a draw costs
        # only its sample until the chain check passes (the sample is of indices into the grid's
        # inner points, column by column, the same draw as sampling the points themselves).
        draws = 1000 + 20 * level
        for _ in range(draws):
            w, h = rng.randint(2, top), rng.randint(2, top)
            indices = rng.sample(range(1, (w + 1) * (h + 1) - 1), min(level, (w + 1) * (h + 1) - 2))
            chosen = [(i // (h + 1), i % (h + 1)) for i in indices]
            n_way = rng.randint(0, len(chosen))
            waypoints, blocked = set(chosen[:n_way]), set(chosen[n_way:])
            count = count_paths(w, h, waypoints, blocked)
            if count > 0:
                break
        else:
            raise out_of_reach(self.name, level, f"{draws} draws made no grid with a path through it")
        parts = [
            f"On a grid, a path goes from (0, 0) to ({w}, {h}), each move one unit right or one unit up."
        ]
        if waypoints:
            parts.append("It must pass through " + ", ".join(map(str, sorted(waypoints))) + ".")
        if blocked:
            parts.append("It must avoid " + ", ".join(map(str, sorted(blocked))) + ".")
        parts.append("How many such paths are there?")
        structure = {"constraints": len(chosen), "grid": w + h, "grid_max": 2 * top}
        return Content(" ".join(parts), str(count), structure)

    def check(self, gold: str, pred: str | None, data: dict[str, Any]) -> bool:
        return check_integer(gold, pred)

    def space(self, level: int) -> int:
        # A grid is drawn first, then its constrained points, then which of them are waypoints; two
        # items collide with probability q = Σ_grid (1/grids)² / (items on that grid), dominated by
        # the smallest grids, and 1/q is the number of equally likely items that would collide as
        # often. Grids without a path make it smaller still: this errs high by about 1.5.
        sizes = range(2, 7 + level + 1)
        q = 0.0
        for w in sizes:
            for h in sizes:
                inner = (w + 1) * (h + 1) - 2
                k = min(level, inner)
                log_items = math.lgamma(inner + 1) - math.lgamma(k + 1) - math.lgamma(inner - k + 1)
                q += math.exp(-log_items - math.log(k + 1))
        q /= len(sizes) ** 4
        return int(min(1 / q, 1e18))
