"""`counting`: lattice paths on a grid with waypoints and blocked points.

Count the paths from (0, 0) to (w, h) moving one unit right or up at a time, that pass through every
waypoint and avoid every blocked point. Level L: L constraints (waypoints and blocked points), and a
grid that grows with L. The count is exact (dynamic programming over the grid).

The item space is small at level 1 (a few thousand grids and single constraints): the splits and
seeds there overlap more than at higher levels, as `space` says.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from ponder.tasks.base import NUMBER_INSTRUCTION, Content
from ponder.tasks.families.common import check_integer

Point = tuple[int, int]


def count_paths(w: int, h: int, waypoints: set[Point], blocked: set[Point]) -> int:
    """Monotone paths (0,0)→(w,h) through all waypoints, avoiding blocked points."""
    # A monotone path visits waypoints in the order of their coordinates: count segment by segment.
    stops = [(0, 0), *sorted(waypoints), (w, h)]
    total = 1
    for (x0, y0), (x1, y1) in itertools.pairwise(stops):
        if x1 < x0 or y1 < y0:
            return 0
        ways = {(x0, y0): 1}
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                if (x, y) == (x0, y0):
                    continue
                if (x, y) in blocked:
                    ways[(x, y)] = 0
                    continue
                ways[(x, y)] = ways.get((x - 1, y), 0) + ways.get((x, y - 1), 0)
        total *= ways[(x1, y1)]
    return total


class Counting:
    name = "counting"
    description = "lattice paths on a grid through waypoints and around blocked points"
    instruction = NUMBER_INSTRUCTION
    answer_format = "number"

    def generate(self, rng: random.Random, level: int) -> Content:
        top = 3 + level
        while True:
            w, h = rng.randint(2, top), rng.randint(2, top)
            inner = [(x, y) for x in range(w + 1) for y in range(h + 1) if (x, y) not in ((0, 0), (w, h))]
            chosen = rng.sample(inner, min(level, len(inner)))
            n_way = rng.randint(0, len(chosen))
            waypoints, blocked = set(chosen[:n_way]), set(chosen[n_way:])
            count = count_paths(w, h, waypoints, blocked)
            if count > 0:
                break
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
        # grids × choices of `level` constrained points × waypoint/blocked splits, roughly
        top = 3 + level
        cells = (top + 1) ** 2
        ways = 1
        for i in range(min(level, cells)):
            ways = ways * (cells - i) // (i + 1)
        return (top - 1) ** 2 * ways * (level + 1) // 4
