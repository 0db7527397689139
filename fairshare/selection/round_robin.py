"""Randomised round robin: each framework walks the servers in its own random
cyclic order, one task per fitting server per turn.  Batched: a batch of
`count` tasks is whole rounds over the fitting servers plus a partial round,
computed in closed form."""
import numpy as np

from .base import Selection


class RandomRoundRobin(Selection):
    name = "rrr"
    summary = "randomised round robin: per-framework random server order, one task per server per turn"

    def __init__(self, problem, rng):
        super().__init__(problem, rng)
        self.order: dict[int, np.ndarray] = {}
        self.cursor: dict[int, int] = {}

    def place(self, n, count, fit, free):
        if n not in self.order:
            self.order[n] = self.rng.permutation(np.flatnonzero(self.problem.eligible[n]))
            self.cursor[n] = 0
        order = np.roll(self.order[n], -self.cursor[n])
        room = fit[order]
        placed = np.zeros(len(fit), dtype=np.int64)
        total = int(room.sum())
        if total <= count:
            placed[order] = room
            return placed
        # Largest number of full rounds r with sum(min(room, r)) <= count.
        lo, hi = 0, int(room.max())
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if int(np.minimum(room, mid).sum()) <= count:
                lo = mid
            else:
                hi = mid - 1
        give = np.minimum(room, lo)
        left = count - int(give.sum())
        extra = np.flatnonzero(room > lo)[:left]
        give[extra] += 1
        placed[order] = give
        last = extra[-1] if left else (np.flatnonzero(give)[-1] if give.any() else -1)
        self.cursor[n] = (self.cursor[n] + last + 1) % len(order)
        return placed
