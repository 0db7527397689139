"""Uniformly random fitting server for every task (the DRF/TSF rows of the
worked examples).

Draws use Python's `random.Random(seed)`: one `choice` per task over the
fitting servers in index order, which is the procedure docs/fairshare-notes.md §5
specifies, so the seeded results reproduce its tables.  The share bookkeeping
around it is batched; only the per-task draw is inherent to the rule."""
import random

import numpy as np

from .base import Selection


class RandomFit(Selection):
    name = "random"
    summary = "uniformly random eligible server that fits, per task"
    # Above 2,000 servers single tasks are drawn by rejection sampling
    # (`pick_one_state`): same distribution, different random stream.
    state_pick_min_servers = 2001

    def __init__(self, problem, rng, seed: int = 0):
        super().__init__(problem, rng)
        self.py_rng = random.Random(seed)
        self._cand: dict[int, list] = {}
        # Sorted servers outside which no framework of this fill fits one
        # task, and the same as a set (None: unknown); see `fits_only_on`.
        self.within: np.ndarray | None = None
        self._within_set: set[int] | None = None

    def fits_only_on(self, servers: np.ndarray) -> None:
        """Tell the rule that during this fill no framework fits one task
        outside `servers` (sorted), as after a fill in which everyone ended
        fitting nowhere and an event that freed or offers only these servers
        (the re-allocator).  Draws elsewhere then miss without a capacity
        check and candidate lists are rebuilt from these servers alone: the
        same misses, lists and draws, at a cost independent of cluster size.
        The claim rests on "fits" meaning one thing; the fit tests differ in
        their 1e-9 tolerance (absolute in `fits_one` and `fits_any`, relative
        in `fit_row`), so a server whose free amount lies in that sliver can
        count as full for one and fitting for another: the same assumption
        the re-allocator's candidate filter already makes."""
        self.within = np.asarray(servers)
        self._within_set = set(self.within.tolist())

    def pick_one_state(self, n, state) -> int:
        """One task by rejection sampling (large clusters).

        Candidates are n's eligible servers; a drawn server that no longer
        fits is removed for good (capacity only shrinks during a fill), so
        accepted draws are uniform over the fitting servers.  After 32 misses
        in a row the candidate list is rebuilt from the current free capacity."""
        entry = self._cand.get(n)
        if entry is None:
            entry = self._cand[n] = [np.flatnonzero(self.problem.eligible[n]).astype(np.int32), 0]
            entry[1] = len(entry[0])
        arr, size = entry
        below = self.py_rng._randbelow
        may_fit = self._within_set
        misses = 0
        while size > 0:
            k = below(size)
            i = int(arr[k])
            if (may_fit is None or i in may_fit) and state.fits_one(n, i):
                entry[1] = size
                return i
            size -= 1
            arr[k] = arr[size]
            misses += 1
            if misses >= 32:
                arr = self._fitting(n, state)
                entry[0], size, misses = arr, len(arr), 0
                if size >= 32 and not self._any_fits_one(n, state, arr):
                    # The rebuild's test (fit_row: min free/demand + 1e-9 >= 1,
                    # relative) admits free amounts that fits_one (free >=
                    # demand - 1e-9, absolute) rejects: for a 4-cpu task,
                    # 3.999999997 cpu.  With 32 or more such servers and no
                    # other, every round drew 32 misses and rebuilt the same
                    # list forever.  Nothing fits n: it is done.
                    break
        entry[1] = 0
        return -1

    def _any_fits_one(self, n, state, servers: np.ndarray) -> bool:
        """Does some server in `servers` pass state.fits_one for n (vectorised)?"""
        need = self.problem.demand[n] > 0
        free = state.free[servers][:, need]
        return bool((free >= self.problem.demand[n, need] - 1e-9).all(axis=1).any())

    def _fitting(self, n, state) -> np.ndarray:
        """n's fitting servers in index order (the rebuilt candidate list)."""
        if self.within is None:
            return np.flatnonzero(self.problem.fit_row(state.free, n) > 0).astype(np.int32)
        w = self.within
        return w[self.problem.fits_row(state.free, n, w)].astype(np.int32)

    def pick_one(self, n, fit, free=None) -> int:
        """One task: the same draw `place(n, 1, ...)` would make."""
        open_ = np.flatnonzero(fit)
        if len(open_) == 0:
            return -1
        return int(open_[self.py_rng._randbelow(len(open_))])

    def place(self, n, count, fit, free):
        placed = np.zeros(len(fit), dtype=np.int64)
        room = fit.astype(np.int64)
        open_ = np.flatnonzero(room > 0)
        below = self.py_rng._randbelow  # what random.choice uses: same stream
        if count >= int(room[open_].sum()):
            # Every fitting server ends up full whatever the draws.
            placed[open_] = room[open_]
            return placed
        count = self._bulk(count, room, open_, placed)
        open_ = np.flatnonzero(room > 0)
        for _ in range(count):
            if len(open_) <= 1:
                # One fitting server left: the draw has one outcome, so the
                # rest goes there at once (a million tasks cost one step).
                # Skipping its draws only shifts the stream of later draws,
                # so results stay the same in distribution.
                if len(open_) == 1:
                    i = open_[0]
                    placed[i] += min(count - int(placed.sum()), int(room[i]))
                break
            k = below(len(open_))
            i = open_[k]
            placed[i] += 1
            room[i] -= 1
            if room[i] == 0:
                open_ = np.delete(open_, k)
        return placed

    def _bulk(self, count: int, room: np.ndarray, open_: np.ndarray, placed: np.ndarray) -> int:
        """Huge batches in rounds instead of one draw per task: while every
        open server has room for the whole round (m <= the smallest room),
        m uniform draws over the k open servers are one multinomial sample,
        exactly as m single draws would be in distribution (no server can
        close during the round).  Used only when there are at least
        BULK_PER_SERVER tasks per open server, so small batches keep the
        per-task stream.  Updates room and placed; returns the tasks left."""
        while len(open_) > 1 and count >= BULK_PER_SERVER * len(open_):
            m = min(count, int(room[open_].min()))
            got = self.rng.multinomial(m, np.full(len(open_), 1.0 / len(open_)))
            placed[open_] += got
            room[open_] -= got
            count -= m
            open_ = open_[room[open_] > 0]
        return count


# Tasks per open server from which the random rule samples rounds in bulk.
BULK_PER_SERVER = 64
