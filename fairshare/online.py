"""Mesos-style online allocation, offer by offer, server by server.

Each round visits the servers in a fresh random order (randomised round
robin; Python `random.Random(seed)` so runs are reproducible).  The visited
server offers exactly one task ("fine-grained", one D-vector) to the eligible
framework that fits and has the lowest current share on that server,
share evaluated before the increment, ties to the lowest framework index.
Rounds repeat until one places nothing.

For server-specific criteria share(n, i) = x_n / (weight_n gamma_{n,i});
rPS-DSF recomputes gamma on the residual capacity.  Pooled criteria use
their pooled share x_n * unit_n.  With `fill_server=True` each visited server
keeps offering until nothing fits (the Mesos allocator's inner loop: pop the
minimum, offer one D-vector, re-key, push back) instead of one task per turn.
"""
from __future__ import annotations

import random

import numpy as np

from .allocation import Allocation
from .criteria import Criterion
from .model import Problem


def offer_cycle(problem: Problem, criterion: type[Criterion] | Criterion, seed: int = 0,
                fill_server: bool = False, initial: np.ndarray | None = None,
                active: np.ndarray | None = None, name: str | None = None,
                max_rounds: int | None = None) -> Allocation:
    crit = criterion(problem) if isinstance(criterion, type) else criterion
    rng = random.Random(seed)
    x_server = (np.zeros((problem.n_frameworks, problem.n_servers), dtype=np.int64)
                if initial is None else np.array(initial, dtype=np.int64))
    free = problem.capacity - x_server.T @ problem.demand
    x = x_server.sum(axis=1).astype(float)
    act = np.ones(problem.n_frameworks, dtype=bool) if active is None else np.asarray(active, bool)
    w = problem.weight
    d = problem.demand
    unit = None if crit.server_specific else crit.unit()
    gamma_full = problem.fit_counts(problem.capacity) if (crit.server_specific and not crit.residual) else None
    servers = list(range(problem.n_servers))
    rounds = 0
    while max_rounds is None or rounds < max_rounds:
        rounds += 1
        rng.shuffle(servers)
        placed_any = False
        for i in servers:
            while True:
                room = problem.fit_counts(free, None, [i])[:, 0]
                ok = act & (room > 0) & (x < problem.max_tasks)
                if not ok.any():
                    break
                cand = np.flatnonzero(ok)
                if unit is not None:
                    share = x[cand] * unit[cand]
                else:
                    g = room[cand] if crit.residual else gamma_full[cand, i]
                    share = x[cand] / (w[cand] * g)
                low = share.min()
                # Equal shares (within float noise) go to the lowest framework index.
                n = int(cand[np.flatnonzero(share <= low + 1e-12 * max(1.0, abs(low)))[0]])
                x_server[n, i] += 1
                x[n] += 1
                free[i] -= d[n]
                placed_any = True
                if not fill_server:
                    break
        if not placed_any:
            break
    label = name or f"{crit.name}_{'mesos' if fill_server else 'rr'}"
    return Allocation(problem, x_server, label, {"rounds": rounds})
