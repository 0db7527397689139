"""Max-min fair completion times of multi-task jobs (Shafiee & Ghaderi,
IFIP Networking 2020; algorithm details are our reconstruction, docs/fairshare-notes.md §7).

Job j has a task on every server i with p[i, j] > 0; each server runs one
task at a time; C_j = max_i C_ij.  Each job has an increasing cost g_j(C)
(the negated utility; default slowdown C / max_i p[i, j]).  We look for the
lexicographically max-min fair utility vector, i.e. the lexicographically
smallest vector of costs sorted from worst to best.

* Element 1: bisection on the level l.  Job j gets the deadline
  g_j^-1(l); on each server the tasks are run earliest-deadline-first and the
  level is feasible iff every prefix of that order meets its deadline.  The
  bisection ends by snapping to the smallest achieved cost, so the level is
  exact (it is some job's actual cost in an EDF schedule).
* Further elements: iterative fixing.  With the fixed jobs at their levels,
  find the next common level; a job is a bottleneck when it cannot finish
  strictly earlier (its own minimal level, others held at the common level,
  is not lower); bottlenecks are fixed and we repeat.  When no job is a
  bottleneck alone (alternative bottleneck sets: where NP-hardness lives) we
  fix the job whose own minimal level is highest, a heuristic.
* `brute_force`: all per-server orders (tests, tiny instances).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


@dataclass(frozen=True)
class Cost:
    """Increasing cost g(C) with inverse; utility is -g."""
    g: Callable[[float], float]
    inverse: Callable[[float], float]


def slowdown(alone: float) -> Cost:
    return Cost(lambda c, a=alone: c / a, lambda lv, a=alone: lv * a)


def weighted_completion(weight: float) -> Cost:
    return Cost(lambda c, w=weight: c * w, lambda lv, w=weight: lv / w)


@dataclass
class MMFResult:
    costs: np.ndarray            # cost per job in the returned schedule
    levels: np.ndarray           # level each job was fixed at
    order: list                  # per server: job indices in run order
    completion: np.ndarray       # C_j

    def sorted_costs(self) -> np.ndarray:
        return np.sort(self.costs)[::-1]


def _schedule(p: np.ndarray, deadlines: np.ndarray):
    """EDF order per server; returns (order, C_j, feasible)."""
    M, J = p.shape
    completion = np.zeros(J)
    order, ok = [], True
    for i in range(M):
        jobs = [j for j in range(J) if p[i, j] > 0]
        jobs.sort(key=lambda j: (deadlines[j], j))
        t = 0.0
        for j in jobs:
            t += p[i, j]
            completion[j] = max(completion[j], t)
            if t > deadlines[j] * (1 + 1e-12) + 1e-12:
                ok = False
        order.append(jobs)
    return order, completion, ok


def _min_level(p, costs, fixed_deadline, subject, others_level, lo, hi, iters=100):
    """Smallest level for the jobs in `subject` (others unfixed at `others_level`,
    or at the common level when others_level is None), by bisection."""
    J = p.shape[1]

    def deadlines(level):
        d = fixed_deadline.copy()
        for j in range(J):
            if math.isnan(d[j]):
                d[j] = costs[j].inverse(level if (j in subject or others_level is None) else others_level)
        return d

    if not _schedule(p, deadlines(hi))[2]:
        return math.inf
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if _schedule(p, deadlines(mid))[2]:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    # Snap: the achieved worst cost among `subject` in the EDF schedule at hi.
    _, completion, _ = _schedule(p, deadlines(hi))
    return max(costs[j].g(completion[j]) for j in subject)


def max_min_fair(p: Sequence[Sequence[float]], costs: Sequence[Cost] | None = None) -> MMFResult:
    p = np.asarray(p, dtype=float)
    if p.ndim != 2 or (p < 0).any():
        raise ValueError("p must be a servers x jobs matrix of non-negative processing times")
    M, J = p.shape
    if (p.sum(axis=0) <= 0).any():
        bad = int(np.flatnonzero(p.sum(axis=0) <= 0)[0])
        raise ValueError(f"job {bad} has no task on any server")
    costs = list(costs) if costs is not None else [slowdown(float(p[:, j].max())) for j in range(J)]
    total = float(p.sum())
    hi = max(c.g(total) for c in costs) * (1 + 1e-9) + 1e-9  # any order meets this
    fixed = np.full(J, np.nan)        # deadlines of fixed jobs
    level = np.full(J, np.nan)
    while np.isnan(level).any():
        unfixed = [j for j in range(J) if np.isnan(level[j])]
        common = _min_level(p, costs, fixed, set(unfixed), None, 0.0, hi)
        own = {}
        for k in unfixed:
            own[k] = _min_level(p, costs, fixed, {k}, common, 0.0, common * (1 + 1e-9) + 1e-12)
        bottleneck = [k for k in unfixed if own[k] >= common * (1 - 1e-9) - 1e-12]
        if not bottleneck:
            bottleneck = [max(unfixed, key=lambda k: (own[k], -k))]
        for k in bottleneck:
            level[k] = common
            fixed[k] = costs[k].inverse(common)
    order, completion, ok = _schedule(p, fixed)
    assert ok, "internal error: final deadlines infeasible"
    return MMFResult(np.array([costs[j].g(completion[j]) for j in range(J)]), level, order, completion)


def brute_force(p: Sequence[Sequence[float]], costs: Sequence[Cost] | None = None, limit: int = 200_000) -> np.ndarray:
    """Lexicographically smallest worst-first cost vector over all per-server orders."""
    p = np.asarray(p, dtype=float)
    M, J = p.shape
    costs = list(costs) if costs is not None else [slowdown(float(p[:, j].max())) for j in range(J)]
    per_server = [list(itertools.permutations([j for j in range(J) if p[i, j] > 0])) for i in range(M)]
    if math.prod(len(x) for x in per_server) > limit:
        raise ValueError("instance too large for brute force")
    best = None
    for orders in itertools.product(*per_server):
        completion = np.zeros(J)
        for i, seq in enumerate(orders):
            t = 0.0
            for j in seq:
                t += p[i, j]
                completion[j] = max(completion[j], t)
        vec = tuple(np.round(np.sort([costs[j].g(completion[j]) for j in range(J)])[::-1], 9))
        if best is None or vec < best:
            best = vec
    return np.array(best)
