"""Best fit (`yuquanshan/mesos` DRFSorter::bestFitSlaves): the fitting server
whose normalised free shape a = free_i / C is closest in L1 to the demand shape
b = d / C, both scaled by their pivot component (the first resource the task
needs).  Ties go to the lowest server index.  Batched: after choosing server i
we compute its distance for every further task at once and keep placing there
until another server becomes strictly better (or equal with a lower index)."""
import numpy as np

from .base import Selection


def _distance(free_rows: np.ndarray, demand: np.ndarray, total: np.ndarray) -> np.ndarray:
    pivot = int(np.flatnonzero(demand > 0)[0])
    a = free_rows / total
    b = demand / total
    with np.errstate(divide="ignore", invalid="ignore"):
        shape_a = a / a[..., pivot:pivot + 1]
    return np.abs(shape_a - b / b[pivot]).sum(axis=-1)


# Up to this many tasks the distances after every task are computed in one
# vector; beyond it by bisection, so the cost does not grow with the count.
_VECTOR_MAX = 4096


def _still_best(di, i, j, dj):
    return (di < dj - 1e-12) | ((np.abs(di - dj) <= 1e-12) & (i < j))


def _stay(i, j, dj, free_rows, d, total, limit) -> int:
    """Tasks placed on i before runner-up j (distance dj) becomes better."""
    still = _still_best(_distance(free_rows, d, total), i, j, dj)
    still[0] = True
    return int(np.argmin(still)) if not still.all() else limit


def _stay_bisect(i, j, dj, free_i, d, total, limit) -> int:
    """`_stay` for huge counts.  After k tasks every component of i's shape
    deviation is a constant over the pivot's remaining free amount, so the
    distance only grows with k and "i still best" is true then false."""
    lo, hi = 1, limit  # first k in [1, limit) where i is no longer best, else limit
    while lo < hi:
        mid = (lo + hi) // 2
        if _still_best(_distance((free_i - mid * d)[None, :], d, total), i, j, dj)[0]:
            lo = mid + 1
        else:
            hi = mid
    return lo


class BestFit(Selection):
    name = "bestfit"
    summary = "best fit: fitting server whose free shape is closest (L1) to the demand shape"

    def pick_one(self, n, fit, free) -> int:
        """One task: the fitting server with the smallest distance (lowest index on ties)."""
        cand = np.flatnonzero(fit)
        if len(cand) == 0:
            return -1
        return int(cand[np.argmin(_distance(free[cand], self.problem.demand[n], self.problem.total))])

    def place(self, n, count, fit, free):
        p = self.problem
        d = p.demand[n]
        placed = np.zeros(len(fit), dtype=np.int64)
        room = fit.copy()
        cand = np.flatnonzero(room > 0)
        dist = np.full(len(fit), np.inf)
        dist[cand] = _distance(free[cand], d, p.total)
        while count > 0 and np.isfinite(dist).any():
            i = int(np.argmin(dist))
            others = dist.copy()
            others[i] = np.inf
            j = int(np.argmin(others))
            limit = min(count, int(room[i]))
            if not np.isfinite(others[j]):
                k = limit
            elif limit <= _VECTOR_MAX:
                ks = np.arange(limit)
                k = _stay(i, j, others[j], free[i] - ks[:, None] * d[None, :], d, p.total, limit)
            else:
                k = _stay_bisect(i, j, others[j], free[i], d, p.total, limit)
            placed[i] += k
            room[i] -= k
            count -= k
            free = free.copy() if k else free
            free[i] = free[i] - k * d
            dist[i] = _distance(free[i][None, :], d, p.total)[0] if room[i] > 0 else np.inf
        return placed
