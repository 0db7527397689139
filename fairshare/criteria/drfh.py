"""DRFH (Wang, Liang, Li, INFOCOM'14) with placement constraints.

The dominant share is taken against the capacity pooled over the servers the
framework may use, so a framework pinned to a small pool is not judged by
resources it can never touch; without constraints it equals DRF."""
import numpy as np

from .base import Criterion


class DRFH(Criterion):
    name = "drfh"
    default_selection = "residual"
    summary = "dominant share against the framework's eligible pool; server with most room for it"

    def unit(self) -> np.ndarray:
        p = self.problem
        pool = p.eligible.astype(float) @ p.capacity
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(p.demand > 0, p.demand / pool, 0.0)
        return ratio.max(axis=1) / p.weight
