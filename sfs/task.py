"""What the scheduler knows about one admitted process.

A task moves through these states (the engine changes them; policies read
them)::

    QUEUED --promote--> FILTER --slice spent / bypass--> CFS --aging--> QUEUED
      ^                   |  \\--blocked--> BLOCKED --runnable--> QUEUED
      |                   |
    admit              exit (any state) --> EXITED --CPU time known--> DONE

``gen`` grows with every transition, so a timer armed in an older state is
recognised as stale and dropped.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field


class State(enum.Enum):
    QUEUED = "queued"      # waiting for a FILTER core
    FILTER = "filter"      # SCHED_FIFO on a core, with a CPU budget
    CFS = "cfs"            # SCHED_OTHER on every scheduler core
    BLOCKED = "blocked"    # gave its core back while asleep; keeps the rest of its budget
    EXITED = "exited"      # gone; waiting for its CPU time from the reaper
    DONE = "done"          # recorded


@dataclass(slots=True)
class Outcome:
    """What the invocation's record will say."""
    start: float | None = None      # first time it ran (FILTER or CFS)
    end: float = 0.0
    fifo_cpu: float = 0.0           # CPU time used under SCHED_FIFO
    demoted: bool = False           # spent a whole slice and went on under CFS
    bypassed: bool = False          # queued too long, went straight to CFS
    aged: int = 0                   # times re-filtered after `aging_s` in CFS


@dataclass(slots=True)
class ExitFacts:
    """How the task's end and CPU time become known."""
    expect_report: bool             # the reaper will call report_cpu
    reported_cpu: float | None = None
    reported_end: float | None = None
    exit_cpu: float | None = None   # read from the zombie at the pidfd event
    exited_in_filter: bool = False  # its last FIFO stretch still needs charging
    never_seen: bool = False        # reaped before admission: only the report knows it


@dataclass(slots=True, eq=False)
class Task:
    pid: int
    inv: object                     # has .id, .function, .tenant
    arrival: float
    pidfd: int = -1
    state: State = State.QUEUED
    gen: int = 0
    core: int = -1                  # FILTER core, -1 otherwise
    prio: int = 0                   # FIFO priority while on a core
    promoted: bool = False          # the watchdog knows it as FIFO
    enqueued_at: float = 0.0
    budget: float = math.inf        # CPU seconds of the current FILTER slice
    remaining: float | None = None  # budget left when it blocked (a resumed task)
    slice_cpu0: float = 0.0         # process CPU time at promotion
    check_cpu: float = 0.0          # process CPU time and wall time at the last slice check
    check_wall: float = 0.0
    backoff: float = 0.0            # next blocked re-check delay
    cfs_since: float = 0.0
    nice: int = 0                   # set while it waits in CFS for its turn
    outcome: Outcome = field(default_factory=Outcome)
    exit: ExitFacts = field(default_factory=lambda: ExitFacts(False))

    @property
    def tenant(self) -> str:
        return self.inv.tenant

    @property
    def requeued(self) -> bool:
        """Aged or resumed: it has attained service before (fresh arrivals go first)."""
        return self.outcome.aged > 0 or self.remaining is not None


__all__ = ["State", "Task", "Outcome", "ExitFacts"]
