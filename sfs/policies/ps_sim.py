"""ps-sim: processor sharing on m cores, simulated: what a size-blind policy reaches.

Every arrived, unfinished job runs at rate min(1, m/n) when n jobs are
present (an ideal CFS, or least attained service when all jobs of a burst
arrive together).  No policy that does not know sizes can do much better on
a burst of simultaneous arrivals, so beside the SRTF oracle (which knows
every size) it tells how much of a trace's gap to the oracle is the price
of not knowing.  Events are arrivals and completions only.
"""
from __future__ import annotations

import math
from typing import Sequence

from sfs.policies.srtf_oracle import check_jobs, records_of

_EPS = 1e-12


def ps_finish_times(arrivals: Sequence[float], services: Sequence[float], cores: int) -> list[float]:
    """Completion time of each job (same order as the input)."""
    check_jobs(arrivals, services, cores)
    order = sorted(range(len(arrivals)), key=lambda j: (arrivals[j], j))
    finish = [math.nan] * len(arrivals)
    left: dict[int, float] = {}
    t, k, n = 0.0, 0, len(order)
    while k < n or left:
        if not left:
            t = max(t, arrivals[order[k]])
        while k < n and arrivals[order[k]] <= t + _EPS:
            j = order[k]
            if services[j] <= 0:
                finish[j] = arrivals[j]
            else:
                left[j] = services[j]
            k += 1
        if not left:
            continue
        rate = min(1.0, cores / len(left))
        step = min(left.values()) / rate
        if k < n:
            step = min(step, arrivals[order[k]] - t)
        t += step
        for j in list(left):
            left[j] -= step * rate
            if left[j] <= _EPS:
                del left[j]
                finish[j] = t
    return finish


def simulate(invocations, services: dict[str, float], cores: int, t0: float = 0.0):
    """InvocationRecords of a PS run: `invocations` give ids and arrivals, `services` the CPU times."""
    return records_of(ps_finish_times, invocations, services, cores, t0)
