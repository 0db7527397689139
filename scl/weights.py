"""Thread weights: the CFS nice table and per-thread explicit weights.

A lock created with `weight_source="explicit"` reads the weight the calling
thread set with `set_thread_weight`; threads that set none fall back to the
CFS weight of their nice value.  Weights are per OS thread, and each Python
thread is one OS thread.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator

# The kernel's sched_prio_to_weight[], nice -20 .. 19.  Kept in Python so the
# benchmark can weight its results without loading the C extension; a test
# checks it against scl_nice_to_weight().
CFS_WEIGHTS = (
    88761, 71755, 56483, 46273, 36291,
    29154, 23254, 18705, 14949, 11916,
    9548, 7620, 6100, 4904, 3906,
    3121, 2501, 1991, 1586, 1277,
    1024, 820, 655, 526, 423,
    335, 272, 215, 172, 137,
    110, 87, 70, 56, 45,
    36, 29, 23, 18, 15,
)


def cfs_weight(nice: int) -> int:
    """CFS weight of a nice value, from the table above (no C needed)."""
    if not isinstance(nice, int) or not -20 <= nice <= 19:
        raise ValueError(f"nice value must be an integer in [-20, 19], got {nice!r}")
    return CFS_WEIGHTS[nice + 20]


def nice_to_weight(nice: int) -> int:
    """The C library's CFS weight for `nice` (1024 at nice 0)."""
    from scl._lib import lib
    if not isinstance(nice, int) or isinstance(nice, bool):
        raise ValueError(f"nice value must be an integer, got {nice!r}")
    weight = lib.scl_nice_to_weight(nice) if -20 <= nice <= 19 else 0
    if weight == 0:
        raise ValueError(f"nice value must be in [-20, 19], got {nice}")
    return int(weight)


def _validated(weight: float) -> float:
    try:
        w = float(weight)
    except (TypeError, ValueError):
        raise ValueError(f"thread weight must be a number, got {weight!r}") from None
    if not math.isfinite(w) or w <= 0:
        raise ValueError(f"thread weight must be finite and > 0, got {weight!r}")
    return w


def set_thread_weight(weight: float) -> None:
    """Give the calling thread an explicit lock weight (> 0, finite)."""
    from scl._lib import lib
    from scl.errors import check
    check(lib.scl_thread_set_weight(_validated(weight)), "scl_thread_set_weight")


def clear_thread_weight() -> None:
    """Drop the calling thread's explicit weight (back to its nice weight)."""
    from scl._lib import lib
    from scl.errors import check
    check(lib.scl_thread_set_weight(0.0), "scl_thread_set_weight")


def get_thread_weight() -> float | None:
    """The calling thread's explicit weight, or None when it set none."""
    from scl._lib import lib
    w = float(lib.scl_thread_get_weight())
    return w if w > 0 else None


@contextmanager
def thread_weight(weight: float) -> Iterator[float]:
    """Run a block with an explicit thread weight, then restore the old one."""
    w = _validated(weight)
    previous = get_thread_weight()
    set_thread_weight(w)
    try:
        yield w
    finally:
        if previous is None:
            clear_thread_weight()
        else:
            set_thread_weight(previous)
