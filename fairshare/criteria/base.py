"""The one interface every fairness criterion implements (Mesos sorter style).

A criterion keeps the set of active frameworks and their allocations, and says
who goes next: `share(n)` / `share(n, i)` and `sort()` / `sort(i)`.  The fast
progressive-filling engine does not call `share()` task by task; it asks the
criterion for its vectorised form instead:

* pooled criteria (`server_specific = False`) expose `unit()`: the share one
  task adds, so share(n) = x_n * unit[n] for every server;
* server-specific criteria expose `gamma(free)`: gamma[n, i], the number of
  tasks of n that server i could hold (on its full capacity, or on its free
  capacity when `residual = True`), and share(n, i) = x_n / (weight_n gamma[n, i]).
"""
from __future__ import annotations

import abc

import numpy as np

from ..model import Problem


class Criterion(abc.ABC):
    name: str = ""
    server_specific: bool = False
    residual: bool = False
    default_selection: str = "random"  # only meaningful for pooled criteria
    summary: str = ""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.x_server = np.zeros((problem.n_frameworks, problem.n_servers), dtype=np.int64)
        self.free = problem.capacity.copy()
        self.active: set[int] = set()

    # -- Mesos sorter API ----------------------------------------------------
    def add(self, n: int) -> None:
        self.active.add(n)

    def remove(self, n: int) -> None:
        self.active.discard(n)

    def allocated(self, n: int, i: int, count: int = 1) -> None:
        self.x_server[n, i] += count
        self.free[i] -= count * self.problem.demand[n]

    def unallocated(self, n: int, i: int, count: int = 1) -> None:
        if self.x_server[n, i] < count:
            raise ValueError(f"framework {self.problem.frameworks[n].name!r} has only "
                             f"{self.x_server[n, i]} tasks on server {self.problem.servers[i].name!r}")
        self.x_server[n, i] -= count
        self.free[i] += count * self.problem.demand[n]

    def tasks(self, n: int) -> int:
        return int(self.x_server[n].sum())

    def share(self, n: int, i: int | None = None) -> float:
        """Weighted share of framework n (on server i for server-specific criteria)."""
        x = self.tasks(n)
        if not self.server_specific:
            return x * float(self.unit()[n])
        g = self.gamma(self.free)[n]
        if i is not None:
            return x / (self.problem.weight[n] * g[i]) if g[i] > 0 else np.inf
        best = g.max()
        return x / (self.problem.weight[n] * best) if best > 0 else np.inf

    def sort(self, i: int | None = None) -> list[int]:
        """Active frameworks, lowest share first; ties to the lowest index."""
        return sorted(self.active, key=lambda n: (self.share(n, i), n))

    # -- vectorised form used by the engine ----------------------------------
    def unit(self) -> np.ndarray:
        raise NotImplementedError(f"{self.name} is server-specific; use gamma()")

    def gamma(self, free: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{self.name} is pooled; use unit()")


class ServerSpecificCriterion(Criterion):
    server_specific = True

    def gamma(self, free: np.ndarray) -> np.ndarray:
        return self.problem.fit_counts(free if self.residual else self.problem.capacity)

    def gamma_row(self, n: int, free: np.ndarray) -> np.ndarray:
        return self.problem.fit_counts(free if self.residual else self.problem.capacity, [n])[0]
