"""The scheduler the host hands its sandbox processes to.

`make_policy(name, cores, on_record, shares=None, placement=None)` returns a
:class:`SchedulerPolicy`: start(), stop(), admit(pid, invocation, arrival),
report_cpu(pid, cpu_s, end), `name` and `realtime`.  `on_record(dict)` is
called (on the scheduler thread) once per admitted process with the
scheduler's per-invocation record: arrival_s, start_s, end_s, cpu_s, fifo_s,
cfs_s, demoted, bypassed, aged (monotonic seconds).  The names are the
runnable policies of :mod:`sfs.policies`.
"""
from __future__ import annotations

import os
from dataclasses import asdict

from sfs import policies


def choices() -> list[str]:
    return policies.names(runnable=True)


class SchedulerPolicy:
    """The SFS scheduler engine embedded in the host process."""

    def __init__(self, name: str, cores, on_record, shares=None, placement=None):
        from sfs.scheduler import Scheduler, SchedulerConfig
        self.name = name
        self.config = SchedulerConfig()
        self.scheduler = Scheduler(policies.make_policy(name, shares=shares), cores, self.config,
                                   on_complete=lambda r: on_record(asdict(r)), placement=placement)
        self.realtime = self.scheduler.realtime
        self.function_priority = self.config.function_priority
        self.scheduler_priority = self.config.scheduler_priority

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()

    def admit(self, pid: int, invocation, arrival: float) -> None:
        self.scheduler.admit(pid, invocation, arrival=arrival, cpu_report=True)

    def report_cpu(self, pid: int, cpu_s: float, end: float | None = None) -> None:
        self.scheduler.report_cpu(pid, cpu_s, end)

    @property
    def stats(self) -> dict:
        return dict(self.scheduler.stats)


def make_policy(name: str, cores, on_record, shares=None, placement=None) -> SchedulerPolicy:
    if name not in choices():
        raise ValueError(f"unknown policy {name!r} (choose from {', '.join(choices())})")
    return SchedulerPolicy(name, cores, on_record, shares, placement)


def gateway_priority(policy) -> int:
    """An RT priority for the arrival path: above the functions, below the scheduler."""
    if os.geteuid() != 0:
        return 0
    low = getattr(policy, "function_priority", 10) or 10
    high = getattr(policy, "scheduler_priority", 40) or 40
    return max(low + 1, min(high - 1, (low + high) // 2))
