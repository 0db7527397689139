"""Real-time task hygiene: find user tasks left under SCHED_FIFO/SCHED_RR.

A spinning FIFO task leaves the rest of the machine 5% of each second, so
every tool and test must leave none behind.  Kernel threads (migration/N,
irq/N, ...) are real-time by design and are ignored.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import psutil

_KTHREADD = 2
_RT_POLICIES = {os.SCHED_FIFO: "FIFO", os.SCHED_RR: "RR"}


@dataclass(frozen=True)
class RealtimeTask:
    pid: int
    tid: int
    comm: str
    policy: str
    priority: int


def _is_kernel_thread(pid: int) -> bool:
    # Every kernel thread is kthreadd (pid 2) or one of its children.
    return pid == _KTHREADD or psutil.Process(pid).ppid() == _KTHREADD


def realtime_tasks(marker: str | None = None) -> list[RealtimeTask]:
    """Every user-space thread currently under SCHED_FIFO or SCHED_RR.

    With `marker` ("NAME=value"), only threads of processes whose environment
    holds that entry: the processes one run started, told apart from other
    real-time work on the machine.

    psutil has no field for a thread's scheduling policy, so that comes from
    sched_getscheduler(2), asked of every thread first: it is one system call,
    where psutil would parse a stat file per process, and the test suite runs
    this scan around every test.  psutil answers the rest, for the few
    real-time threads only.
    """
    found = []
    name, _, value = marker.partition("=") if marker else (None, None, None)
    for pid in psutil.pids():
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue
        for tid in tids:
            try:
                policy = os.sched_getscheduler(tid) & ~os.SCHED_RESET_ON_FORK
                if policy not in _RT_POLICIES:
                    continue
                if _is_kernel_thread(pid):
                    break
                if name is not None and psutil.Process(pid).environ().get(name) != value:
                    break
                priority = os.sched_getparam(tid).sched_priority
                comm = psutil.Process(tid).name()
            except (OSError, psutil.Error):
                continue   # gone meanwhile, or not ours to inspect
            found.append(RealtimeTask(pid, tid, comm, _RT_POLICIES[policy], priority))
    return found


def demote(tid: int) -> bool:
    """Put one thread back on SCHED_OTHER; False when it is gone or not ours to change."""
    try:
        os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
        return True
    except (ProcessLookupError, PermissionError):
        return False
