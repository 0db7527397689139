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


class FillState:
    """Mutable allocation state the fill routines update in place.

    The online simulator keeps one of these across events so re-allocation
    only hands out the free capacity (incremental), without copying the
    frameworks x servers matrix each time.  `limit` overrides max_tasks (the
    simulator sets it to running + pending tasks); `log`, if a list,
    receives (framework, server, count) for every batch placed."""

    def __init__(self, problem: Problem, initial: np.ndarray | None = None, limit: np.ndarray | None = None,
                 log: list | None = None):
        self.x_server = (np.zeros((problem.n_frameworks, problem.n_servers), dtype=np.int64)
                         if initial is None else np.array(initial, dtype=np.int64))
        self.free = problem.capacity - self.x_server.T @ problem.demand
        self.x = self.x_server.sum(axis=1)
        self.limit = problem.max_tasks.copy() if limit is None else np.asarray(limit, dtype=np.int64)
        self.log = log

    def place(self, problem: Problem, n: int, i: int, count: int) -> None:
        self.x_server[n, i] += count
        self.x[n] += count
        self.free[i] -= count * problem.demand[n]
        if self.log is not None:
            self.log.append((n, i, count))


def make_selection(problem: Problem, name: str, seed: int = 0):
    if name not in SELECTIONS:
        raise ValueError(f"unknown server-selection rule {name!r} (choose from {', '.join(SELECTIONS)})")
    cls = SELECTIONS[name]
    rng = np.random.default_rng(seed)
    return cls(problem, rng, seed=seed) if name == "random" else cls(problem, rng)


def fill(problem: Problem, crit: Criterion, state: FillState, active: np.ndarray, selection=None,
         unit: np.ndarray | None = None) -> None:
    """Progressive filling of `state` in place among the `active` frameworks.

    `unit` caches crit.unit() for callers that fill repeatedly (the simulator)."""
    act = np.asarray(active, dtype=bool) & (state.x < state.limit)
    # Frameworks that fit nowhere now can never fit during this fill (free
    # capacity only shrinks), so drop them before building the heap.
    idx = np.flatnonzero(act)
    act[idx[~problem.fits_any(state.free, idx)]] = False
    if crit.server_specific:
        _fill_server_specific(problem, crit, state, act)
    else:
        _fill_pooled(problem, crit.unit() if unit is None else unit, selection, state, act)


def progressive_fill(problem: Problem, criterion: type[Criterion] | Criterion, selection: str | None = None,
                     seed: int = 0, initial: np.ndarray | None = None,
                     active: np.ndarray | None = None, name: str | None = None) -> Allocation:
    """Fill from `initial` (default empty) among `active` frameworks (default all)."""
    crit = criterion(problem) if isinstance(criterion, type) else criterion
    state = FillState(problem, initial)
    act = np.ones(problem.n_frameworks, dtype=bool) if active is None else np.asarray(active, dtype=bool)
    sel = None
    sel_name = selection or crit.default_selection
    if not crit.server_specific:
        sel = make_selection(problem, sel_name, seed)
    fill(problem, crit, state, act, sel)
    label = name or (crit.name if crit.server_specific or sel_name == crit.default_selection
                     else f"{crit.name}:{sel_name}")
    return Allocation(problem, state.x_server, label)


def _fill_pooled(problem, unit, sel, state, act) -> None:
    x, free = state.x, state.free
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
        count = int(min(count, state.limit[n] - x[n]))
        fit = problem.fit_row(free, n)
        count = min(count, int(fit.sum()))
        if count <= 0:
            continue
        placed = sel.place(n, count, fit, free)
        for i in np.flatnonzero(placed):
            state.place(problem, n, int(i), int(placed[i]))
        if int(placed.sum()) == count and x[n] < state.limit[n]:
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


def _fill_server_specific(problem, crit, state, act) -> None:
    w = problem.weight
    x, free = state.x, state.free
    residual = crit.residual

    def key_of(n):
        room = problem.fit_row(free, n)
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
        limit = int(min(room[i], state.limit[n] - x[n]))
        steps = np.arange(limit)
        g_i = gamma[i] - steps if residual else np.full(limit, gamma[i])
        ok = g_i > 0
        if residual and j >= 0 and g2 > 0:
            ok &= (g_i > g2) | ((g_i == g2) & (i < j))
        keys = (x[n] + steps + 1) / (w[n] * np.maximum(g_i, 1))
        if heap:
            ok &= _before(keys, n, heap[0][0], heap[0][1])
        ok[0] = True
        count = max(1, _leading_true(ok))
        state.place(problem, n, i, count)
        if x[n] < state.limit[n]:
            nxt = key_of(n)
            if nxt is not None:
                heapq.heappush(heap, (nxt[0], n))
