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
    def tasks(self, counts: np.ndarray | None = None) -> dict[str, Any]:
        c = self.counts if counts is None else counts
        return {f.name: (int(round(v)) if np.issubdtype(self.x.dtype, np.integer) else float(v))
                for f, v in zip(self.problem.frameworks, c)}

    def placement(self) -> dict[str, dict[str, Any]]:
        p = self.problem
        names = [s.name for s in p.servers]
        # One pass over the matrix: nonzero() lists the entries framework by
        # framework, servers in index order within each, so framework n's
        # entries are one slice.  tolist() gives Python ints for integer
        # placements, floats for fluid ones.
        rows, cols = np.nonzero(self.x > 1e-12)
        keys = [names[i] for i in cols.tolist()]
        values = self.x[rows, cols].tolist()
        ends = np.cumsum(np.bincount(rows, minlength=p.n_frameworks)).tolist()
        out: dict[str, dict[str, Any]] = {}
        start = 0
        for f, end in zip(p.frameworks, ends):
            out[f.name] = dict(zip(keys[start:end], values[start:end]))
            start = end
        return out

    def utilisation(self) -> dict[str, float]:
        # Summed over servers, use is tasks per framework times demand: one
        # frameworks-long product instead of the servers x resources matrix
        # (0.1-0.25 s at 10,000 x 1,000), and fewer roundings.
        used = self.counts @ self.problem.demand
        return {r: float(used[k] / self.problem.total[k]) for k, r in enumerate(self.problem.resources)}

    def dominant_shares(self, counts: np.ndarray | None = None) -> np.ndarray:
        """Unweighted dominant share of each framework over the pooled cluster."""
        p = self.problem
        return (self.counts if counts is None else counts) * (p.demand / p.total).max(axis=1)

    def shares(self, counts: np.ndarray | None = None) -> dict[str, float]:
        return {f.name: float(s) for f, s in zip(self.problem.frameworks, self.dominant_shares(counts))}

    def sum_tasks(self, counts: np.ndarray | None = None) -> float:
        return float((self.counts if counts is None else counts).sum())

    def sum_log(self, weighted: bool = False, counts: np.ndarray | None = None) -> float:
        """sum_n log x_n (times weight_n if `weighted`); -inf if a framework got nothing."""
        c = self.counts if counts is None else counts
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
        # `counts` sums the whole matrix (10^7 entries at 10,000 x 1,000):
        # once here rather than once per field.
        c = self.counts
        log = self.sum_log(counts=c)
        return {"policy": self.policy, "tasks": self.tasks(c), "placement": self.placement(),
                "utilisation": self.utilisation(), "shares": self.shares(c),
                "sum_tasks": self.sum_tasks(c),
                "sum_log": log if math.isfinite(log) else None,
                **({"meta": self.meta} if self.meta else {})}

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)
