"""Uniformly random fitting server for every task (the DRF/TSF rows of the
worked examples).

Draws use Python's `random.Random(seed)`: one `choice` per task over the
fitting servers in index order, which is the procedure cluster.md section 5
specifies, so the seeded results reproduce its tables.  The share bookkeeping
around it is batched; only the per-task draw is inherent to the rule."""
import random

from .base import Selection


class RandomFit(Selection):
    name = "random"
    summary = "uniformly random eligible server that fits, per task"

    def __init__(self, problem, rng, seed: int = 0):
        super().__init__(problem, rng)
        self.py_rng = random.Random(seed)

    def place(self, n, count, fit, free):
        placed = fit * 0
        room = fit.copy()
        open_ = [int(i) for i in (room > 0).nonzero()[0]]
        choice = self.py_rng.choice
        for _ in range(count):
            if not open_:
                break
            i = choice(open_)
            placed[i] += 1
            room[i] -= 1
            if room[i] == 0:
                open_.remove(i)
        return placed
