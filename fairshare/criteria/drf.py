"""DRF (Ghodsi et al., NSDI'11): weighted dominant share of the pooled cluster."""
import numpy as np

from .base import Criterion


class DRF(Criterion):
    name = "drf"
    default_selection = "random"
    summary = "dominant share max_r x*d_r/C_r / weight over the pooled cluster; random fitting server"

    def unit(self) -> np.ndarray:
        p = self.problem
        return (p.demand / p.total).max(axis=1) / p.weight
