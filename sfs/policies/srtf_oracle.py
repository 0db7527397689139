"""srtf-oracle: preemptive SRTF on m cores, as a discrete-event simulation: the lower bound.

Not run on processes: replays and benchmarks simulate it with the trace's
service times (or the CPU times measured in another run).

At every instant the (up to) m arrived, unfinished jobs with the least
remaining service run, one per core; everything else waits.  Events are
arrivals and completions only, so time is continuous (no 1 ms ticks), and a
job arriving at t competes from t on (every job with arrival <= t is
included, unlike the public simulator, which hides the newest arrival).
Ties go to the earlier arrival.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

_EPS = 1e-12


def check_jobs(arrivals: Sequence[float], services: Sequence[float], cores: int) -> None:
    """The input checks every simulated policy shares."""
    if len(arrivals) != len(services):
        raise ValueError("arrivals and services differ in length")
    if cores < 1:
        raise ValueError("need at least one core")
    if any(s < 0 for s in services):
        raise ValueError("service times must be non-negative")


def srtf_finish_times(arrivals: Sequence[float], services: Sequence[float], cores: int) -> list[float]:
    """Completion time of each job (same order as the input)."""
    def srtf(left: dict[int, float]) -> dict[int, float]:
        # the `cores` jobs with the least remaining service run at full speed
        return {j: 1.0 for j in sorted(left, key=lambda j: (left[j], arrivals[j], j))[:cores]}
    return fluid_finish_times(arrivals, services, cores, srtf)


def fluid_finish_times(arrivals: Sequence[float], services: Sequence[float], cores: int,
                       rates: Callable[[dict[int, float]], dict[int, float]]) -> list[float]:
    """Completion times when, between events, job j progresses at rates(left)[j] (0 if absent).

    `left` maps every arrived, unfinished job to its remaining service.
    Events are arrivals and completions only, so time is continuous.
    """
    check_jobs(arrivals, services, cores)
    order = sorted(range(len(arrivals)), key=lambda j: (arrivals[j], j))
    finish = [math.nan] * len(arrivals)
    left: dict[int, float] = {}
    t = 0.0
    k = 0
    n = len(order)
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
        running = rates(left)
        step = min(left[j] / rate for j, rate in running.items())
        if k < n:
            step = min(step, arrivals[order[k]] - t)
        t += step
        for j, rate in running.items():
            left[j] -= step * rate
            if left[j] <= _EPS:
                del left[j]
                finish[j] = t
    return finish


def simulate(invocations, services: dict[str, float], cores: int, t0: float = 0.0):
    """InvocationRecords of an SRTF run: `invocations` give ids and arrivals, `services` the CPU times."""
    return records_of(srtf_finish_times, invocations, services, cores, t0)


def records_of(finish_times, invocations, services: dict[str, float], cores: int, t0: float = 0.0):
    """InvocationRecords of a simulated run whose completion times `finish_times` computes."""
    from sfs.records import InvocationRecord
    invs = list(invocations)
    arrivals = [i.arrival_s for i in invs]
    serv = [services.get(str(i.id), i.duration_s) for i in invs]
    ends = finish_times(arrivals, serv, cores)
    return [InvocationRecord(str(i.id), i.function, i.tenant, t0 + a, t0 + a, t0 + e, s, 0.0, s)
            for i, a, s, e in zip(invs, arrivals, serv, ends)]
