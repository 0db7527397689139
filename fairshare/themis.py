"""Themis-style finish-time fairness (Mahajan et al., NSDI'20) as a simulator policy.

rho_j = T_shared / T_ideal.  T_ideal is the job's run time alone on a 1/N
share of the cluster (N = frameworks currently contending): its total work
divided by the tasks a 1/N dominant share holds (at least 1, at most its
task count).  T_shared is estimated as elapsed time plus remaining work over
the tasks currently running (the simulators' "current estimate / ideal").

Allocation happens only when leases expire (every `lease` seconds): freed
resources wait for the next auction.  At an auction the (1 - f) fraction of
jobs with the worst rho bid; the Cole-Gkatzelis-Goel partial-allocation
auction is replaced by weighted max-min (DRF) filling among the bidders
(a simplification, stated in docs/fairshare.md), then leftovers go to every
job (work conservation).  f is the fairness knob: f -> 1 only the worst job
bids.  Defaults follow the YARN prototype: f = 0.2, lease = 300 s.
"""
from __future__ import annotations

import math

import numpy as np


def ideal_time(work: float, n_tasks: int, unit: float, contenders: int) -> float:
    per_share = math.floor(1.0 / (max(contenders, 1) * unit) + 1e-9) if unit > 0 else n_tasks
    parallel = min(max(per_share, 1), max(n_tasks, 1))
    return work / parallel


def rho(now: float, arrival: float, remaining_work: float, running: int, t_ideal: float) -> float:
    est = (now - arrival) + remaining_work / max(running, 1)
    return est / t_ideal if t_ideal > 0 else math.inf


def bidders(candidates: np.ndarray, rhos: np.ndarray, knob: float) -> np.ndarray:
    """The ceil((1 - knob) * n) candidates with the worst (largest) rho; at least one."""
    if len(candidates) == 0:
        return candidates
    k = max(1, math.ceil((1.0 - knob) * len(candidates) - 1e-9))
    order = np.lexsort((candidates, -rhos))
    return candidates[order[:k]]
