"""Scheduling policies the host can hand its sandbox processes to.

`make_policy(name, cores, on_record)` returns an object with start(), stop(),
admit(pid, invocation, arrival), report_cpu(pid, cpu_s, end) and `realtime`.
`on_record(dict)` is called (on any thread) once per admitted process with
the scheduler's per-invocation record: arrival_s, start_s, end_s, cpu_s,
fifo_s, cfs_s, demoted, bypassed, aged (monotonic seconds).

"sfs", "cfs" and "fifo" are the SFS scheduler core (sfs.scheduler).  When
that module is not importable the host falls back to `LocalCfsPolicy`, which
leaves processes to Linux CFS and builds the record from the reaper's data.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import asdict

log = logging.getLogger(__name__)
POLICIES = ("sfs", "cfs", "fifo")


class LocalCfsPolicy:
    """Plain Linux placement: nothing to do at admission; CPU comes from the reaper."""
    name = "cfs"
    realtime = False
    function_priority = 0
    scheduler_priority = 0

    def __init__(self, on_record):
        self.on_record = on_record
        self._pending: dict[int, tuple] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def admit(self, pid: int, invocation, arrival: float) -> None:
        import time
        with self._lock:
            self._pending[pid] = (invocation, arrival, time.monotonic())

    def report_cpu(self, pid: int, cpu_s: float, end: float | None = None) -> None:
        import time
        with self._lock:
            invocation, arrival, start = self._pending.pop(pid)
        self.on_record({"invocation_id": str(invocation.id), "function": invocation.function,
                        "tenant": invocation.tenant, "arrival_s": arrival, "start_s": start,
                        "end_s": end if end is not None else time.monotonic(), "cpu_s": cpu_s,
                        "fifo_s": 0.0, "cfs_s": cpu_s, "demoted": False, "bypassed": False, "aged": 0,
                        "pid": pid})


class SchedulerPolicy:
    """The SFS scheduler core embedded in the host process."""

    def __init__(self, name: str, cores, on_record):
        from sfs.scheduler import Scheduler, SchedulerConfig
        self.name = name
        self.config = SchedulerConfig()
        self.scheduler = Scheduler(name, cores, self.config, on_complete=lambda r: on_record(asdict(r)))
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


def make_policy(name: str, cores, on_record):
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r} (choose from {', '.join(POLICIES)})")
    try:
        import sfs.scheduler  # noqa: F401
    except ImportError as exc:
        if name != "cfs":
            raise RuntimeError(f"policy {name!r} needs the SFS scheduler core (sfs.scheduler): {exc}") from exc
        log.warning("sfs.scheduler unavailable (%s): using plain CFS placement", exc)
        return LocalCfsPolicy(on_record)
    return SchedulerPolicy(name, cores, on_record)


def gateway_priority(policy) -> int:
    """An RT priority for the arrival path: above the functions, below the scheduler."""
    if os.geteuid() != 0:
        return 0
    low = getattr(policy, "function_priority", 10) or 10
    high = getattr(policy, "scheduler_priority", 40) or 40
    return max(low + 1, min(high - 1, (low + high) // 2))
