"""Server-selection rules for pooled criteria.

`place(n, count, fit, free)` puts up to `count` tasks of framework n and
returns how many went to each server.  `fit[i]` is how many tasks of n server
i can still take (0 if ineligible or full).  Rules place in batches but must
give the same result as choosing a server task by task (in distribution for
the random rules)."""
from __future__ import annotations

import abc

import numpy as np

from ..model import Problem


class Selection(abc.ABC):
    name: str = ""
    summary: str = ""

    def __init__(self, problem: Problem, rng: np.random.Generator):
        self.problem = problem
        self.rng = rng

    @abc.abstractmethod
    def place(self, n: int, count: int, fit: np.ndarray, free: np.ndarray) -> np.ndarray:
        ...
