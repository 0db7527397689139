"""The result of an allocator: integer tasks per (framework, server).

This is the contract node agents enforce: `per_server()` gives, for every
server, each framework's resource amounts (which a node agent turns into
cgroup weights/limits), and `to_json()` is the wire form."""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .model import Problem


class Allocation:
    def __init__(self, problem: Problem, x: np.ndarray, policy: str = "", meta: dict | None = None):
        self.problem = problem
        self.x = np.asarray(x)
        self.policy = policy
        self.meta = dict(meta or {})

    # -- raw views -------------------------------------------------------------
    @property
    def counts(self) -> np.ndarray:
        """Tasks per framework (float for fluid allocations)."""
        return self.x.sum(axis=1)

    def used(self) -> np.ndarray:
        """Resource use per server (servers x resources)."""
        return self.x.T @ self.problem.demand

    def is_feasible(self, tol: float = 1e-7) -> bool:
        p = self.problem
        if (self.x < -tol).any() or (self.x[~p.eligible] > tol).any():
            return False
        if (self.counts > p.max_tasks + tol).any():
            return False
        return bool((self.used() <= p.capacity * (1 + tol) + tol).all())

    # -- reports ---------------------------------------------------------------
    def tasks(self) -> dict[str, Any]:
        c = self.counts
        return {f.name: (int(round(v)) if np.issubdtype(self.x.dtype, np.integer) else float(v))
                for f, v in zip(self.problem.frameworks, c)}

    def placement(self) -> dict[str, dict[str, Any]]:
        p = self.problem
        names = [s.name for s in p.servers]
        out: dict[str, dict[str, Any]] = {}
        # tolist() gives Python ints for integer placements, floats for fluid ones.
        for n, f in enumerate(p.frameworks):
            nz = np.flatnonzero(self.x[n] > 1e-12)
            out[f.name] = dict(zip([names[i] for i in nz.tolist()], self.x[n, nz].tolist()))
        return out

    def utilisation(self) -> dict[str, float]:
        used = self.used().sum(axis=0)
        return {r: float(used[k] / self.problem.total[k]) for k, r in enumerate(self.problem.resources)}

    def dominant_shares(self) -> np.ndarray:
        """Unweighted dominant share of each framework over the pooled cluster."""
        p = self.problem
        return self.counts * (p.demand / p.total).max(axis=1)

    def shares(self) -> dict[str, float]:
        return {f.name: float(s) for f, s in zip(self.problem.frameworks, self.dominant_shares())}

    def sum_tasks(self) -> float:
        return float(self.counts.sum())

    def sum_log(self, weighted: bool = False) -> float:
        """sum_n log x_n (times weight_n if `weighted`); -inf if a framework got nothing."""
        c = self.counts
        if (c <= 0).any():
            return -math.inf
        w = self.problem.weight if weighted else 1.0
        return float((w * np.log(c)).sum())

    def per_server(self) -> dict[str, dict[str, dict[str, float]]]:
        """{server: {framework: {resource: amount}}} for frameworks present there."""
        p = self.problem
        out: dict[str, dict[str, dict[str, float]]] = {}
        for i, s in enumerate(p.servers):
            here = {}
            for n in np.flatnonzero(self.x[:, i] > 1e-12):
                here[p.frameworks[n].name] = {r: float(self.x[n, i] * p.demand[n, k])
                                              for k, r in enumerate(p.resources)}
            out[s.name] = here
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "tasks": self.tasks(), "placement": self.placement(),
                "utilisation": self.utilisation(), "shares": self.shares(),
                "sum_tasks": self.sum_tasks(),
                "sum_log": self.sum_log() if math.isfinite(self.sum_log()) else None,
                **({"meta": self.meta} if self.meta else {})}

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)
