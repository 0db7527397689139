"""Residual based: the fitting server with the most room left for this
framework's task (largest residual gamma_{n,i}); ties to the lowest index.
This spreads a framework over the emptiest servers; it is the server choice
rPS-DSF makes implicitly.  Batched: stay on server i until its residual room
drops below the runner-up's."""
import numpy as np

from .base import Selection


class ResidualFit(Selection):
    name = "residual"
    summary = "server with the most residual room for the task (largest residual gamma)"

    def pick_one(self, n, fit, free=None) -> int:
        i = int(np.argmax(fit))
        return i if fit[i] > 0 else -1

    def place(self, n, count, fit, free):
        placed = np.zeros(len(fit), dtype=np.int64)
        room = fit.copy()
        while count > 0:
            i = int(np.argmax(room))
            if room[i] <= 0:
                break
            others = room.copy()
            others[i] = -1
            j = int(np.argmax(others))
            second = max(int(others[j]), 0)
            # Keep i while room_i - k > second, or == second with i < j.
            k = int(room[i]) - second + (1 if (i < j and second > 0) else 0)
            k = max(1, min(k, count, int(room[i])))
            placed[i] += k
            room[i] -= k
            count -= k
        return placed
