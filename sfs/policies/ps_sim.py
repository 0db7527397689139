"""ps-sim: processor sharing on m cores, simulated: what a size-blind policy reaches.

Every arrived, unfinished job runs at rate min(1, m/n) when n jobs are
present (an ideal CFS, or least attained service when all jobs of a burst
arrive together).  No policy that does not know sizes can do much better on
a burst of simultaneous arrivals, so beside the SRTF oracle (which knows
every size) it tells how much of a trace's gap to the oracle is the price
of not knowing.  Events are arrivals and completions only.
"""
from __future__ import annotations

from typing import Sequence

from sfs.policies.srtf_oracle import fluid_finish_times, records_of


def ps_finish_times(arrivals: Sequence[float], services: Sequence[float], cores: int) -> list[float]:
    """Completion time of each job (same order as the input)."""
    def shared(left: dict[int, float]) -> dict[int, float]:
        rate = min(1.0, cores / len(left))
        return dict.fromkeys(left, rate)
    return fluid_finish_times(arrivals, services, cores, shared)


def simulate(invocations, services: dict[str, float], cores: int, t0: float = 0.0):
    """InvocationRecords of a PS run: `invocations` give ids and arrivals, `services` the CPU times."""
    return records_of(ps_finish_times, invocations, services, cores, t0)
