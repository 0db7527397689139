"""TSF (Wang, Li, Liang, Li, SC'16): tasks over the tasks the framework could
run owning every eligible server, x_n / (weight gamma_n)."""
import numpy as np

from .base import Criterion


class TSF(Criterion):
    name = "tsf"
    default_selection = "random"
    summary = "task share x / (weight * sum_i gamma_{n,i}); random fitting server"

    def unit(self) -> np.ndarray:
        p = self.problem
        gamma_n = p.fit_counts(p.capacity).sum(axis=1)
        return 1.0 / (p.weight * gamma_n)
