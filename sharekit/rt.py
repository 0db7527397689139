"""Real-time task hygiene: find user tasks left under SCHED_FIFO/SCHED_RR.

A spinning FIFO task leaves the rest of the machine 5% of each second, so
every tool and test must leave none behind.  Kernel threads (migration/N,
irq/N, ...) are real-time by design and are ignored.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

_PF_KTHREAD = 0x00200000
_RT_POLICIES = {os.SCHED_FIFO: "FIFO", os.SCHED_RR: "RR"}


@dataclass(frozen=True)
class RealtimeTask:
    pid: int
    tid: int
    comm: str
    policy: str
    priority: int


def _stat_fields(path: str) -> list[str] | None:
    try:
        with open(path, "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return None
    # comm may contain spaces and parentheses: split after the last ')'.
    head, _, tail = raw.rpartition(")")
    comm = head.partition("(")[2]
    return [comm] + tail.split()


def _has_environ_entry(pid: str, entry: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return entry in f.read().split(b"\0")
    except OSError:
        return False


def realtime_tasks(marker: str | None = None) -> list[RealtimeTask]:
    """Every user-space thread currently under SCHED_FIFO or SCHED_RR.

    With `marker` ("NAME=value"), only threads of processes whose environment
    holds that entry: the processes one run started, told apart from other
    real-time work on the machine.
    """
    found = []
    entry = marker.encode() if marker else None
    for pid_name in os.listdir("/proc"):
        if not pid_name.isdigit():
            continue
        try:
            tids = os.listdir(f"/proc/{pid_name}/task")
        except OSError:
            continue
        for tid_name in tids:
            fields = _stat_fields(f"/proc/{pid_name}/task/{tid_name}/stat")
            if fields is None:
                continue
            # fields[0] = comm, then state(1), ppid(2), ..., flags(7), ... rt_priority(38), policy(39)
            flags, rt_priority, policy = int(fields[7]), int(fields[38]), int(fields[39])
            if flags & _PF_KTHREAD or policy not in _RT_POLICIES:
                continue
            if entry is not None and not _has_environ_entry(pid_name, entry):
                continue
            found.append(RealtimeTask(int(pid_name), int(tid_name), fields[0],
                                      _RT_POLICIES[policy], rt_priority))
    return found


def demote(tid: int) -> bool:
    """Put one thread back on SCHED_OTHER; False when it is gone or not ours to change."""
    try:
        os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
        return True
    except (ProcessLookupError, PermissionError):
        return False
