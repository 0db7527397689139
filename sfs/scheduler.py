"""The SFS scheduler engine, embeddable in any process that starts function processes.

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

The policy is a name from :mod:`sfs.policies` or a
:class:`sfs.policies.base.Policy` instance; this module knows none of them
by name.  It does the mechanics every policy shares: one scheduler thread at
SCHED_FIFO ``scheduler_priority`` (above the functions'
``function_priority``) with SCHED_RESET_ON_FORK, sleeping in epoll on
process pidfds and an eventfd for admissions, with a timer heap (slice
checks, blocked re-checks, aging, CPU reports).  Per core it keeps a stack
of FILTER tasks: the top one runs, the ones below were preempted and wait at
lower FIFO priorities.  Budgets count CPU time (the process CPU clock), not
wall time.  A watchdog process (:mod:`sfs.watchdog`) demotes every promoted
process if this process dies.  A :class:`sfs.placement.Placement` follows
every promotion and demotion.

Caveat for embedders: the scheduler thread needs the GIL to act.  Any other
thread of the hosting process that runs Python while functions hold every
core under FIFO should itself run at an RT priority above the functions, or
it may be preempted while holding the GIL and delay the scheduler.
"""
from __future__ import annotations

import enum
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
from sfs.decisions import in_turn_nices
from sfs.placement import NoPlacement, Placement
from sfs.policies import make_policy
from sfs.policies.base import Policy
from sfs.privilege import PrivilegeError, explain_eperm, has_cap_sys_nice, require_realtime
from sfs.records import InvocationRecord
from sfs.slice import SliceConfig
from sfs.task import ExitFacts, State, Task

log = logging.getLogger(__name__)


@dataclass
class SchedulerConfig:
    """Knobs; the defaults are the documented ones (docs/sfs.md)."""
    slice: SliceConfig = field(default_factory=SliceConfig)
    function_priority: int = 10       # FIFO priority of promoted functions
    scheduler_priority: int = 40      # FIFO priority of the scheduler thread
    watchdog_priority: int = 99
    bypass_factor: float = 3.0        # queued longer than k*T -> straight to CFS
    block_check_s: float | None = 0.02  # re-check a running slice this often for blocking
    # ... and this often when nothing waits for its core (alone on it, nothing queued): then a
    # late blocking check idles nobody, and these checks were most of the scheduler's wake-ups.
    idle_check_s: float | None = 0.08
    blocked_recheck_s: float = 0.005  # first re-check of a yielded (blocked) invocation; doubles
    blocked_recheck_max_s: float = 0.02  # so a woken invocation runs at most ~20 ms in CFS before re-queueing
    aging_s: float = 10.0             # CFS-resident longer than this -> re-filtered
    # Demoted and bypassed tasks are served in turn under CFS (nice values, see
    # sfs.decisions.in_turn_nices) instead of all sharing the CPU left over by FILTER.
    cfs_in_turn: bool = True
    in_turn_min_s: float = 0.25       # ... once they have attained this much (sfs.decisions.joins_turns)
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
        if self.function_priority + self.max_preemption_depth >= self.scheduler_priority:
            raise ValueError("function_priority + max_preemption_depth must stay below the scheduler's priority")
        if self.bypass_factor <= 0 or self.aging_s <= 0:
            raise ValueError("bypass_factor and aging_s must be positive")

    @property
    def max_function_priority(self) -> int:
        """The highest FIFO priority a function ever gets (the top of a full preemption stack)."""
        return self.function_priority + self.max_preemption_depth


class _Msg(enum.Enum):
    """What other threads post to the scheduler thread."""
    ADMIT = "admit"
    REPORT = "report"


class _Timer(enum.Enum):
    SLICE = "slice"        # FILTER: the policy's tick
    BLOCKED = "blocked"    # BLOCKED: runnable again?
    AGING = "aging"        # CFS: the policy's aging
    REPORT = "report"      # EXITED: stop waiting for the reaper's CPU time


# The state a timer of each kind is armed in; a timer that finds its task elsewhere is stale.
_TIMER_STATE = {_Timer.SLICE: State.FILTER, _Timer.BLOCKED: State.BLOCKED, _Timer.AGING: State.CFS,
                _Timer.REPORT: State.EXITED}


class Scheduler:
    def __init__(self, policy: str | Policy, cores: list[int] | int, config: SchedulerConfig | None = None,
                 on_complete: Callable[[InvocationRecord], None] | None = None,
                 placement: Placement | None = None) -> None:
        self.policy = make_policy(policy) if isinstance(policy, str) else policy
        if not isinstance(self.policy, Policy):
            raise TypeError(f"not a policy: {policy!r}")
        self.cores = list(range(cores)) if isinstance(cores, int) else sorted(set(cores))
        online = os.sched_getaffinity(0) | set(range(os.cpu_count() or 1))
        if not self.cores or not set(self.cores) <= online:
            raise ValueError(f"cores {self.cores} are not all online (have {sorted(online)})")
        self.config = config or SchedulerConfig()
        self.on_complete = on_complete
        self.placement = placement or NoPlacement()
        self._all_cores = set(self.cores)
        # FILTER tasks per core; the last one runs, the others were preempted by newer arrivals.
        self.stacks: dict[int, list[Task]] = {c: [] for c in self.cores}
        # Tasks served in turn under CFS, one line per tenant, each in the order its tasks
        # got there (to_cfs(in_turn=True)).  Per tenant because a tenant's demoted tasks
        # share its cpu group with whatever else the tenant runs there (its lock thread,
        # say): a line keeps its tasks' total weight, so each group's make-up against its
        # other members stays as under plain CFS; one machine-wide line would move weight
        # between groups' members (a tenant whose tasks all sat at nice 19 would hand its
        # group to its other threads).
        self._turns: dict[str, list[Task]] = {}
        self._dispatch_at: float | None = None
        self._tasks: dict[int, Task] = {}          # pid -> live task
        self._by_fd: dict[int, Task] = {}
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
        self.policy.attach(self)

    # ----- public API (any thread) -----

    @property
    def policy_name(self) -> str:
        return self.policy.name

    @property
    def realtime(self) -> bool:
        return self.policy.realtime

    def start(self) -> None:
        if self.realtime:
            require_realtime(self.policy.name)
        if self.config.registry:
            from sharekit.invocation_registry import RegistryWriter
            self._registry = RegistryWriter()
        if self.realtime and self.config.watchdog:
            self._start_watchdog()
        self._thread = threading.Thread(target=self._main, name=f"sfs-{self.policy.name}", daemon=True)
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
        task = Task(pid, invocation, now if arrival is None else arrival, pidfd=pidfd, enqueued_at=now,
                    exit=ExitFacts(cpu_report))
        with self._idle:
            self._outstanding += 1
        self._post((_Msg.ADMIT, task))

    def report_cpu(self, pid: int, cpu_s: float, end: float | None = None) -> None:
        """CPU time of an exited process from its reaper (rusage), and optionally its exit time."""
        self._post((_Msg.REPORT, pid, cpu_s, end))

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

    # ----- operations for policies (scheduler thread) -----

    def live_tasks(self):
        """Every admitted task that has not completed (read-only, for policies)."""
        return self._tasks.values()

    def free_core(self) -> int | None:
        for core in self.cores:
            if not self.stacks[core]:
                return core
        return None

    def promote(self, task: Task, core: int, budget: float, now: float) -> None:
        """Make `task` SCHED_FIFO on `core` with a CPU budget (math.inf: run to completion)."""
        self._placement_call(self.placement.promoting, task)
        self._watchdog_say(b"P %d\n" % task.pid)
        task.promoted = True
        self.place(task, core)
        task.gen += 1
        task.state = State.FILTER
        task.budget = budget
        cpu = procfs.cpu_seconds(task.pid)
        task.slice_cpu0 = task.check_cpu = cpu if cpu is not None else 0.0
        task.check_wall = now
        if task.outcome.start is None:
            task.outcome.start = now
        self.stats["promotions"] += 1
        self.policy.running(task)
        if math.isfinite(budget):
            self._arm(task, self._check_delay(budget), _Timer.SLICE)

    def place(self, task: Task, core: int) -> None:
        """Put `task` on top of `core`'s stack, one FIFO priority above the task it preempts."""
        stack = self.stacks[core]
        task.prio = stack[-1].prio + 1 if stack else self.config.function_priority
        try:
            procfs.set_policy(task.pid, os.SCHED_FIFO, task.prio, {core})
        except PermissionError:
            raise explain_eperm(f"promoting pid {task.pid}") from None
        if stack and stack[-1].state is State.FILTER:
            stack[-1].gen += 1  # preempted: its slice timer is dropped until it is on top again
        stack.append(task)
        task.core = core
        if task.state is State.FILTER:  # moved by the policy (promote() arms its own timer)
            self._resume_checks(task)

    def unstack(self, task: Task) -> None:
        stack = self.stacks.get(task.core)
        if stack is not None and task in stack:
            was_top = stack[-1] is task
            stack.remove(task)
            if was_top and stack and stack[-1].state is State.FILTER:
                self._resume_checks(stack[-1])
        task.core = -1

    def _resume_checks(self, task: Task) -> None:
        """`task` is on top of its stack again, so it runs: re-arm its slice checks.

        Only the top of a stack runs, so only it has a live slice timer: a
        preempted task uses no CPU, and checking it every block_check_s was
        most of the scheduler's wake-ups with deep stacks.  Its CPU clock
        did not move while it waited, so the budget still holds; the
        blocked test restarts from now.
        """
        if not math.isfinite(task.budget):
            return
        cpu = procfs.cpu_seconds(task.pid)
        if cpu is None:
            return  # exited; the pidfd event follows
        task.check_cpu, task.check_wall = cpu, time.monotonic()
        task.gen += 1
        self._arm(task, self._check_delay(task.budget - (cpu - task.slice_cpu0)), _Timer.SLICE)

    def restack(self, core: int) -> None:
        """Renumber `core`'s stack from the bottom, to make room above it."""
        for rank, other in enumerate(self.stacks[core]):
            other.prio = self.config.function_priority + rank
            procfs.set_policy(other.pid, os.SCHED_FIFO, other.prio, None)

    def to_cfs(self, task: Task, now: float, aging_s: float | None = None, cpu: float | None = None,
               in_turn: bool = False) -> None:
        """Leave `task` to CFS on every scheduler core, off its core if it held one.

        `cpu`: its CPU time if the caller just read it.  With `aging_s` the
        policy's ``aging`` hook runs after that long.  `in_turn`: it waits
        for its turn behind the tasks sent to CFS in turn before it, rather than
        sharing the CPU with them (see sfs.decisions.in_turn_nices).
        """
        if task.state is State.FILTER:
            self._release_core(task, cpu if cpu is not None else procfs.cpu_seconds(task.pid))
        if task.state is not State.QUEUED or task.promoted:
            # A queued task is SCHED_OTHER on every core since admission (or its last demotion).
            procfs.set_policy(task.pid, os.SCHED_OTHER, 0, self._all_cores)
        if task.promoted:
            self._watchdog_say(b"D %d\n" % task.pid)
            task.promoted = False
        task.gen += 1
        task.state = State.CFS
        task.cfs_since = now
        if task.outcome.start is None:
            task.outcome.start = now
        self._placement_call(self.placement.demoted, task)
        if in_turn:
            self._turns.setdefault(task.tenant, []).append(task)
            self._renice_turns(task.tenant)
        if aging_s is not None:
            self._arm(task, aging_s, _Timer.AGING)

    def yield_core(self, task: Task, left: float, cpu: float) -> None:
        """`task` sleeps: give its core away, keep `left` of its budget, re-queue it once runnable."""
        self._release_core(task, cpu)
        procfs.set_policy(task.pid, os.SCHED_OTHER, 0, self._all_cores)
        self._watchdog_say(b"D %d\n" % task.pid)
        task.promoted = False
        task.remaining = left
        task.gen += 1
        task.state = State.BLOCKED
        task.backoff = self.config.blocked_recheck_s
        self._placement_call(self.placement.demoted, task)
        self._arm(task, task.backoff, _Timer.BLOCKED)

    def rearm(self, task: Task, left: float, cpu: float, now: float, contended: bool = True) -> None:
        """Check `task` again when `left` of its budget is spent, or at the next blocking
        check: after ``block_check_s``, or ``idle_check_s`` when not `contended` (nothing waits)."""
        task.check_cpu, task.check_wall = cpu, now
        task.gen += 1
        self._arm(task, self._check_delay(left, contended), _Timer.SLICE)

    def requeue(self, task: Task, now: float) -> None:
        """Hand `task` (aged or woken) back to the policy's queue."""
        self._leave_turns(task, alive=True)
        task.gen += 1
        task.state = State.QUEUED
        task.enqueued_at = now
        self.policy.enqueue(task, now)

    def _leave_turns(self, task: Task, alive: bool) -> None:
        line = self._turns.get(task.tenant)
        if line is None or task not in line:
            return
        line.remove(task)
        if not line:
            del self._turns[task.tenant]
        self._set_nice(task, 0, alive)
        self._renice_turns(task.tenant)

    def _set_nice(self, task: Task, nice: int, alive: bool = True) -> None:
        """Give `task` nice `nice` (no syscall for a task that is gone), keeping the
        watchdog's list of reniced pids: told before a task leaves nice 0, so it knows
        every reniced pid, and after it is back."""
        if task.nice == nice:
            return
        if task.nice == 0:
            self._watchdog_say(b"N %d\n" % task.pid)
        if alive:
            procfs.set_nice(task.pid, nice)
        if nice == 0:
            self._watchdog_say(b"O %d\n" % task.pid)
        task.nice = nice

    def _renice_turns(self, tenant: str) -> None:
        """Give the tasks waiting in CFS their nice values for their place in the turn order.

        Only changed values cost syscalls: usually the first `cores` tasks when the
        group grows or shrinks, and the one whose turn came.
        """
        line = self._turns.get(tenant, [])
        for task, nice in zip(line, in_turn_nices(len(line), len(self.cores))):
            self._set_nice(task, nice)

    def arm_aging(self, task: Task, delay: float) -> None:
        task.gen += 1
        self._arm(task, delay, _Timer.AGING)

    def redispatch_at(self, when: float) -> None:
        """Run the policy's dispatch again at `when` even if nothing else happens."""
        self._dispatch_at = when if self._dispatch_at is None else min(self._dispatch_at, when)

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
            self._drain_inbox()
            self._run_timers()
            self.policy.dispatch(time.monotonic())

    def _drain_inbox(self) -> None:
        while self._inbox:
            item = self._inbox.popleft()
            if item[0] is _Msg.ADMIT:
                self._on_admit(item[1])
            else:
                self._on_report(*item[1:])

    def _arm(self, task: Task, delay: float, kind: _Timer) -> None:
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), task.gen, task, kind))

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, gen, task, kind = heapq.heappop(self._timers)
            if gen != task.gen or task.state is not _TIMER_STATE[kind]:
                continue
            self.stats["timer_wakeups"] += 1
            if kind is _Timer.SLICE:
                cpu = procfs.cpu_seconds(task.pid)
                if cpu is not None:  # None: exited; the pidfd event follows
                    self.policy.tick(task, time.monotonic(), cpu)
            elif kind is _Timer.BLOCKED:
                self._on_blocked_recheck(task)
            elif kind is _Timer.AGING:
                self.policy.aging(task, time.monotonic())
            else:
                self._finish(task)
            now = time.monotonic()

    def _check_delay(self, left: float, contended: bool = True) -> float:
        check = self.config.block_check_s
        if check is not None and not contended and self.config.idle_check_s is not None:
            check = max(check, self.config.idle_check_s)
        return left if check is None else min(left, check)

    def _release_core(self, task: Task, cpu: float | None) -> None:
        if cpu is not None:
            task.outcome.fifo_cpu += max(0.0, cpu - task.slice_cpu0)
        self.unstack(task)
        self.policy.stopping(task, cpu)

    def _placement_call(self, hook, task: Task) -> None:
        try:
            hook(task.pid, task.tenant)
        except Exception:
            log.exception("placement hook %s failed for pid %d", getattr(hook, "__name__", hook), task.pid)

    def _on_admit(self, task: Task) -> None:
        if task.pidfd < 0:
            task.exit.never_seen = True
            task.state = State.EXITED
            task.outcome.end = task.enqueued_at
            self._tasks[task.pid] = task
            if not task.exit.expect_report:
                self._finish(task)
            else:
                self._arm(task, self.config.cpu_report_timeout_s, _Timer.REPORT)
            return
        self._tasks[task.pid] = task
        self._by_fd[task.pidfd] = task
        self._epoll.register(task.pidfd, select.EPOLLIN)
        # Confine every admitted process to the scheduler's cores, queued ones included.
        try:
            procfs.set_policy(task.pid, os.SCHED_OTHER, 0, self._all_cores)
        except PermissionError:
            log.warning("cannot set the affinity of pid %d (not ours); it runs where it is", task.pid)
        task.gen += 1
        task.enqueued_at = time.monotonic()
        self.policy.admit(task, task.enqueued_at)

    def _on_blocked_recheck(self, task: Task) -> None:
        st = procfs.state(task.pid)
        if st is None or st == "Z":
            return
        if st == "R":
            self.requeue(task, time.monotonic())
            return
        task.backoff = min(task.backoff * 2, self.config.blocked_recheck_max_s)
        task.gen += 1
        self._arm(task, task.backoff, _Timer.BLOCKED)

    # completion

    def _on_exit(self, task: Task) -> None:
        now = time.monotonic()
        self._epoll.unregister(task.pidfd)
        del self._by_fd[task.pidfd]
        os.close(task.pidfd)
        task.pidfd = -1
        task.exit.exit_cpu = procfs.cpu_seconds(task.pid)  # readable while the process is a zombie
        task.outcome.end = now
        if task.state is State.FILTER:
            task.exit.exited_in_filter = True
            self.unstack(task)
            self.policy.stopping(task, task.exit.exit_cpu)
        if task.promoted:
            self._watchdog_say(b"D %d\n" % task.pid)
            task.promoted = False
        self._leave_turns(task, alive=False)
        task.gen += 1
        task.state = State.EXITED
        if task.exit.expect_report and task.exit.reported_cpu is None:
            self._arm(task, self.config.cpu_report_timeout_s, _Timer.REPORT)
        else:
            self._finish(task)

    def _on_report(self, pid: int, cpu_s: float, end: float | None) -> None:
        task = self._tasks.get(pid)
        if task is None:
            return
        task.exit.reported_cpu = cpu_s
        if end is not None:
            task.exit.reported_end = end
        if task.state is State.EXITED:
            self._finish(task)

    def _finish(self, task: Task) -> None:
        facts, outcome = task.exit, task.outcome
        cpu = facts.reported_cpu if facts.reported_cpu is not None else facts.exit_cpu
        if cpu is None:
            cpu = task.check_cpu
        if facts.never_seen and facts.reported_end is not None:
            outcome.end = facts.reported_end
        if facts.exited_in_filter:
            outcome.fifo_cpu += max(0.0, cpu - task.slice_cpu0)
        fifo = min(outcome.fifo_cpu, cpu)
        start = outcome.start if outcome.start is not None else outcome.end
        record = InvocationRecord(
            str(task.inv.id), task.inv.function, task.inv.tenant, task.arrival, start, outcome.end, cpu,
            fifo, max(0.0, cpu - fifo), outcome.demoted, outcome.bypassed, outcome.aged, task.pid)
        task.state = State.DONE
        task.gen += 1
        self._tasks.pop(task.pid, None)
        self.stats["completed"] += 1
        self.policy.exited(task, cpu)
        if self._registry is not None:
            self._registry.unregister(task.pid)
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
        for task in [t for line in self._turns.values() for t in line]:
            self._set_nice(task, 0)
        self._turns.clear()
        for task in list(self._tasks.values()):
            if task.promoted or task.state is State.FILTER:
                try:
                    procfs.set_policy(task.pid, os.SCHED_OTHER, 0, self._all_cores)
                except OSError:
                    pass
                self._watchdog_say(b"D %d\n" % task.pid)
                task.promoted = False
            if task.pidfd >= 0:
                try:
                    self._epoll.unregister(task.pidfd)
                except OSError:
                    pass
                os.close(task.pidfd)
                task.pidfd = -1
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
        self._epoll.close()
        os.close(self._wake)


__all__ = ["Scheduler", "SchedulerConfig", "PrivilegeError", "InvocationRecord"]
