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


def _distance_all(free_rows: np.ndarray, total: np.ndarray, pivot: np.ndarray, shape_b: np.ndarray) -> np.ndarray:
    """`_distance` of every server in free_rows to every framework at once:
    result[s, n], with framework n's pivot and scaled demand shape."""
    a = free_rows / total                                   # servers x R
    shape_a = a[:, None, :] / a[:, pivot][:, :, None]       # servers x frameworks x R
    return np.abs(shape_a - shape_b[None, :, :]).sum(axis=-1)


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

    # Single tasks are picked from a maintained distance matrix (servers x
    # frameworks, inf where the task does not fit): a placement on server i
    # changes only row i, recomputed for every framework at once; each
    # framework's own contiguous copy is synced from the servers changed
    # since it last looked (FillState.changed_since), then one argmin over
    # it is the pick.  Distances use the arithmetic of `_distance` term by
    # term, so picks are the ones `pick_one` makes.
    def begin_fill(self, state) -> None:
        p = self.problem
        d = p.demand
        self._pivot = np.argmax(d > 0, axis=1)
        b = d / p.total
        self._shape_b = b / b[np.arange(len(b)), self._pivot][:, None]
        self._state = state
        self._cols = np.empty((p.n_servers, p.n_frameworks))
        step = max(1, 2_000_000 // (p.n_frameworks * len(p.total)))  # bounded 3-D temporaries
        with np.errstate(divide="ignore", invalid="ignore"):
            for a in range(0, p.n_servers, step):
                part = _distance_all(state.free[a:a + step], p.total, self._pivot, self._shape_b)
                self._cols[a:a + step] = np.where(state.cols[a:a + step] > 0, part, np.inf)
        self._rows = np.ascontiguousarray(self._cols.T)
        self._seen = state.clock  # servers changed up to here are in _cols
        self._synced = np.full(p.n_frameworks, state.clock, dtype=np.int64)

    def pick_one_state(self, n, state) -> int:
        if getattr(self, "_state", None) is not state:
            self.begin_fill(state)
        clock = state.clock
        if self._seen < clock:
            p = self.problem
            changed = state.changed_since(self._seen)
            with np.errstate(divide="ignore", invalid="ignore"):
                for i in (changed.tolist() if len(changed) == 1 else np.unique(changed).tolist()):
                    a = state.free[i] / p.total
                    row = np.abs(a[None, :] / a[self._pivot][:, None] - self._shape_b).sum(axis=-1)
                    row[state.col(i) <= 0] = np.inf
                    self._cols[i] = row
            self._seen = clock
        start = self._synced[n]
        if start < clock:
            touched = state.changed_since(start)
            self._rows[n, touched] = self._cols[touched, n]
            self._synced[n] = clock
        row = self._rows[n]
        i = int(row.argmin())
        return i if row[i] != np.inf else -1

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
