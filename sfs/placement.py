"""Where a scheduled process sits while it runs: the placement hook.

The scheduler moves processes between SCHED_FIFO (FILTER) and SCHED_OTHER
(CFS).  A placement follows those moves, e.g. by putting a demoted process
into its tenant's cpu cgroup so CFS weighs it by the tenant's share, and
taking it out again before it is promoted (on cgroup v1 with RT group
scheduling a FIFO task must sit in a group that has RT runtime).  The
scheduler calls it for every policy:

- ``promoting(pid, tenant)``: synchronously, before the process is made
  SCHED_FIFO.  When it returns, the process must be allowed to run FIFO.
- ``demoted(pid, tenant)``: after the process was made SCHED_OTHER.  It may
  return at once and do the work later (moving a task between cgroups costs
  ~25 us, but occasionally ~10 ms: never on the scheduler's path).

Both run on the scheduler thread and must not block on the functions.  An
exception is logged and otherwise ignored: placement is advisory, the
scheduler's own policy and affinity settings stay correct without it.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Placement(Protocol):
    def promoting(self, pid: int, tenant: str) -> None: ...

    def demoted(self, pid: int, tenant: str) -> None: ...


class NoPlacement:
    """Processes stay in the cgroups they were started in."""

    def promoting(self, pid: int, tenant: str) -> None:
        pass

    def demoted(self, pid: int, tenant: str) -> None:
        pass


__all__ = ["Placement", "NoPlacement"]
