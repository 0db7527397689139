"""sfs: FILTER under SCHED_FIFO for an adaptive slice T, then CFS.

- enqueue: fresh arrivals first, first come first served; then re-queued
  tasks (woken after blocking, or aged out of CFS), which have attained
  service already.
- dispatch: a fresh arrival queued longer than ``bypass_factor`` x T goes
  straight to CFS (overload bypass).  Otherwise it gets a free core with a
  budget of T (a woken one: what was left of its budget).  With every core
  busy it preempts the FILTER task that has attained the most CPU, if that
  is ``preempt_after_s`` more than its own (least attained service first;
  the preempted task waits one FIFO priority below).  A free core takes
  preempted tasks back.
- leaving FILTER (demoted or bypassed): a call that has run longer than
  half the recent calls (and ``in_turn_min_s``) waits in CFS for its turn
  behind the earlier ones instead of sharing (``cfs_in_turn``).
- tick: slice spent -> CFS (with an aging timer); asleep -> give the core
  away and keep the budget; otherwise check again, and give the core back
  to a preempted task that has now attained ``reorder_after_s`` less.
- aging: a task in CFS for ``aging_s`` gets a fresh FILTER slice.
- exited: its CPU time feeds the slice rule.

T follows :mod:`sfs.slice`; the decisions are :mod:`sfs.decisions`.
"""
from __future__ import annotations

import math
import time

from sfs import procfs
from sfs.decisions import DEMOTE, YIELD, aging_due, joins_turns, on_slice_check, should_bypass
from sfs.policies.base import Policy
from sfs.slice import AdaptiveSlice
from sfs.task import State, Task


class SfsPolicy(Policy):
    name = "sfs"

    def attach(self, engine) -> None:
        super().attach(engine)
        self.config = engine.config
        self.slice = AdaptiveSlice(engine.config.slice, len(engine.cores))
        self.queue: list[Task] = []

    # queueing

    def admit(self, task: Task, now: float) -> None:
        self.slice.on_arrival(task.arrival)
        self.enqueue(task, now)

    def enqueue(self, task: Task, now: float) -> None:
        self.queue.append(task)

    def order(self, queued: list[Task]) -> list[Task]:
        """The order in which queued tasks try for a core."""
        return sorted(queued, key=lambda t: (t.requeued, t.enqueued_at))

    def bypass_factor(self, task: Task) -> float:
        return self.config.bypass_factor

    def may_preempt(self, newcomer: Task, running: Task) -> bool:
        return True

    def dispatch(self, now: float) -> None:
        """Place queued tasks: on free cores, else by LAS preemption.

        One that cannot be placed does not hold up the others behind it.
        """
        engine = self.engine
        if self.queue:
            ordered = self.order(self.queue)
            self.queue = []
            kept = []
            for task in ordered:
                if task.state is not State.QUEUED:  # exited while queued
                    continue
                now = time.monotonic()
                t = self.slice.value
                if should_bypass(now, task.enqueued_at, t, self.bypass_factor(task),
                                 aged=task.outcome.aged > 0, resumed=task.remaining is not None):
                    engine.stats["bypasses"] += 1
                    task.outcome.bypassed = True
                    self.leave_filter(task, now)
                    continue
                budget = task.remaining if task.remaining is not None else t
                core = engine.free_core()
                if core is None:
                    core = self._preemptible_core(task)
                    if core is None:
                        kept.append(task)
                        continue
                    engine.stats["preemptions"] += 1
                engine.promote(task, core, budget, now)
            self.queue = kept + self.queue  # nothing is queued meanwhile, but keep it safe
        self._steal()

    # The order inside FILTER.  sfs: least attained service (LAS).  A subclass that
    # orders by something else overrides these three; the mechanics below stay.

    def rank(self, task: Task, attained: float) -> float:
        """Higher runs first.  sfs: less attained CPU."""
        return -attained

    def preempt_gain(self, newcomer: Task, mine: float, running: Task, attained: float) -> tuple[float, float] | None:
        """Whether `newcomer` (`mine` CPU attained) takes `running`'s core (`attained`).

        (gain, retry_s): it does when gain > 0, on the core with the largest
        gain; otherwise dispatch looks again in retry_s (None: at the next
        event).  None: never.  sfs: least attained service, with
        ``preempt_after_s`` of hysteresis so two young tasks do not swap
        every tick; the gain is in CPU seconds, so -gain is when to look again.
        """
        ahead = attained - mine - self.config.preempt_after_s
        return ahead, -ahead

    def overtakes(self, waiting: Task, waited: float, top: Task, attained: float) -> bool:
        """A preempted task (`waited` CPU attained) takes its core back from the running one.
        sfs: once the running one has attained ``reorder_after_s`` more."""
        return attained - waited > self.config.reorder_after_s

    def _preemptible_core(self, task: Task) -> int | None:
        """The core whose running task `task` beats by the largest gain."""
        if self.config.preempt_after_s is None:
            return None
        mine = procfs.cpu_seconds(task.pid) or 0.0
        best, best_core = 0.0, None
        soonest = math.inf
        for core, stack in self.engine.stacks.items():
            top = stack[-1]
            full = top.prio >= self.config.max_function_priority
            if (full and len(stack) < 2) or not self.may_preempt(task, top):
                continue
            verdict = self.preempt_gain(task, mine, top, procfs.cpu_seconds(top.pid) or 0.0)
            if verdict is None:
                continue
            gain, retry = verdict
            if gain > best:
                best, best_core = gain, core
            if retry is not None:
                soonest = min(soonest, retry)
        if best_core is None and math.isfinite(soonest):
            # Look again when the first running task will have attained enough.
            self.engine.redispatch_at(time.monotonic() + max(soonest, 0.001))
        elif best_core is not None and self.engine.stacks[best_core][-1].prio >= self.config.max_function_priority:
            self._make_room(best_core)
        return best_core

    def leave_filter(self, task: Task, now: float, cpu: float | None = None, attained: float | None = None) -> None:
        """Send `task` to CFS (demoted or bypassed), with an aging timer.

        It waits there for its turn (``cfs_in_turn``) if it has already run longer
        than half the recent calls and ``in_turn_min_s``: probably long, and long
        calls of similar size that all share the CPU all end late.  A younger one
        (bypassed, or demoted from a slice cut short by a burst) shares CFS as
        usual: put at the end of the line, a short call would wait for every
        long one before it.
        """
        if attained is None and self.config.cfs_in_turn and self.slice.recent_median() is not None:
            attained = procfs.cpu_seconds(task.pid) or 0.0   # read only when the rule can use it
        in_turn = attained is not None and self.waits_in_turn(attained)
        self.engine.to_cfs(task, now, self.config.aging_s, cpu, in_turn=in_turn)

    def waits_in_turn(self, attained: float) -> bool:
        """Whether a task leaving FILTER with `attained` CPU joins the CFS line (see leave_filter)."""
        return self.config.cfs_in_turn and joins_turns(attained, self.slice.recent_median(),
                                                       self.config.in_turn_min_s)

    def _make_room(self, core: int) -> None:
        """A full stack: the waiting task ranked last (sfs: the most attained CPU) leaves FILTER for CFS.

        It is the one that would run last anyway; left in the stack it
        would make every newcomer wait for a task to finish (with aging, a burst
        of re-filtered long tasks filled stacks and held short calls up for
        ~0.2 s).  It goes on under CFS, with the usual aging timer.
        """
        stack = self.engine.stacks[core]
        attained = {t.pid: procfs.cpu_seconds(t.pid) or 0.0 for t in stack[:-1]}
        victim = min(stack[:-1], key=lambda t: self.rank(t, attained[t.pid]))
        self.engine.stats["demotions"] += 1
        victim.outcome.demoted = True
        victim.remaining = None
        self.leave_filter(victim, time.monotonic(), attained=attained[victim.pid])
        self.engine.restack(core)

    def _steal(self) -> None:
        """A core with nothing to do takes a preempted task from a crowded core."""
        engine = self.engine
        while True:
            core = engine.free_core()
            if core is None:
                return
            waiting = [t for stack in engine.stacks.values() for t in stack[:-1]]
            if not waiting:
                return
            task = min(waiting, key=lambda t: (-self.rank(t, procfs.cpu_seconds(t.pid) or 0.0), t.arrival))
            engine.unstack(task)
            engine.place(task, core)

    # timers

    def tick(self, task: Task, now: float, cpu: float) -> None:
        used = cpu - task.slice_cpu0
        left = task.budget - used
        progressed, wall = cpu - task.check_cpu, now - task.check_wall
        blocked = procfs.is_blocked(task.pid) if progressed < 0.5 * wall else False
        decision = on_slice_check(task.budget, used, progressed, wall, blocked)
        if decision is DEMOTE:
            self.engine.stats["demotions"] += 1
            task.outcome.demoted = True
            task.remaining = None
            self.leave_filter(task, now, cpu, attained=cpu)
        elif decision is YIELD:
            self.engine.stats["blocked_yields"] += 1
            self.engine.yield_core(task, left, cpu)
        else:
            waiting = bool(self.queue) or len(self.engine.stacks.get(task.core, ())) > 1
            self.engine.rearm(task, left, cpu, now, contended=waiting)
            self._reorder(task, cpu)

    def _reorder(self, task: Task, cpu: float) -> None:
        """Keep the FILTER order on a core: the best-ranked preempted task gets the core
        back once it ``overtakes`` the running one (sfs: it has attained `reorder_after_s` less)."""
        stack = self.engine.stacks.get(task.core)
        if self.config.preempt_after_s is None or not stack or stack[-1] is not task or len(stack) < 2:
            return
        attained = {t.pid: procfs.cpu_seconds(t.pid) or 0.0 for t in stack[:-1]}
        waiting = max(stack[:-1], key=lambda t: self.rank(t, attained[t.pid]))
        if not self.overtakes(waiting, attained[waiting.pid], task, cpu):
            return
        core = task.core
        self.engine.unstack(waiting)
        if task.prio >= self.config.max_function_priority:
            self.engine.restack(core)
        self.engine.place(waiting, core)
        self.engine.stats["preemptions"] += 1

    def aging(self, task: Task, now: float) -> None:
        if not aging_due(now, task.cfs_since, self.config.aging_s):
            self.engine.arm_aging(task, task.cfs_since + self.config.aging_s - now)
            return
        self.engine.stats["aged"] += 1
        task.outcome.aged += 1
        task.remaining = None
        self.engine.requeue(task, now)

    def exited(self, task: Task, cpu: float) -> None:
        if cpu > 0:
            self.slice.on_completion(cpu)
