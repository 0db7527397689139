"""Discrete progressive filling, batched.

Task-by-task progressive filling repeatedly gives one task to the active
framework with the lowest share.  Here each step instead computes how many
tasks the current minimum framework receives before its share crosses the
runner-up's, and places them at once (the selection rule itself places in
batches).  The result is the task-by-task result, exactly for deterministic
rules and in distribution for random ones.

Tie rule (documented in docs/fairshare.md): equal shares (within a relative
1e-12) go to the lowest framework index, i.e. the order of `frameworks` in
the problem; for server-specific criteria the lowest (key, framework, server).

Two modes:
* pooled criteria: share before the task, x_n * unit_n; the server is
  chosen by a `Selection` rule;
* server-specific criteria (global variant of cluster.md section 3): the pair
  (n, i) minimising (x_n + 1) / (weight_n gamma_{n,i}) over fitting eligible
  pairs; rPS-DSF uses gamma on residual capacity.  Keys only grow, so a lazy
  heap (re-key on pop) is exact.
"""
from __future__ import annotations

import heapq

import numpy as np

from .allocation import Allocation
from .criteria import Criterion
from .model import Problem
from .selection import SELECTIONS

TOL = 1e-12


def _before(a: np.ndarray | float, n: int, b: float, m: int) -> np.ndarray | bool:
    """(a, n) < (b, m) with float ties within a relative TOL."""
    scale = TOL * max(1.0, abs(b)) if np.isfinite(b) else 0.0
    return (a < b - scale) | ((np.abs(a - b) <= scale) & (n < m))


def _leading_true(mask: np.ndarray) -> int:
    if mask.all():
        return len(mask)
    return int(np.argmin(mask))


def _initial_state(problem: Problem, initial: np.ndarray | None):
    x_server = (np.zeros((problem.n_frameworks, problem.n_servers), dtype=np.int64)
                if initial is None else np.array(initial, dtype=np.int64))
    free = problem.capacity - x_server.T @ problem.demand
    return x_server, free


def progressive_fill(problem: Problem, criterion: type[Criterion] | Criterion, selection: str | None = None,
                     seed: int = 0, initial: np.ndarray | None = None,
                     active: np.ndarray | None = None, name: str | None = None) -> Allocation:
    """Fill from `initial` (default empty) among `active` frameworks (default all)."""
    crit = criterion(problem) if isinstance(criterion, type) else criterion
    x_server, free = _initial_state(problem, initial)
    act = np.ones(problem.n_frameworks, dtype=bool) if active is None else np.asarray(active, dtype=bool).copy()
    act &= x_server.sum(axis=1) < problem.max_tasks
    if crit.server_specific:
        _fill_server_specific(problem, crit, x_server, free, act)
        label = name or crit.name
    else:
        sel_name = selection or crit.default_selection
        if sel_name not in SELECTIONS:
            raise ValueError(f"unknown server-selection rule {sel_name!r} (choose from {', '.join(SELECTIONS)})")
        sel_cls = SELECTIONS[sel_name]
        sel = (sel_cls(problem, np.random.default_rng(seed), seed=seed) if sel_name == "random"
               else sel_cls(problem, np.random.default_rng(seed)))
        _fill_pooled(problem, crit.unit(), sel, x_server, free, act)
        label = name or (crit.name if sel_name == crit.default_selection else f"{crit.name}:{sel_name}")
    return Allocation(problem, x_server, label)


def _fill_pooled(problem, unit, sel, x_server, free, act) -> None:
    x = x_server.sum(axis=1)
    heap = [(float(x[n] * unit[n]), int(n)) for n in np.flatnonzero(act)]
    heapq.heapify(heap)
    while heap:
        s, n = heapq.heappop(heap)
        if heap:
            s_m, m = heap[0]
            j = np.arange(int((s_m - s) / unit[n]) + 2)
            count = _leading_true(_before((x[n] + j) * unit[n], n, s_m, m))
        else:
            count = np.iinfo(np.int64).max
        count = int(min(count, problem.max_tasks[n] - x[n]))
        fit = problem.fit_counts(free, [n])[0]
        count = min(count, int(fit.sum()))
        placed = sel.place(n, count, fit, free) if count > 0 else np.zeros(problem.n_servers, dtype=np.int64)
        got = int(placed.sum())
        if got:
            x_server[n] += placed
            x[n] += got
            free -= placed[:, None] * problem.demand[n][None, :]
        if got == count and got > 0 and x[n] < problem.max_tasks[n]:
            heapq.heappush(heap, (float(x[n] * unit[n]), n))


def _best_server(room: np.ndarray, gamma: np.ndarray) -> tuple[int, int, int]:
    """Fitting server with the largest gamma (ties lowest index); also the runner-up."""
    g = np.where(room > 0, gamma, -1)
    i = int(np.argmax(g))
    if g[i] <= 0:
        return -1, -1, -1
    g2 = g.copy()
    g2[i] = -1
    j = int(np.argmax(g2))
    return i, j, int(g2[j])


def _fill_server_specific(problem, crit, x_server, free, act) -> None:
    w = problem.weight
    x = x_server.sum(axis=1)
    residual = crit.residual

    def key_of(n):
        room = problem.fit_counts(free, [n])[0]
        gamma = room if residual else crit.gamma_row(n, free)
        i, j, g2 = _best_server(room, gamma)
        if i < 0:
            return None
        return (x[n] + 1) / (w[n] * gamma[i]), i, j, g2, room, gamma

    heap = []
    for n in np.flatnonzero(act):
        k = key_of(n)
        if k is not None:
            heap.append((k[0], int(n)))
    heapq.heapify(heap)
    while heap:
        stored, n = heapq.heappop(heap)
        k = key_of(n)
        if k is None:
            continue
        key, i, j, g2, room, gamma = k
        if key > stored * (1 + TOL) + TOL:
            heapq.heappush(heap, (key, n))
            continue
        limit = int(min(room[i], problem.max_tasks[n] - x[n]))
        steps = np.arange(limit)
        g_i = gamma[i] - steps if residual else np.full(limit, gamma[i])
        ok = g_i > 0
        if residual and j >= 0 and g2 > 0:
            ok &= (g_i > g2) | ((g_i == g2) & (i < j))
        if not residual and j >= 0 and g2 > 0:
            pass  # full-capacity gamma is static: i stays best while it fits
        keys = (x[n] + steps + 1) / (w[n] * np.maximum(g_i, 1))
        if heap:
            ok &= _before(keys, n, heap[0][0], heap[0][1])
        ok[0] = True
        count = max(1, _leading_true(ok))
        x_server[n, i] += count
        x[n] += count
        free[i] -= count * problem.demand[n]
        if x[n] < problem.max_tasks[n]:
            nxt = key_of(n)
            if nxt is not None:
                heapq.heappush(heap, (nxt[0], n))
