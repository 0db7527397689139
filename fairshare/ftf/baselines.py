"""Baseline GPU policies: DRF, Tiresias-style 2D-LAS, Gavel-style max-min
finish-time fairness.  Each is one Policy subclass."""
from __future__ import annotations

import math

import numpy as np

from .sim import Grant, Policy, View, place, take


def _greedy(view: View, order, free=None, keep=()) -> list[Grant]:
    """Grant gangs in `order` wherever they fit (later ones backfill)."""
    free = np.array([s.gpus for s in view.servers]) if free is None else free
    grants = []
    for g in keep:
        take(free, g.gpus)
        grants.append(Grant(g.job, g.gpus))
    for j in order:
        gpus = place(view.jobs[j].gpus, free)
        if gpus is not None:
            take(free, gpus)
            grants.append(Grant(int(j), gpus))
    return grants


class DRF(Policy):
    """DRF on GPUs (one resource: max-min on GPU shares), non-preemptive as in
    the Mesos and YARN allocators: running jobs keep their GPUs; free GPUs go
    to waiting jobs lowest weighted share first.  Every waiting job holds
    share 0, so ties go to the earliest arrival: FIFO with backfilling."""
    name = "drf"

    def allocate(self, view: View) -> list[Grant]:
        keep = [view.previous[j] for j in view.active if j in view.previous]
        waiting = [j for j in view.active if j not in view.previous]
        return _greedy(view, waiting, keep=keep)


class LAS(Policy):
    """Tiresias' discretised two-dimensional least-attained-service: attained
    service is GPUs x time; queue k holds jobs with attained service in
    [T_k-1, T_k); lower queues first, FIFO (arrival) inside a queue.  A job
    that has waited `starve` times longer than it has run goes back to queue
    0 (Tiresias' promotion against starvation).  Preemptive every round."""
    name = "las"

    def __init__(self, thresholds=(3600.0, 36000.0), starve: float = 4.0):
        self.thresholds = tuple(thresholds)
        self.starve = starve

    def queue(self, view: View, j: int) -> int:
        waited = (view.rounds_active[j] - view.rounds_run[j]) * view.lease
        ran = view.rounds_run[j] * view.lease
        if ran > 0 and waited > self.starve * ran:
            return 0
        return int(np.searchsorted(self.thresholds, view.attained[j], side="right"))

    def allocate(self, view: View) -> list[Grant]:
        order = sorted(view.active, key=lambda j: (self.queue(view, j), view.jobs[j].arrival, j))
        return _greedy(view, order)


def ftf_shares(view: View) -> np.ndarray:
    """Gavel's max-min finish-time fairness on time fractions X_j in [0, 1] of
    each active job's gang: rho_j(X) = (age_j + rem_j / X_j) / T_ind_j.

    Stage 1, the min-max: rho_j <= r  <=>  X_j >= rem_j / (r T_ind_j - age_j),
    so the smallest feasible r (all X_j <= 1, sum G_j X_j <= GPUs) is found by
    bisection.  Stage 2, an LP (HiGHS): with every job held at its stage-1
    fraction, maximise the GPUs in use so the leftover is not wasted."""
    from scipy.optimize import linprog
    act = list(view.active)
    G = np.array([view.jobs[j].gpus for j in act], dtype=float)
    rem = np.array([view.remaining[j] for j in act])
    age = np.array([view.now - view.jobs[j].arrival for j in act])
    tind = np.array([view.t_independent(j) for j in act])
    cap = view.total_gpus

    def need(r):
        slack = r * tind - age
        with np.errstate(divide="ignore"):
            return np.where(slack > 0, rem / np.where(slack > 0, slack, 1), np.inf)

    def ok(r):
        x = need(r)
        return (x <= 1 + 1e-12).all() and (G * x).sum() <= cap + 1e-9

    lo, hi = 0.0, 1.0
    while not ok(hi):
        hi *= 2
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    x_min = np.minimum(need(hi), 1.0)
    lp = linprog(-G, A_ub=G[None, :], b_ub=[cap], bounds=list(zip(x_min, np.ones(len(act)))), method="highs")
    return lp.x if lp.status == 0 else x_min


class GavelFTF(Policy):
    """Gavel-style: the FTF time fractions (ftf_shares), realised per round by
    Gavel's priority rule, X_j / (share of rounds received so far), highest
    first, gangs placed greedily."""
    name = "gavel-ftf"

    def allocate(self, view: View) -> list[Grant]:
        x = ftf_shares(view)
        prio = []
        for k, j in enumerate(view.active):
            got = view.rounds_run[j] / view.rounds_active[j] if view.rounds_active[j] else 0.0
            prio.append((-(x[k] / got) if got > 0 else -math.inf, view.jobs[j].arrival, j))
        return _greedy(view, [j for _, _, j in sorted(prio)])
