"""Open-loop launcher: a pre-started fork server that forks invocations on schedule.

Run as ``python -m sfs.forkserver`` by the replayer, which writes on stdin
one JSON line of settings, then one JSON line per invocation (``{"i", "at",
"burn"}`` or ``{"i", "at", "fn", "args"}``), then ``{"end": true}``; it answers
``R`` when ready and then waits for ``{"go": t0}``.  At
t0 + at (CLOCK_MONOTONIC, shared by every process) it forks a child,
whatever the system is doing: arrivals never wait for earlier invocations,
so there is no coordinated omission.  Forking a warm, small interpreter
costs well under a millisecond, where starting a new one costs 20-30 ms.

It runs at an RT priority above the functions (it is on the arrival path),
with SCHED_RESET_ON_FORK so its children start on SCHED_OTHER, and dies
with its parent (PR_SET_PDEATHSIG); its children die with it.

Output lines on stdout:
``S <i> <pid> <fork_time>`` after each fork,
``E <i> <pid> <cpu_s> <exit_time> <status>`` after reaping (CPU time from rusage),
``D`` when every child is reaped.  It sleeps in poll() between events.
"""
from __future__ import annotations

import gc
import json
import os
import select
import sys
import time

from sharekit.process import die_with_parent

def burn(seconds: float) -> None:
    """Use `seconds` of CPU time, counted on this thread's CPU clock (so preemption does not count)."""
    x = 1.0
    clock = time.thread_time
    while clock() < seconds:
        for _ in range(1000):
            x = x * 1.0000001 + 1e-9


def _run_child(job: dict, functions: dict) -> None:
    if "fn" in job:
        functions[job["fn"]].handler(job.get("args") or {})
    else:
        burn(float(job["burn"]))


def _load_functions(names: set[str]) -> dict:
    import importlib
    return {name: importlib.import_module(f"workloads.functions.{name}") for name in names}


def main() -> int:
    die_with_parent()
    stdin = sys.stdin.buffer
    settings = json.loads(stdin.readline())
    jobs = []
    while True:
        line = stdin.readline()
        if not line:
            return 1
        item = json.loads(line)
        if "end" in item:
            break
        jobs.append(item)
    functions = _load_functions({j["fn"] for j in jobs if "fn" in j})
    cores = set(settings["cores"])
    priority = int(settings.get("priority", 0))
    # A cpu cgroup for every child, joined before the scheduler hears of it: a
    # queued invocation runs under CFS until it is promoted, and must be weighed
    # by its tenant's share meanwhile, not counted as one more task of the root
    # (the scheduler's placement hook takes it out again before SCHED_FIFO).
    child_procs = settings.get("child_cpu_cgroup")
    child_procs = os.path.join(child_procs, "cgroup.procs") if child_procs else None
    if priority:
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(priority))
    jobs.sort(key=lambda j: (j["at"], j["i"]))
    out = sys.stdout.fileno()
    gc.collect()
    gc.freeze()  # keep the children's copy-on-write pages untouched
    os.write(out, b"R\n")  # ready: the replayer picks t0 only now, so start-up cost is not lag
    line = stdin.readline()
    if not line:
        return 1
    t0 = float(json.loads(line)["go"])
    poller = select.epoll()
    children: dict[int, tuple[int, int]] = {}  # pidfd -> (i, pid)
    k = 0
    while k < len(jobs) or children:
        if k < len(jobs):
            wait = t0 + jobs[k]["at"] - time.monotonic()
            if wait <= 0:
                job = jobs[k]
                k += 1
                pid = os.fork()
                if pid == 0:
                    status = 0
                    try:
                        die_with_parent()
                        gc.disable()
                        _run_child(job, functions)
                    except BaseException:
                        status = 1
                    os._exit(status)
                forked = time.monotonic()
                # Confine the child from here, before the scheduler hears of it.  Done by the
                # child itself, it raced with the promotion: a child first run after the
                # scheduler pinned it to one core widened its own affinity again, and that
                # FIFO job then ran on (and starved) another core's FILTER job.
                try:
                    os.sched_setaffinity(pid, cores)
                    if child_procs is not None:
                        with open(child_procs, "w") as f:
                            f.write(str(pid))
                except ProcessLookupError:
                    pass
                pidfd = os.pidfd_open(pid)
                children[pidfd] = (job["i"], pid)
                poller.register(pidfd, select.EPOLLIN)
                os.write(out, b"S %d %d %.9f\n" % (job["i"], pid, forked))
                continue
            if wait < 0.002:
                time.sleep(wait)  # a precise hrtimer sleep for the last stretch; epoll is ms-grained
                continue
            timeout = wait - 0.001
        else:
            timeout = -1
        for fd, _ in poller.poll(timeout):
            ended = time.monotonic()
            i, pid = children.pop(fd)
            poller.unregister(fd)
            os.close(fd)
            _, status, usage = os.wait4(pid, 0)
            cpu = usage.ru_utime + usage.ru_stime
            os.write(out, b"E %d %d %.9f %.9f %d\n" % (i, pid, cpu, ended, os.waitstatus_to_exitcode(status)))
    os.write(out, b"D\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
