"""The two measures every layer of the kit shares: CFS weights and Jain's index.

One Python home for both.  The C library keeps its own copy of the weight
table (native/src/weight.c: C cannot import this), and a test checks that the
two agree entry by entry.
"""
from __future__ import annotations

import math
from typing import Iterable

# The kernel's sched_prio_to_weight[], nice -20 .. 19: 1024 at nice 0, each
# step about 1.25x, so one nice level is about 10% of CPU between two tasks.
NICE_WEIGHTS = (
    88761, 71755, 56483, 46273, 36291,
    29154, 23254, 18705, 14949, 11916,
    9548, 7620, 6100, 4904, 3906,
    3121, 2501, 1991, 1586, 1277,
    1024, 820, 655, 526, 423,
    335, 272, 215, 172, 137,
    110, 87, 70, 56, 45,
    36, 29, 23, 18, 15,
)


def nice_to_weight(nice: int) -> int:
    """CFS weight of a nice value in [-20, 19]; ValueError otherwise."""
    if not isinstance(nice, int) or isinstance(nice, bool) or not -20 <= nice <= 19:
        raise ValueError(f"nice value must be an integer in [-20, 19], got {nice!r}")
    return NICE_WEIGHTS[nice + 20]


def jain(values: Iterable[float], weights: Iterable[float] | None = None) -> float:
    """Jain's index (sum x)^2 / (n sum x^2) of x_i = values[i] / weights[i].

    With weights, 1.0 means every party got an amount proportional to its
    weight.  No values, or all zero, count as perfectly fair (1.0).
    """
    xs = [float(v) for v in values]
    if weights is not None:
        ws = [float(w) for w in weights]
        if len(ws) != len(xs):
            raise ValueError(f"{len(xs)} values but {len(ws)} weights")
        if any(not math.isfinite(w) or w <= 0 for w in ws):
            raise ValueError("weights must be finite and > 0")
        xs = [x / w for x, w in zip(xs, ws)]
    squares = sum(x * x for x in xs)
    if not xs or squares == 0:
        return 1.0
    return sum(xs) ** 2 / (len(xs) * squares)


__all__ = ["NICE_WEIGHTS", "nice_to_weight", "jain"]
