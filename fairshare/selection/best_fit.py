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
            ks = np.arange(limit)
            di = _distance(free[i][None, :] - ks[:, None] * d[None, :], d, p.total)
            if np.isfinite(others[j]):
                still = (di < others[j] - 1e-12) | ((np.abs(di - others[j]) <= 1e-12) & (i < j))
                still[0] = True
                k = int(np.argmin(still)) if not still.all() else limit
            else:
                k = limit
            placed[i] += k
            room[i] -= k
            count -= k
            free = free.copy() if k else free
            free[i] = free[i] - k * d
            dist[i] = _distance(free[i][None, :], d, p.total)[0] if room[i] > 0 else np.inf
        return placed
