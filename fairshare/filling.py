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
* server-specific criteria (global variant, docs/fairshare-notes.md §3): the pair
  (n, i) minimising (x_n + 1) / (weight_n gamma_{n,i}) over fitting eligible
  pairs; rPS-DSF uses gamma on residual capacity.  Keys only grow, so a lazy
  heap (re-key on pop) is exact.

The loops below are the reference.  fill() first offers the work to
native_fill (the same loops in C, fairshare/native/fill.c, equal results by
construction and by test) and runs them itself when that does not apply.
"""
from __future__ import annotations

import heapq

import numpy as np

from . import native_fill
from .allocation import Allocation
from .criteria import Criterion
from .model import TASK_LIMIT, Problem
from .selection import SELECTIONS
from .selection.residual import water_fill, water_level

TOL = 1e-12


class FillState:
    """Mutable allocation state the fill routines update in place.

    The online simulator keeps one of these across events so re-allocation
    only hands out the free capacity (incremental), without copying the
    frameworks x servers matrix each time.  `limit` overrides max_tasks (the
    simulator sets it to running + pending tasks); `log`, if a list,
    receives (framework, server, count) for every batch placed.

    `room` (tasks of each framework that still fit on each server) is kept
    up to date incrementally.  It is stored server-major (`col(i)` is
    contiguous), so a placement on server i rewrites one contiguous row of
    frameworks x resources work; per-framework rows (`row(n)`) are a cache
    synced lazily from a log of the servers touched since n last looked,
    which avoids strided writes into a frameworks x servers matrix (10x
    slower on the 10,000 x 1,000 bench)."""

    def __init__(self, problem: Problem, initial: np.ndarray | None = None, limit: np.ndarray | None = None,
                 log: list | None = None, copy: bool = True):
        self.problem = problem
        if initial is None:
            # Nothing placed: free is capacity itself (capacity - 0.0 is
            # capacity bit for bit), without a frameworks x servers product.
            self.x_server = np.zeros((problem.n_frameworks, problem.n_servers), dtype=np.int64)
            self.free = problem.capacity.copy()
        else:
            # copy=False: the caller hands `initial` over (it is updated in place).
            self.x_server = np.array(initial, dtype=np.int64, copy=copy or None)
            self.free = problem.capacity - self.x_server.T @ problem.demand
        self.x = self.x_server.sum(axis=1)
        self.limit = problem.max_tasks.copy() if limit is None else np.asarray(limit, dtype=np.int64)
        self.log = log
        self._rows: np.ndarray | None = None
        self._gamma_full: np.ndarray | None = None
        d = problem.demand
        pos = d > 0
        # free / d as free * inv + big: resources a framework does not need
        # never bind (1e300), and no division or masking per refresh.
        self._inv = np.where(pos, 1.0 / np.where(pos, d, 1.0), 0.0)
        self._big = np.where(pos, 0.0, 1e300)
        self._inv_lists = None      # _inv and _big as Python lists, for room_one
        self._invT = np.ascontiguousarray(self._inv.T)
        self._bigT = np.ascontiguousarray(self._big.T)
        # (resource, demand - 1e-9) pairs per framework for `fits_one`: a
        # few Python float compares beat one fancy-indexed numpy reduction.
        self._need = [[(int(r), float(d[n, r]) - 1e-9) for r in np.flatnonzero(pos[n])]
                      for n in range(problem.n_frameworks)]
        self._elig_rows = problem.eligible
        # Log of the servers whose capacity changed, in order: the room
        # matrix's per-framework rows use it to recompute only what changed.
        self._dirty = np.empty(1024, dtype=np.int64)
        self._n_dirty = 0

    @property
    def clock(self) -> int:
        """Capacity changes so far (placements and releases)."""
        return self._n_dirty

    def changed_since(self, clock: int) -> np.ndarray:
        """Servers whose free capacity changed after `clock` (in order,
        possibly repeated): what a cache synced at `clock` must redo."""
        return self._dirty[clock:self._n_dirty]

    def _room_dtype(self):
        """int32 rooms (half the memory traffic) unless some framework could
        hold more than 2^31 - 1 tasks on one server, bounded from the largest
        capacity per resource (free never exceeds capacity)."""
        p = self.problem
        with np.errstate(divide="ignore", over="ignore"):
            bound = np.where(p.demand > 0, p.capacity.max(axis=0) / np.where(p.demand > 0, p.demand, 1), np.inf)
        return np.int32 if float(bound.min(axis=1).max()) < np.iinfo(np.int32).max else np.int64

    @property
    def room_max(self) -> float:
        """Largest room the cache holds (its integer type's range, at most TASK_LIMIT)."""
        return float(min(np.iinfo(self._room_dtype()).max, TASK_LIMIT))

    def _build(self) -> None:
        dtype = self._room_dtype()
        self._room_max = self.room_max
        self._rows = self.problem.fit_counts(self.free, dtype=dtype)
        self._cols = np.ascontiguousarray(self._rows.T)
        self._eligT = np.ascontiguousarray(self.problem.eligible.T).astype(float)
        self._buf = np.empty_like(self._invT)
        self._ratio = np.empty(self.problem.n_frameworks)
        self._synced = np.full(self.problem.n_frameworks, self._n_dirty, dtype=np.int64)

    def row(self, n: int) -> np.ndarray:
        """Tasks of n that fit on each server (current)."""
        if self._rows is None:
            self._build()
        start = self._synced[n]
        if start < self._n_dirty:
            touched = self._dirty[start:self._n_dirty]
            if len(touched) > self.problem.n_servers // 4:
                self._rows[n] = self._cols[:, n]
            else:
                self._rows[n, touched] = self._cols[touched, n]
            self._synced[n] = self._n_dirty
        return self._rows[n]

    # Direct per-pair checks: policies that only ever ask about one
    # (framework, server) pair (PS-DSF's cursor, the large-cluster random
    # rule) never build the room matrix, so placements cost one subtraction.
    def room_one(self, n: int, i: int) -> int:
        # Python floats: the same IEEE products, sums and minimum as room_row's
        # numpy arithmetic, without numpy calls on a four-element row.
        if not self.problem.eligible[n, i]:
            return 0
        if self._inv_lists is None:
            self._inv_lists = (self._inv.tolist(), self._big.tolist())
        inv, big = self._inv_lists[0][n], self._inv_lists[1][n]
        v = min(min([f * a + b for f, a, b in zip(self.free[i].tolist(), inv, big)]), TASK_LIMIT)
        return int(v + 1e-9)

    def room_row(self, n: int, servers: np.ndarray | None = None) -> np.ndarray:
        """Tasks of n that fit on each server (or on `servers`), computed
        afresh from `free` with the same arithmetic as `room_one` and the
        incremental columns, for callers that want one row without the room
        matrix's upkeep."""
        free = self.free if servers is None else self.free[servers]
        ratio = (free * self._inv[n] + self._big[n]).min(axis=1)
        ratio += 1e-9
        np.floor(ratio, out=ratio)
        np.minimum(ratio, TASK_LIMIT, out=ratio)
        out = ratio.astype(np.int64)
        out[~(self.problem.eligible[n] if servers is None else self.problem.eligible[n, servers])] = 0
        return out

    def first_with_room(self, n: int, servers: np.ndarray) -> int:
        """Index in `servers` (eligible for n) of the first with room for one task of
        n, by room_row's arithmetic (its room >= 1 exactly when min + 1e-9 >= 1); -1 if none."""
        ratio = (self.free[servers] * self._inv[n] + self._big[n]).min(axis=1)
        ratio += 1e-9
        hits = np.flatnonzero(ratio >= 1.0)
        return int(hits[0]) if len(hits) else -1

    @property
    def has_rows(self) -> bool:
        return self._rows is not None

    def fits_one(self, n: int, i: int) -> bool:
        if not self._elig_rows[n, i]:
            return False
        f = self.free[i]
        for r, t in self._need[n]:
            if f[r] < t:
                return False
        return True

    @property
    def cols(self) -> np.ndarray:
        """servers x frameworks: tasks that fit (current, authoritative)."""
        if self._rows is None:
            self._build()
        return self._cols

    def col(self, i: int) -> np.ndarray:
        """Tasks of every framework that fit on server i (current)."""
        if self._rows is None:
            self._build()
        return self._cols[i]

    @property
    def gamma_full(self) -> np.ndarray:
        if self._gamma_full is None:
            self._gamma_full = self.problem.fit_counts(self.problem.capacity, dtype=self._room_dtype())
        return self._gamma_full

    def _refresh(self, i: int) -> None:
        if self._n_dirty == len(self._dirty):
            self._dirty = np.concatenate([self._dirty, np.empty_like(self._dirty)])
        self._dirty[self._n_dirty] = i
        self._n_dirty += 1
        if self._rows is None:
            return
        # free is clamped at 0 on placement, so the ratio is never negative.
        buf, ratio = self._buf, self._ratio
        np.multiply(self.free[i][:, None], self._invT, out=buf)
        buf += self._bigT
        buf.min(axis=0, out=ratio)
        ratio += 1e-9
        np.floor(ratio, out=ratio)
        np.minimum(ratio, self._room_max, out=ratio)
        ratio *= self._eligT[i]
        self._cols[i] = ratio

    def note_changed(self, servers: np.ndarray) -> None:
        """Servers whose free capacity something else (the C fill) changed."""
        for i in servers.tolist():
            self._refresh(i)

    def restricted(self, servers: np.ndarray) -> "FillState":
        """This state on a subset of the servers (`Problem.restricted`), with
        the same task totals, caps and free amounts (bit for bit)."""
        sub = FillState(self.problem.restricted(servers), self.x_server[:, servers], self.limit)
        sub.free = self.free[servers].copy()
        sub.x = self.x.copy()
        return sub

    def absorb(self, sub: "FillState", servers: np.ndarray) -> None:
        """Take back what a fill of `self.restricted(servers)` placed."""
        changed = servers[(sub.x_server != self.x_server[:, servers]).any(axis=0)]
        self.x_server[:, servers] = sub.x_server
        self.x[:] = sub.x
        self.free[servers] = sub.free
        for i in changed.tolist():
            self._refresh(i)

    def place(self, problem: Problem, n: int, i: int, count: int) -> None:
        self.x_server[n, i] += count
        self.x[n] += count
        f = self.free[i]
        f -= count * problem.demand[n]
        np.maximum(f, 0.0, out=f)  # float noise must not turn "exactly full" into negative
        self._refresh(i)
        if self.log is not None:
            self.log.append((n, i, count))

    def release(self, n: int, i: int, count: int = 1) -> None:
        """A task of n on server i ended (simulator)."""
        self.x_server[n, i] -= count
        self.x[n] -= count
        self.free[i] += count * self.problem.demand[n]
        self._refresh(i)


def make_selection(problem: Problem, name: str, seed: int = 0):
    if name not in SELECTIONS:
        raise ValueError(f"unknown server-selection rule {name!r} (choose from {', '.join(SELECTIONS)})")
    cls = SELECTIONS[name]
    rng = np.random.default_rng(seed)
    return cls(problem, rng, seed=seed) if name == "random" else cls(problem, rng)


def fill(problem: Problem, crit: Criterion, state: FillState, active: np.ndarray, selection=None,
         unit: np.ndarray | None = None, all_fit: bool = False) -> None:
    """Progressive filling of `state` in place among the `active` frameworks.

    `unit` caches crit.unit() for callers that fill repeatedly (the simulator);
    `all_fit` says the caller already knows every active framework fits
    somewhere (the re-allocator), which skips a frameworks x servers scan."""
    act = np.asarray(active, dtype=bool) & (state.x < state.limit)
    # Frameworks that fit nowhere now can never fit during this fill (free
    # capacity only shrinks), so drop them before building the heap.
    if not all_fit:
        idx = np.flatnonzero(act)
        act[idx[~problem.fits_any(state.free, idx)]] = False
    if crit.server_specific:
        if not native_fill.fill_server_specific(problem, crit, state, act):
            _fill_server_specific(problem, crit, state, act)
    else:
        unit = crit.unit() if unit is None else unit
        if not native_fill.fill_pooled(problem, unit, selection, state, act):
            _fill_pooled(problem, unit, selection, state, act)


def progressive_fill(problem: Problem, criterion: type[Criterion] | Criterion, selection: str | None = None,
                     seed: int = 0, initial: np.ndarray | None = None,
                     active: np.ndarray | None = None, name: str | None = None,
                     copy_initial: bool = True) -> Allocation:
    """Fill from `initial` (default empty) among `active` frameworks (default
    all); with copy_initial=False an int64 `initial` is filled in place (and
    becomes the allocation's matrix) instead of copied."""
    crit = criterion(problem) if isinstance(criterion, type) else criterion
    state = FillState(problem, initial, copy=copy_initial)
    act = np.ones(problem.n_frameworks, dtype=bool) if active is None else np.asarray(active, dtype=bool)
    sel = None
    sel_name = selection or crit.default_selection
    if not crit.server_specific:
        sel = make_selection(problem, sel_name, seed)
    fill(problem, crit, state, act, sel)
    label = name or (crit.name if crit.server_specific or sel_name == crit.default_selection
                     else f"{crit.name}:{sel_name}")
    return Allocation(problem, state.x_server, label)


def _q(v: float) -> float:
    """Heap key: the share rounded to 12 significant digits, so that shares
    equal up to float noise compare equal and the tuple order (key, index)
    applies the tie rule, also for the runner-up at the top of the heap."""
    return float(f"{v:.12g}")


def _count_before_crossing(x: int, u: float, n: int, s_m: float, m: int) -> int:
    """Tasks n takes before its share x*u passes the runner-up's (s_m, m)."""
    c = max(0, int((s_m - x * u) / u) - 1)
    tol = TOL * max(1.0, abs(s_m))
    while True:
        a = (x + c) * u
        if a < s_m - tol or (abs(a - s_m) <= tol and n < m):
            c += 1
        else:
            return c


def _residual_count(xn: int, wn: float, n: int, i: int, g_i0: int, j: int, g2: int, limit: int,
                    runner_up: tuple[float, int] | None) -> int:
    """rPS-DSF batch on server i: residual gamma on i drops by one per task;
    stay while i is still the best server (gamma above the runner-up server's
    g2, or equal with i < j) and the key (x+1)/(w gamma) stays below the
    runner-up framework's.  Both conditions only turn false as the count
    grows (the key's numerator grows and its denominator shrinks, and float
    division is monotone), so the first failing count is found by bisection:
    the cost does not depend on how many tasks fit."""
    upper = min(limit, g_i0)  # gamma on i must stay positive
    if j >= 0 and g2 > 0:
        upper = min(upper, g_i0 - g2 + (1 if i < j else 0))
    if runner_up is None or upper <= 1:
        return max(1, upper)
    return max(1, first_false(lambda c: _key_below((xn + c + 1) / (wn * (g_i0 - c)), n, runner_up), 1, upper))


def first_false(pred, lo: int, hi: int) -> int:
    """First k in [lo, hi) with pred(k) false, else hi; pred must be true
    then false as k grows (monotone), which is what makes bisection exact."""
    while lo < hi:
        mid = (lo + hi) // 2
        if pred(mid):
            lo = mid + 1
        else:
            hi = mid
    return lo


# rPS-DSF spreads a framework over tied servers in one step only when its key
# stays below the runner-up framework's for at least this many more tasks:
# with many frameworks at close shares batches are short and the plain step
# is cheaper than a water level.
_SPREAD_MIN = 64


def _key_below(key: float, n: int, runner_up: tuple[float, int] | None) -> bool:
    if runner_up is None:
        return True
    s_m, m = runner_up
    tol = TOL * max(1.0, abs(s_m))
    return key < s_m - tol or (abs(key - s_m) <= tol and n < m)


def _leads_by(x_after: int, wn: float, best: int, n: int, runner_up) -> bool:
    return best > 0 and _key_below(x_after / (wn * best), n, runner_up)


def _residual_spread(room: np.ndarray, xn: int, wn: float, n: int, left: int, runner_up) -> np.ndarray:
    """rPS-DSF for one framework over all its servers: with t tasks placed,
    its best residual gamma is the water level L(t) of its rooms, and it
    takes task t+1 while (x+t+1)/(w L(t)) stays below the runner-up's key.
    L only falls and the numerator only grows, so the number of tasks is
    found by bisection over t and placed by water-filling."""
    room = room.astype(np.int64)

    def ok(t: int) -> bool:
        level = water_level(room, t)
        return level > 0 and _key_below((xn + t + 1) / (wn * level), n, runner_up)

    return water_fill(room, first_false(ok, 0, min(left, int(room.sum()))))


def _fill_pooled(problem, unit, sel, state, act) -> None:
    # Python lists: numpy scalar arithmetic in this loop costs more than the work.
    x = state.x.tolist()
    u = unit.tolist()
    lim = state.limit.tolist()
    free = state.free
    heap = [(_q(x[n] * u[n]), n) for n in np.flatnonzero(act).tolist()]
    heapq.heapify(heap)
    pick_one = getattr(sel, "pick_one", None)
    # Rules that keep their own state-aware caches pick straight from the
    # FillState; the random rule does so (rejection sampling: same
    # distribution, another stream) only on large clusters.
    pick_state = getattr(sel, "pick_one_state", None)
    if pick_state is not None and problem.n_servers < getattr(sel, "state_pick_min_servers", 0):
        pick_state = None
    # Servers outside which nobody fits (a rule told so by the re-allocator).
    within = getattr(sel, "within", None)
    begin = getattr(sel, "begin_fill", None)
    if begin is not None:
        begin(state)
    while heap:
        s, n = heapq.heappop(heap)
        limit = lim[n] - x[n]
        if heap:
            s_m, m = heap[0]
            count = min(_count_before_crossing(x[n], u[n], n, s_m, m), limit)
        else:
            count = limit
        if count <= 0:
            continue
        if count == 1 and (pick_one is not None or pick_state is not None):
            # The common case with many similar frameworks: one task, no
            # per-server count vector.
            i = pick_state(n, state) if pick_state is not None else pick_one(n, state.row(n), free)
            if i < 0:
                continue
            state.place(problem, n, i, 1)
            x[n] += 1
        else:
            # Without the room matrix (rules that pick from their own caches)
            # one fresh row is cheaper than building and maintaining it.
            if state.has_rows:
                fit = state.row(n)
            elif within is None:
                fit = state.room_row(n)
            else:
                fit = np.zeros(problem.n_servers, dtype=np.int64)
                fit[within] = state.room_row(n, within)
            count = min(count, int(fit.sum()))
            if count <= 0:
                continue
            placed = sel.place(n, count, fit, free)
            for i in np.flatnonzero(placed).tolist():
                state.place(problem, n, i, int(placed[i]))
            got = int(placed.sum())
            x[n] += got
            if got < count:
                continue
        if x[n] < lim[n]:
            heapq.heappush(heap, (_q(x[n] * u[n]), n))


def _fill_server_specific(problem, crit, state, act) -> None:
    w = problem.weight
    x = state.x
    residual = crit.residual
    gamma_full = None if residual else state.gamma_full

    order: dict[int, np.ndarray] = {}
    cursor: dict[int, int] = {}
    demand_tol = problem.demand - 1e-9

    def key_of(n):
        if residual:
            # gamma is the room itself (never negative): best and runner-up
            # by two argmax calls on the cached row, the best masked for the
            # second call and restored (no temporaries of servers length).
            room = state.row(n)
            i = int(room.argmax())
            gi = int(room[i])
            if gi <= 0:
                return None
            room[i] = -1
            j = int(room.argmax())
            g2 = int(room[j])  # read before restoring: j == i on a one-server cluster
            room[i] = gi
            return (x[n] + 1) / (w[n] * gi), i, j, g2, gi
        # PS-DSF: gamma is static and capacity only shrinks during a fill, so
        # the best fitting server is found by a cursor that only moves forward
        # over the servers sorted by gamma (ties: lowest index).
        if n not in order:
            g = gamma_full[n]
            order[n] = np.flatnonzero(g > 0)[np.argsort(-g[g > 0], kind="stable")]
            cursor[n] = 0
        srv, k = order[n], cursor[n]
        # free is never negative, so resources n does not need always pass.
        dn = demand_tol[n]
        free_ = state.free
        if k < len(srv) and not (free_[srv[k]] >= dn).all():
            # Scan forward in growing blocks: many servers ahead may be full.
            k += 1
            block = 8
            while k < len(srv):
                chunk = srv[k:k + block]
                ok = (free_[chunk] >= dn).all(axis=1)
                if ok.any():
                    k += int(np.argmax(ok))
                    break
                k += len(chunk)
                block = min(block * 2, 1024)
        cursor[n] = k
        if k == len(srv):
            return None
        i = int(srv[k])
        return (x[n] + 1) / (w[n] * gamma_full[n, i]), i, -1, -1, int(gamma_full[n, i])

    heap = []
    for n in np.flatnonzero(act):
        k = key_of(n)
        if k is not None:
            heap.append((_q(k[0]), int(n)))
    heapq.heapify(heap)
    while heap:
        stored, n = heapq.heappop(heap)
        k = key_of(n)
        if k is None:
            continue
        key, i, j, g2, g_i0 = k
        if _q(key) > stored:
            heapq.heappush(heap, (_q(key), n))
            continue
        room = g_i0 if residual else state.room_one(n, i)
        if room <= 0:
            # PS-DSF's cursor test (free >= demand - 1e-9 per resource) passed a
            # server on which the room (floor(min free / demand + 1e-9)) is 0 tasks,
            # e.g. 1.3999999999 cpu for 0.1-cpu tasks after 13 placements.  Placing 0
            # would re-queue n with the same key, first in line, forever.  Free only
            # shrinks during a fill, so the server is passed for good.
            cursor[n] += 1
            nxt = key_of(n)
            if nxt is not None:
                heapq.heappush(heap, (_q(nxt[0]), n))
            continue
        limit = int(min(room, state.limit[n] - x[n]))
        if not residual:
            # gamma on full capacity is static: i stays best while it fits.
            count = limit
            if heap:
                count = min(count, max(1, _count_before_crossing(int(x[n]) + 1, 1.0 / (w[n] * g_i0), n,
                                                                 heap[0][0], heap[0][1])))
        else:
            count = _residual_count(int(x[n]), float(w[n]), n, i, g_i0, j, g2, limit,
                                    heap[0] if heap else None)
            left = int(state.limit[n] - x[n])
            if count < left and _leads_by(int(x[n]) + count + _SPREAD_MIN, float(w[n]), max(g_i0 - count, g2), n,
                                          heap[0] if heap else None):
                # Far ahead of everyone else and i is tied with other
                # servers: the next tasks spread over the tied servers one
                # by one; place the whole spread at once (water-filling).
                placed = _residual_spread(state.row(n), int(x[n]), float(w[n]), n, left, heap[0] if heap else None)
            else:
                placed = None
            if placed is not None and int(placed.sum()) > count:
                for srv in np.flatnonzero(placed).tolist():
                    state.place(problem, n, srv, int(placed[srv]))
                if x[n] < state.limit[n]:
                    nxt = key_of(n)
                    if nxt is not None:
                        heapq.heappush(heap, (_q(nxt[0]), n))
                continue
        state.place(problem, n, i, count)
        if x[n] < state.limit[n]:
            # A lower bound of the new key is enough: the heap re-keys on pop.
            # Only n placed since its key was computed, so its other servers
            # are unchanged and i's gamma dropped by `count` (residual) or not.
            best = max(g_i0 - count, g2) if residual else g_i0
            if best > 0:
                heapq.heappush(heap, (_q((x[n] + 1) / (w[n] * best)), n))
            else:
                nxt = key_of(n)
                if nxt is not None:
                    heapq.heappush(heap, (_q(nxt[0]), n))
