"""The SFS scheduler core, embeddable in any process that starts function processes.

Usage::

    from sfs.scheduler import Scheduler, SchedulerConfig

    sched = Scheduler("sfs", cores=[0, 1], config=SchedulerConfig(),
                      on_complete=lambda record: ...)
    sched.start()                      # PrivilegeError for sfs/fifo without CAP_SYS_NICE
    sched.admit(pid, invocation)       # any thread; the process already runs under SCHED_OTHER
    sched.report_cpu(pid, cpu_s)       # optional: CPU time from the reaper's rusage
    sched.wait_idle(timeout=30)
    sched.stop()                       # demotes everything it promoted

``invocation`` is any object with ``id``, ``function`` and ``tenant``
attributes (e.g. :class:`workloads.invocation.Invocation`).  The processes
need not be children of the scheduler: exits are seen through
``os.pidfd_open``.  Pass ``admit(..., cpu_report=True)`` when the owner will
call ``report_cpu`` after reaping the process (exact CPU time even if the
process was reaped before the scheduler looked); otherwise the scheduler
reads the process CPU clock itself at exit.  ``on_complete(record)`` gets an
:class:`sfs.records.InvocationRecord` (times are ``time.monotonic()``
seconds); it runs on the scheduler thread and must return quickly.

Policies: ``sfs`` (FILTER under SCHED_FIFO for an adaptive slice, then CFS),
``cfs`` (plain Linux, only accounting), ``fifo`` (run to completion under
FIFO, one per core, from the global queue).  The SRTF oracle is a
simulator: :mod:`sfs.oracle`.

Extension over the published design (``preempt_after_s``; None turns it
off): when every core holds a FILTER job, a newcomer preempts the one that
has attained the most CPU (least attained service first), at the next FIFO
priority on that core; idle cores take preempted jobs back.

Design: one scheduler thread at SCHED_FIFO ``scheduler_priority`` (above
the functions' ``function_priority``) with SCHED_RESET_ON_FORK, sleeping in
epoll on process pidfds, an eventfd for admissions and a timer heap (slice
expiry, blocked re-checks, aging).  Budgets count CPU time (the process CPU
clock), not wall time.  A watchdog process (:mod:`sfs.watchdog`) demotes
every promoted process if this process dies.

Caveat for embedders: the scheduler thread needs the GIL to act.  Any other
thread of the hosting process that runs Python while functions hold every
core under FIFO should itself run at an RT priority above the functions, or
it may be preempted while holding the GIL and delay the scheduler.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import select
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from sfs import procfs
from sfs.decisions import DEMOTE, YIELD, aging_due, on_slice_check, should_bypass
from sfs.privilege import PrivilegeError, explain_eperm, has_cap_sys_nice, require_realtime
from sfs.records import InvocationRecord
from sfs.slice import AdaptiveSlice, SliceConfig

log = logging.getLogger(__name__)

POLICIES = ("sfs", "cfs", "fifo")

QUEUED, FILTER, CFS, BLOCKED, EXITED, DONE = "queued", "filter", "cfs", "blocked", "exited", "done"


@dataclass
class SchedulerConfig:
    """Knobs; the defaults are the documented ones (docs/sfs.md)."""
    slice: SliceConfig = field(default_factory=SliceConfig)
    function_priority: int = 10       # FIFO priority of promoted functions
    scheduler_priority: int = 40      # FIFO priority of the scheduler thread
    watchdog_priority: int = 99
    bypass_factor: float = 3.0        # queued longer than k*T -> straight to CFS
    block_check_s: float | None = 0.02  # re-check a running slice this often for blocking
    blocked_recheck_s: float = 0.005  # first re-check of a yielded (blocked) invocation; doubles
    blocked_recheck_max_s: float = 0.02  # so a woken invocation runs at most ~20 ms in CFS before re-queueing
    aging_s: float = 10.0             # CFS-resident longer than this -> re-filtered
    # A newcomer preempts the FILTER job that has attained this much more CPU than it
    # (least attained service first, stacked FIFO priorities); None = plain SFS (FCFS FILTER).
    preempt_after_s: float | None = 0.02
    reorder_after_s: float = 0.03     # a preempted job gets its core back this far behind
    max_preemption_depth: int = 8
    cpu_report_timeout_s: float = 1.0
    watchdog: bool = True
    registry: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.function_priority < self.scheduler_priority <= 99:
            raise ValueError("need 1 <= function_priority < scheduler_priority <= 99")
        if self.function_priority + self.max_preemption_depth >= min(self.scheduler_priority, 30):
            raise ValueError("function_priority + max_preemption_depth must stay below 30 "
                             "(the replayer's main thread) and the scheduler's priority")
        if self.bypass_factor <= 0 or self.aging_s <= 0:
            raise ValueError("bypass_factor and aging_s must be positive")


class _Job:
    __slots__ = ("pid", "inv", "pidfd", "arrival", "admitted", "enqueued_at", "state", "core",
                 "budget", "remaining", "slice_cpu0", "check_cpu", "check_wall", "fifo_cpu",
                 "start", "demoted", "bypassed", "aged", "gen", "expect_report", "reported_cpu",
                 "reported_end", "exit_cpu", "end", "exited_in_filter", "backoff", "promoted",
                 "never_seen", "cfs_since", "prio")

    def __init__(self, pid: int, inv, arrival: float, admitted: float, expect_report: bool) -> None:
        self.pid, self.inv, self.arrival, self.admitted = pid, inv, arrival, admitted
        self.pidfd = -1
        self.enqueued_at = admitted
        self.state = QUEUED
        self.core = -1
        self.budget = math.inf
        self.remaining: float | None = None
        self.slice_cpu0 = self.check_cpu = self.check_wall = 0.0
        self.fifo_cpu = 0.0
        self.start: float | None = None
        self.demoted = self.bypassed = False
        self.aged = 0
        self.gen = 0
        self.expect_report = expect_report
        self.reported_cpu: float | None = None
        self.reported_end: float | None = None
        self.exit_cpu: float | None = None
        self.end = 0.0
        self.exited_in_filter = False
        self.backoff = 0.0
        self.promoted = False
        self.never_seen = False
        self.cfs_since = 0.0
        self.prio = 0


class Scheduler:
    def __init__(self, policy: str, cores: list[int] | int, config: SchedulerConfig | None = None,
                 on_complete: Callable[[InvocationRecord], None] | None = None) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r} (choose from {', '.join(POLICIES)})")
        self.policy = policy
        self.cores = list(range(cores)) if isinstance(cores, int) else sorted(set(cores))
        online = os.sched_getaffinity(0) | set(range(os.cpu_count() or 1))
        if not self.cores or not set(self.cores) <= online:
            raise ValueError(f"cores {self.cores} are not all online (have {sorted(online)})")
        self.config = config or SchedulerConfig()
        self.on_complete = on_complete
        self.slice = AdaptiveSlice(self.config.slice, len(self.cores))
        self._max_function_priority = self.config.function_priority + self.config.max_preemption_depth
        self._all_cores = set(self.cores)
        # FILTER jobs per core; the last one runs, the others were preempted by newer arrivals.
        self._stacks: dict[int, list[_Job]] = {c: [] for c in self.cores}
        self._dispatch_at: float | None = None
        self._queue: deque[_Job] = deque()
        self._jobs: dict[int, _Job] = {}          # pid -> live job
        self._by_fd: dict[int, _Job] = {}
        self._readers: dict[int, Callable[[], None]] = {}
        self._timers: list = []
        self._seq = itertools.count()
        self._inbox: deque = deque()
        self._wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._epoll = select.epoll()
        self._epoll.register(self._wake, select.EPOLLIN)
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._stopping = False
        self._idle = threading.Condition()
        self._outstanding = 0
        self._watchdog: subprocess.Popen | None = None
        self._registry = None
        self.error: BaseException | None = None
        self.stats = {"promotions": 0, "preemptions": 0, "demotions": 0, "bypasses": 0, "blocked_yields": 0,
                      "aged": 0, "completed": 0, "timer_wakeups": 0, "scheduler_cpu_s": 0.0,
                      "wall_s": 0.0}

    # ----- public API (any thread) -----

    @property
    def realtime(self) -> bool:
        return self.policy in ("sfs", "fifo")

    def start(self) -> None:
        if self.realtime:
            require_realtime(self.policy)
        if self.config.registry:
            from sharekit.invocation_registry import RegistryWriter
            self._registry = RegistryWriter()
        if self.realtime and self.config.watchdog:
            self._start_watchdog()
        self._thread = threading.Thread(target=self._main, name=f"sfs-{self.policy}", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._start_error is not None:
            self._thread.join()
            self._cleanup_outside()
            raise self._start_error

    def admit(self, pid: int, invocation, arrival: float | None = None, cpu_report: bool = False) -> None:
        """Take over `pid` (running or stopped, SCHED_OTHER) for `invocation`.

        `arrival` is the time.monotonic() of the request's arrival (default
        now); turnaround is measured from it.
        """
        now = time.monotonic()
        if self._registry is not None:
            self._registry.register(pid, str(invocation.id), invocation.function, invocation.tenant)
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            pidfd = -1  # already reaped: the owner's report_cpu completes it
        job = _Job(pid, invocation, now if arrival is None else arrival, now, cpu_report)
        job.pidfd = pidfd
        with self._idle:
            self._outstanding += 1
        self._post(("admit", job))

    def report_cpu(self, pid: int, cpu_s: float, end: float | None = None) -> None:
        """CPU time of an exited process from its reaper (rusage), and optionally its exit time."""
        self._post(("report", pid, cpu_s, end))

    def add_reader(self, fd: int, callback: Callable[[], None]) -> None:
        """Run `callback()` on the scheduler thread whenever `fd` is readable."""
        self._post(("reader", fd, callback))

    def remove_reader(self, fd: int) -> None:
        self._post(("unreader", fd))

    @property
    def outstanding(self) -> int:
        return self._outstanding

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every admitted invocation has completed; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._outstanding > 0:
                if self.error is not None:
                    raise RuntimeError("the SFS scheduler thread failed") from self.error
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left if left is None else min(left, 0.5))
        return True

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stopping = True
        os.eventfd_write(self._wake, 1)
        self._thread.join()
        self._thread = None
        self._cleanup_outside()

    def __enter__(self) -> "Scheduler":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ----- scheduler thread -----

    def _post(self, item) -> None:
        self._inbox.append(item)
        os.eventfd_write(self._wake, 1)

    def _main(self) -> None:
        cpu0, wall0 = time.thread_time(), time.monotonic()
        try:
            # Under cfs too when allowed: then exits are timestamped as promptly as under sfs.
            if self.realtime or has_cap_sys_nice():
                try:
                    os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK,
                                          os.sched_param(self.config.scheduler_priority))
                except PermissionError:
                    if self.realtime:
                        raise explain_eperm("scheduler thread") from None
        except BaseException as exc:
            self._start_error = exc
            self._started.set()
            return
        self._started.set()
        try:
            self._loop()
        except BaseException as exc:
            log.exception("SFS scheduler loop failed")
            self.error = exc
            with self._idle:
                self._idle.notify_all()
        finally:
            self._shutdown()
            self.stats["scheduler_cpu_s"] = time.thread_time() - cpu0
            self.stats["wall_s"] = time.monotonic() - wall0

    def _loop(self) -> None:
        while not self._stopping:
            timeout = None
            if self._timers:
                timeout = max(0.0, self._timers[0][0] - time.monotonic())
            if self._dispatch_at is not None:
                until = max(0.0, self._dispatch_at - time.monotonic())
                timeout = until if timeout is None else min(timeout, until)
                self._dispatch_at = None
            events = self._epoll.poll(timeout)
            for fd, _ in events:
                if fd == self._wake:
                    try:
                        os.eventfd_read(self._wake)
                    except BlockingIOError:
                        pass
                elif fd in self._by_fd:
                    self._on_exit(self._by_fd[fd])
                elif fd in self._readers:
                    try:
                        self._readers[fd]()
                    except Exception:
                        log.exception("reader callback for fd %d failed", fd)
            self._drain_inbox()
            self._run_timers()
            self._dispatch()

    def _drain_inbox(self) -> None:
        while self._inbox:
            item = self._inbox.popleft()
            kind = item[0]
            if kind == "admit":
                self._on_admit(item[1])
            elif kind == "report":
                self._on_report(*item[1:])
            elif kind == "reader":
                _, fd, callback = item
                self._readers[fd] = callback
                self._epoll.register(fd, select.EPOLLIN)
            elif kind == "unreader":
                if self._readers.pop(item[1], None) is not None:
                    self._epoll.unregister(item[1])

    def _arm(self, job: _Job, delay: float, kind: str) -> None:
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), job.gen, job, kind))

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, gen, job, kind = heapq.heappop(self._timers)
            if gen != job.gen or job.state == DONE:
                continue
            self.stats["timer_wakeups"] += 1
            if kind == "slice" and job.state == FILTER:
                self._on_slice_timer(job)
            elif kind == "blocked" and job.state == BLOCKED:
                self._on_blocked_recheck(job)
            elif kind == "aging" and job.state == CFS:
                self._on_aging(job)
            elif kind == "report" and job.state == EXITED:
                self._finish(job)
            now = time.monotonic()

    # admission and queueing

    def _on_admit(self, job: _Job) -> None:
        if job.pidfd < 0:
            job.never_seen = True
            job.state = EXITED
            job.end = job.admitted
            self._jobs[job.pid] = job
            if not job.expect_report:
                self._finish(job)
            else:
                self._arm(job, self.config.cpu_report_timeout_s, "report")
            return
        self._jobs[job.pid] = job
        self._by_fd[job.pidfd] = job
        self._epoll.register(job.pidfd, select.EPOLLIN)
        # Confine every admitted process to the scheduler's cores, queued ones included.
        try:
            procfs.set_policy(job.pid, os.SCHED_OTHER, 0, self._all_cores)
        except PermissionError:
            log.warning("cannot set the affinity of pid %d (not ours); it runs where it is", job.pid)
        if self.policy == "cfs":
            job.state = CFS
            job.start = time.monotonic()
            return
        if self.policy == "sfs":
            self.slice.on_arrival(job.arrival)
        self._enqueue(job)

    def _enqueue(self, job: _Job) -> None:
        job.gen += 1
        job.state = QUEUED
        job.enqueued_at = time.monotonic()
        self._queue.append(job)

    def _free_core(self) -> int | None:
        for core in self.cores:
            if not self._stacks[core]:
                return core
        return None

    def _preemptible_core(self, job: _Job) -> int | None:
        """Least-attained-service preemption inside FILTER (``preempt_after_s``).

        The core whose running FILTER job has attained the most CPU time,
        if that is more than ``preempt_after_s`` beyond what `job` has.
        """
        threshold = self.config.preempt_after_s
        if threshold is None or self.policy != "sfs":
            return None
        mine = procfs.cpu_seconds(job.pid) or 0.0
        best, best_core = threshold, None
        soonest = math.inf
        for core, stack in self._stacks.items():
            top = stack[-1]
            if top.prio >= self._max_function_priority:
                continue
            attained = (procfs.cpu_seconds(top.pid) or 0.0) - mine
            if attained > best:
                best, best_core = attained, core
            soonest = min(soonest, threshold - attained)
        if best_core is None and math.isfinite(soonest):
            # Look again when the first running job will have attained enough.
            self._dispatch_at = time.monotonic() + max(soonest, 0.001)
        return best_core

    def _dispatch(self) -> None:
        """Place queued invocations: on free cores, else by LAS preemption.

        Fresh arrivals go first (FCFS among them), then re-queued ones (woken
        or aged), which have attained service already.  One that cannot be
        placed does not hold up the others behind it.
        """
        if self._queue:
            ordered = sorted(self._queue, key=lambda j: (j.aged > 0 or j.remaining is not None, j.enqueued_at))
            self._queue.clear()
            kept = deque()
            for job in ordered:
                if job.state != QUEUED:
                    continue
                now = time.monotonic()
                if self.policy == "sfs":
                    t = self.slice.value
                    if should_bypass(now, job.enqueued_at, t, self.config.bypass_factor,
                                     aged=job.aged > 0, resumed=job.remaining is not None):
                        self.stats["bypasses"] += 1
                        job.bypassed = True
                        self._to_cfs(job, now)
                        continue
                    budget = job.remaining if job.remaining is not None else t
                else:
                    budget = math.inf
                core = self._free_core()
                if core is None:
                    core = self._preemptible_core(job)
                    if core is None:
                        kept.append(job)
                        continue
                    self.stats["preemptions"] += 1
                self._promote(job, core, budget, now)
            kept.extend(self._queue)  # nothing is queued meanwhile, but keep it safe
            self._queue = kept
        self._steal()

    def _steal(self) -> None:
        """A core with nothing to do takes a preempted FILTER job from a crowded core."""
        while True:
            core = self._free_core()
            if core is None:
                return
            waiting = [j for stack in self._stacks.values() for j in stack[:-1]]
            if not waiting:
                return
            job = min(waiting, key=lambda j: (procfs.cpu_seconds(j.pid) or 0.0, j.arrival))
            self._stacks[job.core].remove(job)
            self._place(job, core)

    def _place(self, job: _Job, core: int) -> None:
        stack = self._stacks[core]
        job.prio = stack[-1].prio + 1 if stack else self.config.function_priority
        try:
            procfs.set_policy(job.pid, os.SCHED_FIFO, job.prio, {core})
        except PermissionError:
            raise explain_eperm(f"promoting pid {job.pid}") from None
        stack.append(job)
        job.core = core

    def _unstack(self, job: _Job) -> None:
        stack = self._stacks.get(job.core)
        if stack is not None and job in stack:
            stack.remove(job)
        job.core = -1

    def _promote(self, job: _Job, core: int, budget: float, now: float) -> None:
        self._watchdog_say(b"P %d\n" % job.pid)
        job.promoted = True
        self._place(job, core)
        job.gen += 1
        job.state = FILTER
        job.budget = budget
        cpu = procfs.cpu_seconds(job.pid)
        job.slice_cpu0 = job.check_cpu = cpu if cpu is not None else 0.0
        job.check_wall = now
        if job.start is None:
            job.start = now
        self.stats["promotions"] += 1
        if math.isfinite(budget):
            self._arm(job, self._check_delay(budget), "slice")

    def _check_delay(self, left: float) -> float:
        check = self.config.block_check_s
        return left if check is None else min(left, check)

    def _release_core(self, job: _Job, cpu: float | None) -> None:
        if cpu is not None:
            job.fifo_cpu += max(0.0, cpu - job.slice_cpu0)
        self._unstack(job)

    def _to_cfs(self, job: _Job, now: float) -> None:
        procfs.set_policy(job.pid, os.SCHED_OTHER, 0, self._all_cores)
        if job.promoted:
            self._watchdog_say(b"D %d\n" % job.pid)
            job.promoted = False
        job.gen += 1
        job.state = CFS
        job.cfs_since = now
        if job.start is None:
            job.start = now
        self._arm(job, self.config.aging_s, "aging")

    # timers

    def _on_slice_timer(self, job: _Job) -> None:
        cpu = procfs.cpu_seconds(job.pid)
        if cpu is None:
            return  # exited; the pidfd event follows
        now = time.monotonic()
        used = cpu - job.slice_cpu0
        left = job.budget - used
        blocked = procfs.is_blocked(job.pid) if cpu - job.check_cpu < 0.5 * (now - job.check_wall) else False
        decision = on_slice_check(job.budget, used, cpu - job.check_cpu, now - job.check_wall, blocked)
        if decision == DEMOTE:
            self.stats["demotions"] += 1
            job.demoted = True
            self._release_core(job, cpu)
            job.remaining = None
            self._to_cfs(job, now)
            return
        if decision == YIELD:
            # Blocked: give the core to the next one, keep the unused budget.
            self.stats["blocked_yields"] += 1
            self._release_core(job, cpu)
            procfs.set_policy(job.pid, os.SCHED_OTHER, 0, self._all_cores)
            self._watchdog_say(b"D %d\n" % job.pid)
            job.promoted = False
            job.remaining = left
            job.gen += 1
            job.state = BLOCKED
            job.backoff = self.config.blocked_recheck_s
            self._arm(job, job.backoff, "blocked")
            return
        job.check_cpu, job.check_wall = cpu, now
        job.gen += 1
        self._arm(job, self._check_delay(left), "slice")
        self._reorder(job, cpu)

    def _reorder(self, job: _Job, cpu: float) -> None:
        """Keep least-attained-first on a core: a preempted job that has now attained
        `reorder_after_s` less than the running one gets the core back."""
        threshold = self.config.reorder_after_s
        stack = self._stacks.get(job.core)
        if self.config.preempt_after_s is None or not stack or stack[-1] is not job or len(stack) < 2:
            return
        waiting = min(stack[:-1], key=lambda j: procfs.cpu_seconds(j.pid) or 0.0)
        if cpu - (procfs.cpu_seconds(waiting.pid) or 0.0) <= threshold:
            return
        stack.remove(waiting)
        if job.prio >= self._max_function_priority:
            for rank, other in enumerate(stack):  # renumber from the bottom to make room
                other.prio = self.config.function_priority + rank
                procfs.set_policy(other.pid, os.SCHED_FIFO, other.prio, None)
        self._place(waiting, job.core)
        self.stats["preemptions"] += 1

    def _on_blocked_recheck(self, job: _Job) -> None:
        st = procfs.state(job.pid)
        if st is None or st == "Z":
            return
        if st == "R":
            self._enqueue(job)
            return
        job.backoff = min(job.backoff * 2, self.config.blocked_recheck_max_s)
        job.gen += 1
        self._arm(job, job.backoff, "blocked")

    def _on_aging(self, job: _Job) -> None:
        # Starvation guard: a CFS resident this old gets a fresh FILTER slice.
        if not aging_due(time.monotonic(), job.cfs_since, self.config.aging_s):
            job.gen += 1
            self._arm(job, job.cfs_since + self.config.aging_s - time.monotonic(), "aging")
            return
        self.stats["aged"] += 1
        job.aged += 1
        job.remaining = None
        self._enqueue(job)

    # completion

    def _on_exit(self, job: _Job) -> None:
        now = time.monotonic()
        self._epoll.unregister(job.pidfd)
        del self._by_fd[job.pidfd]
        os.close(job.pidfd)
        job.pidfd = -1
        job.exit_cpu = procfs.cpu_seconds(job.pid)  # readable while the process is a zombie
        job.end = now
        if job.state == FILTER:
            job.exited_in_filter = True
            self._unstack(job)
        if job.promoted:
            self._watchdog_say(b"D %d\n" % job.pid)
            job.promoted = False
        job.gen += 1
        job.state = EXITED
        if job.expect_report and job.reported_cpu is None:
            self._arm(job, self.config.cpu_report_timeout_s, "report")
        else:
            self._finish(job)

    def _on_report(self, pid: int, cpu_s: float, end: float | None) -> None:
        job = self._jobs.get(pid)
        if job is None:
            return
        job.reported_cpu = cpu_s
        if end is not None:
            job.reported_end = end
        if job.state == EXITED:
            self._finish(job)

    def _finish(self, job: _Job) -> None:
        cpu = job.reported_cpu if job.reported_cpu is not None else job.exit_cpu
        if cpu is None:
            cpu = job.check_cpu
        if job.never_seen and job.reported_end is not None:
            job.end = job.reported_end
        if job.exited_in_filter:
            job.fifo_cpu += max(0.0, cpu - job.slice_cpu0)
        fifo = min(job.fifo_cpu, cpu)
        start = job.start if job.start is not None else job.end
        record = InvocationRecord(
            str(job.inv.id), job.inv.function, job.inv.tenant, job.arrival, start, job.end, cpu,
            fifo, max(0.0, cpu - fifo), job.demoted, job.bypassed, job.aged, job.pid)
        job.state = DONE
        job.gen += 1
        self._jobs.pop(job.pid, None)
        self.stats["completed"] += 1
        if self.policy == "sfs" and cpu > 0:
            self.slice.on_completion(cpu)
        if self._registry is not None:
            self._registry.unregister(job.pid)
        if self.on_complete is not None:
            try:
                self.on_complete(record)
            except Exception:
                log.exception("on_complete callback failed")
        with self._idle:
            self._outstanding -= 1
            self._idle.notify_all()

    # shutdown and the watchdog

    def _shutdown(self) -> None:
        for job in list(self._jobs.values()):
            if job.promoted or job.state == FILTER:
                try:
                    procfs.set_policy(job.pid, os.SCHED_OTHER, 0, self._all_cores)
                except OSError:
                    pass
                self._watchdog_say(b"D %d\n" % job.pid)
                job.promoted = False
            if job.pidfd >= 0:
                try:
                    self._epoll.unregister(job.pidfd)
                except OSError:
                    pass
                os.close(job.pidfd)
                job.pidfd = -1
        try:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        except OSError:
            pass

    def _start_watchdog(self) -> None:
        self._watchdog = subprocess.Popen(
            [sys.executable, "-m", "sfs.watchdog", str(os.getpid()), str(self.config.watchdog_priority)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, close_fds=True)
        line = self._watchdog.stdout.readline()
        if line.strip() != b"ready":
            self._watchdog.kill()
            self._watchdog.wait()
            raise RuntimeError("the SFS watchdog did not start")

    @property
    def watchdog_pid(self) -> int | None:
        return self._watchdog.pid if self._watchdog else None

    def _watchdog_say(self, message: bytes) -> None:
        if self._watchdog is not None:
            os.write(self._watchdog.stdin.fileno(), message)

    def _cleanup_outside(self) -> None:
        if self._watchdog is not None:
            try:
                self._watchdog_say(b"Q\n")
                self._watchdog.stdin.close()
            except OSError:
                pass
            try:
                self._watchdog.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._watchdog.kill()
                self._watchdog.wait()
            self._watchdog.stdout.close()
            self._watchdog = None
        if self._registry is not None:
            self._registry.close()
            self._registry = None
        for fd in list(self._readers):
            try:
                self._epoll.unregister(fd)
            except OSError:
                pass
        self._readers.clear()
        self._epoll.close()
        os.close(self._wake)


__all__ = ["Scheduler", "SchedulerConfig", "PrivilegeError", "POLICIES", "InvocationRecord"]
