"""Fluid (continuous) progressive filling.

All unfrozen frameworks raise their weighted share share_n = unit_n x_n at
the same pace; a framework freezes when it can no longer grow.  The result
is the lexicographic max-min allocation of the fluid relaxation, which the
property tests check against `exact.maxmin_fluid` (a different procedure:
per-framework LP probes after every level).

* One server class (identical servers, same eligibility): closed form, no LP.
  The level rises until a resource saturates or a framework hits max_tasks;
  frameworks using a saturated resource freeze.
* Otherwise each phase solves one LP for the largest common rise, then one
  LP maximising the total share of the unfrozen frameworks: whoever ends
  above the level can still grow; only the rest are probed one by one.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from .allocation import Allocation
from .exact import FluidLP, _can_exceed, _constraints_for, _max_level, final_solution, default_unit
from .model import Problem

REL = 1e-9


def fluid_fill(problem: Problem, unit: np.ndarray | None = None, lp: FluidLP | None = None) -> Allocation:
    unit = default_unit(problem) if unit is None else np.asarray(unit, float)
    lp = lp or FluidLP(problem)
    if lp.n_classes == 1:
        return _single_class(problem, unit, lp)
    return _water_fill(problem, unit, lp)


def _single_class(problem, unit, lp) -> Allocation:
    F = problem.n_frameworks
    cap = lp.class_cap[0]
    d = problem.demand
    rate = 1.0 / unit  # tasks per unit of level
    x = np.zeros(F)
    active = np.ones(F, bool)
    t = 0.0
    limit = np.where(problem.max_tasks < np.iinfo(np.int64).max // 8, problem.max_tasks, np.inf)
    while active.any():
        used = x @ d
        speed = rate[active] @ d[active]
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(speed > 0, (cap - used) / speed, np.inf)
        to_cap = (limit[active] - x[active]) / rate[active]
        step = max(0.0, min(room.min(), to_cap.min()))
        t += step
        x[active] = t * rate[active]
        used = x @ d
        saturated = used >= cap * (1 - REL) - 1e-12
        blocked = (d[:, saturated] > 0).any(axis=1) | (x >= limit * (1 - REL))
        newly = active & blocked
        if not newly.any():
            break
        active &= ~newly
    y = np.zeros(lp.n_pairs)
    y[:] = x[lp.pair_n]  # one class: pair index == framework index
    return Allocation(problem, lp.to_servers(y), "fluid_fill", {"method": "closed form", "per_class": lp.per_class(y)})


def _water_fill(problem, unit, lp) -> Allocation:
    F = problem.n_frameworks
    level = np.full(F, np.nan)  # frozen level, NaN while growing
    phases = probes = 0
    while np.isnan(level).any():
        phases += 1
        grow = np.flatnonzero(np.isnan(level))
        t, _, _ = _max_level(lp, unit, level, grow)
        # One LP: push the growing frameworks' total share up from level t.
        rows, rhs = _constraints_for(lp, unit, level, grow, t)
        weights = np.zeros(F)
        weights[grow] = unit[grow]
        c = -(lp.S.T @ weights)
        y = lp.solve(c, sparse.vstack(rows, format="csr"), np.concatenate(rhs))
        share = unit * (lp.S @ y)
        undecided = [n for n in grow if share[n] <= t * (1 + 1e-7) + 1e-12]
        frozen = []
        for n in undecided:
            probes += 1
            if not _can_exceed(lp, unit, level, grow, t, n)[0]:
                frozen.append(n)
        if not frozen:
            frozen = list(grow)
        level[frozen] = t
    y = final_solution(lp, unit, level)
    return Allocation(problem, lp.to_servers(y), "fluid_fill",
                      {"method": "LP water-filling", "phases": phases, "probes": probes,
                       "per_class": lp.per_class(y)})
