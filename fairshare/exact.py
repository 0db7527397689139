"""Exact references on the fluid relaxation, solved with HiGHS (scipy).

* `maxmin_fluid`: lexicographic max-min of weighted shares share_n = unit_n x_n
  (unit from a pooled criterion, DRF by default) by the textbook sequence of
  LPs: maximise the common level t of the unfixed frameworks, fix every
  framework whose level row has a positive dual (it cannot exceed t while
  the others keep t), and only if none does, probe each unfixed framework
  with its own LP ("can it exceed t while every other keeps its level?");
  repeat.  Tolerance 1e-9 relative on
  levels (HiGHS primal/dual feasibility 1e-10).
* `pf_fluid`: proportional fairness, max sum_n w_n log x_n, by Kelley's cutting
  plane: log is replaced by the minimum of its tangents, the LP is solved,
  tangents are added at the new point, until the LP bound and the true
  objective agree within 1e-6 (absolute, on sum w log x).
* `round_down_fill`: integer rounding, floor then greedy fill.
* `brute_force_maxmin`: exact discrete lexicographic max-min for tiny
  instances (tests).

Identical servers (same capacity and same set of eligible frameworks) are
merged into one class with summed capacity before solving: for the fluid
relaxation this is exact and it shrinks the Alibaba LP from 1,523 servers to
a few dozen classes.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from . import native_fill
from .allocation import Allocation
from .model import TASK_LIMIT, Problem

HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
LEVEL_TOL = 1e-9


class SolverError(RuntimeError):
    pass


class FluidLP:
    """Pair variables y[n, c] >= 0 over eligible (framework, server class) pairs."""

    def __init__(self, problem: Problem):
        self.problem = problem
        keys: dict[bytes, int] = {}
        cls = np.empty(problem.n_servers, dtype=np.int64)
        for i in range(problem.n_servers):
            k = problem.capacity[i].tobytes() + np.packbits(problem.eligible[:, i]).tobytes()
            cls[i] = keys.setdefault(k, len(keys))
        self.server_class = cls
        self.n_classes = len(keys)
        self.class_count = np.bincount(cls, minlength=self.n_classes)
        first = np.array([np.flatnonzero(cls == c)[0] for c in range(self.n_classes)])
        self.class_cap = problem.capacity[first] * self.class_count[:, None]
        elig = problem.eligible[:, first]
        self.pair_n, self.pair_c = np.nonzero(elig)
        self.n_pairs = len(self.pair_n)
        F, R = problem.n_frameworks, len(problem.resources)
        # resource rows: (class c, resource r) -> sum_n d[n, r] y[n, c] <= cap
        rows, cols, vals = [], [], []
        for r in range(R):
            dv = problem.demand[self.pair_n, r]
            nz = dv > 0
            rows.append(self.pair_c[nz] * R + r)
            cols.append(np.flatnonzero(nz))
            vals.append(dv[nz])
        A = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                              shape=(self.n_classes * R, self.n_pairs))
        keep = np.diff(A.indptr) > 0
        self.A_res = A[keep]
        self.b_res = self.class_cap.reshape(-1)[keep]
        # x_n = S @ y
        self.S = sparse.csr_matrix((np.ones(self.n_pairs), (self.pair_n, np.arange(self.n_pairs))),
                                   shape=(F, self.n_pairs))
        capped = np.flatnonzero(problem.max_tasks < np.iinfo(np.int64).max // 8)
        self.A_cap = self.S[capped]
        self.b_cap = problem.max_tasks[capped].astype(float)

    def solve(self, c, A_extra=None, b_extra=None, n_extra_vars=0, bounds_extra=None):
        """min c @ [y, extra] subject to the feasibility rows plus A_extra."""
        pad = sparse.csr_matrix((0, 0))
        blocks = [self.A_res, self.A_cap]
        bs = [self.b_res, self.b_cap]
        if n_extra_vars:
            blocks = [sparse.hstack([B, sparse.csr_matrix((B.shape[0], n_extra_vars))]) for B in blocks]
        A = sparse.vstack(blocks + ([A_extra] if A_extra is not None else []), format="csr")
        b = np.concatenate(bs + ([b_extra] if b_extra is not None else []))
        bounds = [(0, None)] * self.n_pairs + (bounds_extra or [])
        res = linprog(c, A_ub=A, b_ub=b, bounds=bounds, method="highs", options=HIGHS)
        del pad
        if res.status != 0:
            raise SolverError(f"HiGHS failed: {res.message}")
        # Duals of the A_extra rows (<= 0 for a minimisation), for callers
        # that read which constraints bind.
        self.last_extra_duals = res.ineqlin.marginals[A.shape[0] - (0 if A_extra is None else A_extra.shape[0]):]
        return res.x

    def to_servers(self, y: np.ndarray) -> np.ndarray:
        """Spread each class's fluid tasks evenly over its servers."""
        F = self.problem.n_frameworks
        per_class = np.zeros((F, self.n_classes))
        per_class[self.pair_n, self.pair_c] = y[:self.n_pairs]
        return per_class[:, self.server_class] / self.class_count[self.server_class][None, :]

    def per_class(self, y: np.ndarray) -> np.ndarray:
        out = np.zeros((self.problem.n_frameworks, self.n_classes))
        out[self.pair_n, self.pair_c] = y[:self.n_pairs]
        return out


class ClassAllocation(Allocation):
    """A fluid solution kept per server class (the LP's pair variables).
    Its frameworks x servers matrix, each class's tasks spread evenly over
    the class's servers, is built on first use: the rounded policies read
    only the per-class solution, and at 10,000 x 1,000 the matrix is 80 MB
    of floats (two such temporaries to build)."""

    def __init__(self, lp: FluidLP, y: np.ndarray, policy: str, meta: dict):
        self.problem = lp.problem
        self.policy = policy
        self.meta = dict(meta)
        self._lp, self._y, self._x = lp, y, None

    @property
    def x(self) -> np.ndarray:
        if self._x is None:
            self._x = self._lp.to_servers(self._y)
        return self._x


def default_unit(problem: Problem) -> np.ndarray:
    from .criteria import DRF
    return DRF(problem).unit()


def _level_rows(lp: FluidLP, unit, members, with_t: bool):
    """Rows  t - unit_n x_n <= 0 for n in members (or -unit_n x_n <= -level if not with_t)."""
    sub = lp.S[members].multiply(unit[members][:, None]).tocsr() * -1.0
    if with_t:
        sub = sparse.hstack([sub, sparse.csr_matrix(np.ones((len(members), 1)))], format="csr")
    return sub


def _constraints_for(lp, unit, fixed_level, unfixed, t_floor=None):
    """Rows keeping fixed frameworks at their level and, if t_floor, unfixed at >= t_floor."""
    rows, rhs = [], []
    fixed = np.flatnonzero(~np.isnan(fixed_level))
    if len(fixed):
        rows.append(_level_rows(lp, unit, fixed, False))
        rhs.append(-fixed_level[fixed] * (1 - LEVEL_TOL))
    if t_floor is not None and len(unfixed):
        rows.append(_level_rows(lp, unit, unfixed, False))
        rhs.append(np.full(len(unfixed), -t_floor * (1 - LEVEL_TOL)))
    return rows, rhs


def _max_level(lp, unit, fixed_level, unfixed):
    """Largest common level t of the unfixed frameworks, and the dual of
    each one's row t <= unit_n x_n (the t rows come last)."""
    rows, rhs = _constraints_for(lp, unit, fixed_level, unfixed)
    rows = [sparse.hstack([r, sparse.csr_matrix((r.shape[0], 1))], format="csr") for r in rows]
    rows.append(_level_rows(lp, unit, unfixed, True))
    rhs.append(np.zeros(len(unfixed)))
    c = np.zeros(lp.n_pairs + 1)
    c[-1] = -1.0
    sol = lp.solve(c, sparse.vstack(rows, format="csr"), np.concatenate(rhs), 1, [(0, None)])
    return sol[-1], sol, -lp.last_extra_duals[-len(unfixed):]


# A level row whose dual exceeds this (the duals of the t rows sum to 1) binds.
DUAL_TOL = 1e-7


def _can_exceed(lp, unit, fixed_level, unfixed, t, n) -> tuple[bool, np.ndarray]:
    rows, rhs = _constraints_for(lp, unit, fixed_level, unfixed, t)
    c = -(lp.S[n].toarray()[0] * unit[n])
    sol = lp.solve(c, sparse.vstack(rows, format="csr"), np.concatenate(rhs))
    return bool(-c @ sol > t * (1 + 1e-7) + 1e-12), sol


def final_solution(lp, unit, level):
    """A placement meeting every level; maximising total share lifts each
    framework from the (1 - 1e-9)-relaxed bound back to its exact level."""
    rows, rhs = _constraints_for(lp, unit, level, np.array([], dtype=int))
    return lp.solve(-(lp.S.T @ unit), sparse.vstack(rows, format="csr"), np.concatenate(rhs))


def maxmin_fluid(problem: Problem, unit: np.ndarray | None = None, lp: FluidLP | None = None,
                 name: str = "maxmin_fluid") -> Allocation:
    unit = default_unit(problem) if unit is None else np.asarray(unit, float)
    lp = lp or FluidLP(problem)
    F = problem.n_frameworks
    level = np.full(F, np.nan)
    rounds = 0
    sol = None
    while np.isnan(level).any():
        rounds += 1
        unfixed = np.flatnonzero(np.isnan(level))
        t, sol, dual = _max_level(lp, unit, level, unfixed)
        # Several saturated frameworks per round, without a probe LP each:
        # with duals y >= 0 on the rows t <= unit_n x_n (sum y = 1), every
        # feasible point has sum_n y_n unit_n x_n <= t, so no framework with
        # y_n > 0 can exceed t while the others keep t.  A saturated framework
        # whose dual happens to be 0 (degenerate optimum) stays unfixed and is
        # fixed at the same t next round; only when no dual is clearly
        # positive do we fall back to probing each framework.
        newly = unfixed[dual > DUAL_TOL]
        if len(newly) == 0:
            newly = [n for n in unfixed if not _can_exceed(lp, unit, level, unfixed, t, n)[0]]
        if len(newly) == 0:  # numerical corner: everything left is at t
            newly = list(unfixed)
        level[newly] = t
    y = final_solution(lp, unit, level)
    return ClassAllocation(lp, y, name, {"levels": level.tolist(), "lp_rounds": rounds,
                                         "server_classes": lp.n_classes, "per_class": lp.per_class(y)})


def pf_fluid(problem: Problem, lp: FluidLP | None = None, tol: float = 1e-6, max_iter: int = 500,
             name: str = "pf_fluid") -> Allocation:
    lp = lp or FluidLP(problem)
    F = problem.n_frameworks
    w = problem.weight
    # Upper bound of x_n alone: the whole eligible fluid capacity.
    ub = np.array([lp.solve(-lp.S[n].toarray()[0]) @ lp.S[n].toarray()[0] for n in range(F)])
    # A framework that can get nothing (max_tasks 0) drops out of the objective.
    live = ub > 1e-12
    w = np.where(live, w, 0.0)
    points = [list(np.geomspace(ub[n] * 1e-4, ub[n], 12)) if live[n] else [] for n in range(F)]
    lower = np.where(live, np.log(np.where(live, ub, 1.0) * 1e-4) - 5, 0.0)
    gap = math.inf
    it = 0
    while it < max_iter:
        it += 1
        rows, cols, vals, rhs = [], [], [], []
        k = 0
        for n in range(F):
            for a in points[n]:
                # z_n - x_n / a <= log a - 1
                rows += [k] * 1
                cols.append(lp.n_pairs + n)
                vals.append(1.0)
                rhs.append(math.log(a) - 1)
                k += 1
        A_z = sparse.csr_matrix((vals, (rows, cols)), shape=(k, lp.n_pairs + F))
        # x_n part of every tangent row
        tangent_n = np.repeat(np.arange(F), [len(p) for p in points])
        inv_a = np.concatenate([1.0 / np.array(p) for p in points])
        A_x = sparse.diags(-inv_a) @ lp.S[tangent_n]
        A = sparse.hstack([A_x, sparse.csr_matrix((k, F))], format="csr") + A_z
        c = np.concatenate([np.zeros(lp.n_pairs), -w])
        sol = lp.solve(c, A, np.array(rhs), F, [(lo, None) if lv else (0, 0) for lo, lv in zip(lower, live)])
        x = lp.S @ sol[:lp.n_pairs]
        z = sol[lp.n_pairs:]
        true = float(w[live] @ np.log(np.maximum(x[live], 1e-300)))
        bound = float(w @ z)
        gap = bound - true
        if gap <= tol:
            break
        for n in range(F):
            if live[n] and x[n] > 0 and z[n] - math.log(x[n]) > tol / (10 * F):
                points[n].append(float(x[n]))
    return ClassAllocation(lp, sol, name, {"pf_gap": gap, "iterations": it, "server_classes": lp.n_classes,
                                           "per_class": lp.per_class(sol)})


def _largest_remainder(split: np.ndarray, total: int) -> np.ndarray:
    """Integers summing to `total` in proportion to `split` (largest remainder)."""
    if total <= 0 or split.sum() <= 0:
        return np.zeros(len(split), dtype=np.int64)
    exact = split * (total / split.sum())
    out = np.floor(exact + 1e-9).astype(np.int64)
    rest = total - int(out.sum())
    if rest > 0:
        out[np.argsort(-(exact - out), kind="stable")[:rest]] += 1
    return out


def round_down_fill(fluid: Allocation, lp: FluidLP, unit_criterion: str = "drf", name: str = "") -> Allocation:
    """Integer rounding, floor then greedy fill.

    Each framework keeps floor(x_n) tasks, split over server classes in
    proportion to its fluid split (largest remainder) and placed on each
    class's servers in index order, as many as fit on one before the next.
    Frameworks are placed largest dominant demand first, and the targets in
    growing fractions, so the ones that bound the max-min level are not
    crowded out by others' floors.  What does not fit, and all remaining
    capacity, is then filled by progressive filling with `unit_criterion`.

    A class's servers are kept contiguous (grouped, index order within a
    class) so each step works on a view, and the room of a framework on them
    is the arithmetic of Problem.fit_counts for one framework: free over
    demand per needed resource, the minimum, floor(max(., 0) + 1e-9), capped
    at TASK_LIMIT; the same divisions, so the same counts bit for bit."""
    from .criteria import CRITERIA
    from .filling import progressive_fill
    p = fluid.problem
    per_class = fluid.meta["per_class"]
    totals = per_class.sum(axis=1)
    X = np.zeros((p.n_frameworks, p.n_servers), dtype=np.int64)
    by_class = np.argsort(lp.server_class, kind="stable")  # servers grouped by class, index order within
    start = np.searchsorted(lp.server_class[by_class], np.arange(lp.n_classes + 1))
    free = p.capacity[by_class]
    first = by_class[start[:-1]]
    class_eligible = p.eligible[:, first]
    order = np.argsort(-(p.demand / p.total).max(axis=1), kind="stable")
    targets = np.zeros_like(per_class, dtype=np.int64)
    for n in order:
        targets[n] = _largest_remainder(per_class[n], min(int(math.floor(totals[n] + 1e-7)), int(p.max_tasks[n])))
    placed = np.zeros_like(targets)  # tasks of n in class c so far
    if not native_fill.place_floors(p, free, start, by_class, order, targets, class_eligible, placed, X):
        _place_floors(p, free, start, by_class, order, targets, class_eligible, placed, X)
    filled = progressive_fill(p, CRITERIA[unit_criterion], "residual", initial=X, copy_initial=False)
    return Allocation(p, filled.x, name or fluid.policy.replace("_fluid", ""), {"rounded_from": fluid.policy})


def _place_floors(p, free, start, by_class, order, targets, class_eligible, placed, X) -> None:
    """round_down_fill's placement of the floored targets (the reference of
    fs_place_floors in fairshare/native/fill.c): free (servers in class
    order), placed (frameworks x classes) and X are updated."""
    steps = []
    for n in order.tolist():
        need = [(r, float(p.demand[n, r])) for r in np.flatnonzero(p.demand[n] > 0).tolist()]
        classes = [c for c in np.flatnonzero(targets[n]).tolist() if class_eligible[n, c]]
        steps.append((n, need, p.demand[n][None, :], classes, targets[n].tolist()))
    # A tight fluid solution does not pack exactly; placing the targets in
    # growing fractions spreads the shortfall over all frameworks instead of
    # starving whoever comes last in the order.
    for frac in (0.5, 0.8, 0.9, 1.0):
        for n, need, d_row, classes, target in steps:
            for c in classes:
                want = int(math.floor(target[c] * frac + 1e-9)) - int(placed[n, c])
                if want <= 0:
                    continue
                block = free[start[c]:start[c + 1]]
                r, d = need[0]
                g = block[:, r] / d
                for r, d in need[1:]:
                    np.minimum(g, block[:, r] / d, out=g)
                np.maximum(g, 0, out=g)
                g += 1e-9
                np.floor(g, out=g)
                np.minimum(g, TASK_LIMIT, out=g)
                fit = g.astype(np.int64)
                take = np.minimum(fit, np.maximum(0, want - (np.cumsum(fit) - fit)))
                block -= take[:, None] * d_row
                at = np.flatnonzero(take)
                X[n, by_class[start[c] + at]] += take[at]
                placed[n, c] += int(take[at].sum())


def brute_force_maxmin(problem: Problem, unit: np.ndarray | None = None, limit: int = 200_000) -> np.ndarray:
    """Exact discrete lexicographic max-min (tiny instances only): best x_server."""
    unit = default_unit(problem) if unit is None else unit
    F, S = problem.n_frameworks, problem.n_servers
    per_server = []
    for i in range(S):
        g = problem.fit_counts(problem.capacity, None, [i])[:, 0]
        g = np.minimum(g, np.minimum(problem.max_tasks, 10**6))
        opts = [v for v in itertools.product(*(range(int(k) + 1) for k in g))
                if (np.array(v) @ problem.demand <= problem.capacity[i] + 1e-9).all()]
        per_server.append(opts)
    total = math.prod(len(o) for o in per_server)
    if total > limit:
        raise ValueError(f"instance too large for brute force ({total} combinations)")
    best, best_key = None, None
    for combo in itertools.product(*per_server):
        X = np.array(combo).T
        x = X.sum(axis=1)
        if (x > problem.max_tasks).any():
            continue
        key = tuple(np.round(np.sort(x * unit), 12))
        if best_key is None or key > best_key:
            best, best_key = X, key
    return best
