"""Watchdog: no SCHED_FIFO task outlives its scheduler.

Started by the scheduler as a separate small process (``python -m
sfs.watchdog SCHEDULER_PID``) at the top FIFO priority, where it sleeps.  The
scheduler writes ``P <pid>`` on its stdin *before* promoting a process and
``D <pid>`` after demoting it or seeing it exit, so the watchdog always knows
every pid that may be under FIFO.  When the scheduler process vanishes (its
pidfd becomes readable: exit, crash, SIGKILL) or closes the pipe, the
watchdog drains the pipe, demotes every listed pid (all threads, back on all
CPUs) and exits.  ``N <pid>`` / ``O <pid>``: the scheduler gave a CFS
process a nice value other than 0 (its place in the CFS line) / took it
back; on the scheduler's death those get nice 0 again.  ``Q`` is a clean
stop: demote what is left, exit.
Wake-ups happen only on messages and on the scheduler's death: no polling.
"""
from __future__ import annotations

import os
import select
import sys

from sfs.procfs import set_nice, threads


def demote_all(pids: set[int]) -> None:
    all_cpus = set(range(os.cpu_count() or 1))
    for pid in pids:
        for tid in threads(pid):
            try:
                os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
                os.sched_setaffinity(tid, all_cpus)
            except OSError:
                pass


def restore_nice(pids: set[int]) -> None:
    for pid in pids:
        set_nice(pid, 0)  # every thread; a process that is gone is skipped


def apply(line: bytes, pids: set[int], niced: set[int]) -> bool:
    """Update `pids` (maybe FIFO) and `niced` from one message; True on the clean-stop message."""
    kind, _, rest = line.strip().partition(b" ")
    if kind == b"P":
        pids.add(int(rest))
    elif kind == b"D":
        pids.discard(int(rest))
    elif kind == b"N":
        niced.add(int(rest))
    elif kind == b"O":
        niced.discard(int(rest))
    elif kind == b"Q":
        return True
    return False


def main(argv: list[str]) -> int:
    scheduler_pid = int(argv[0])
    priority = int(argv[1]) if len(argv) > 1 else 99
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(priority))
    except OSError:
        pass  # still useful at normal priority: it only has to wake once
    pidfd = os.pidfd_open(scheduler_pid)
    stdin = sys.stdin.buffer.raw.fileno() if hasattr(sys.stdin.buffer, "raw") else 0
    os.set_blocking(stdin, False)
    os.write(1, b"ready\n")
    pids: set[int] = set()
    niced: set[int] = set()
    pending = b""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(stdin, select.POLLIN)
    done = False
    while not done:
        events = poller.poll()
        for fd, _ in events:
            if fd == pidfd:
                done = True
        # Drain the pipe on every wake-up, including the death one, so a
        # promotion announced just before the scheduler died is not missed.
        while True:
            try:
                chunk = os.read(stdin, 65536)
            except BlockingIOError:
                break
            if not chunk:
                done = True
                break
            pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line and apply(line, pids, niced):
                done = True
    demote_all(pids)
    restore_nice(niced)
    # Leave as a normal task: until it is reaped, a zombie still shows its RT policy.
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
