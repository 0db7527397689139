"""Residual based: the fitting server with the most room left for this
framework's task (largest residual gamma_{n,i}); ties to the lowest index.
This spreads a framework over the emptiest servers; it is the server choice
rPS-DSF makes implicitly.  Batched as water-filling in closed form."""
import numpy as np

from .base import Selection


class ResidualFit(Selection):
    name = "residual"
    summary = "server with the most residual room for the task (largest residual gamma)"

    def pick_one(self, n, fit, free=None) -> int:
        i = int(np.argmax(fit))
        return i if fit[i] > 0 else -1

    def place(self, n, count, fit, free):
        return water_fill(fit, count)


def water_level(room: np.ndarray, count: int) -> int:
    """Largest room left after `count` tasks taken task by task from the
    server with the most room: the smallest level L >= 0 with
    sum(max(room - L, 0)) <= count."""
    lo, hi = 0, int(room.max())
    while lo < hi:
        mid = (lo + hi) // 2
        if int(np.maximum(room - mid, 0).sum()) <= count:
            hi = mid
        else:
            lo = mid + 1
    return lo


def water_fill(fit: np.ndarray, count: int) -> np.ndarray:
    """Tasks per server when `count` tasks go one by one to the server with
    the most room (lowest index on ties), in closed form: every room above
    the water level L drops to L, and the remaining r tasks take one each
    from the lowest-indexed servers at L (r is below their number, or L
    would not be the smallest level)."""
    room = np.asarray(fit, dtype=np.int64)
    if int(room.sum()) <= count:
        return room.copy()
    level = water_level(room, count)
    placed = np.maximum(room - level, 0)
    rest = count - int(placed.sum())
    if rest > 0:
        placed[np.flatnonzero(room >= level)[:rest]] += 1
    return placed
