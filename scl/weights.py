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

from sharekit.fairness import nice_to_weight  # noqa: F401  (re-exported as scl.nice_to_weight)


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
