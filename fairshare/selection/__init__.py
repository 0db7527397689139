"""Server-selection rules for pooled criteria; one class per file."""
from .base import Selection
from .best_fit import BestFit
from .random_fit import RandomFit
from .residual import ResidualFit
from .round_robin import RandomRoundRobin

SELECTIONS: dict[str, type[Selection]] = {
    "random": RandomFit,
    "rrr": RandomRoundRobin,
    "bestfit": BestFit,
    "residual": ResidualFit,
}

__all__ = ["Selection", "SELECTIONS"]
