"""The policy interface: what a scheduling policy decides, and what it may ask the engine to do.

The engine (:mod:`sfs.scheduler`) owns the mechanics: pidfds, epoll, timers,
SCHED_FIFO priorities and affinity, the watchdog, the registry and the
records.  A policy owns the decisions, through these hooks (all called on
the scheduler thread, one at a time, so a policy needs no locking):

``admit(task, now)``       a new process (default: ``enqueue``)
``enqueue(task, now)``     a task wants a FILTER core: new, woken after blocking, or aged
``dispatch(now)``          pick-next: place queued tasks on cores (``engine.promote``)
``running(task)``          it got a core (``task.slice_cpu0`` is its CPU time now)
``tick(task, now, cpu)``   slice timer of a FILTER task: demote, yield or re-arm
``stopping(task, cpu)``    it left its core (demoted, yielded or exited); cpu = its CPU time
``aging(task, now)``       aging timer of a CFS task armed by the policy
``exited(task, cpu)``      it is done; cpu = its total CPU time

Operations a policy may call on ``self.engine``: ``free_core()``,
``promote(task, core, budget, now)``, ``to_cfs(task, now, aging_s, cpu, in_turn)``,
``yield_core(task, left, cpu)``, ``rearm(task, left, cpu, now, contended)``,
``requeue(task, now)``, ``arm_aging(task, delay)``, ``place(task, core)``
(stack it on an occupied core at the next FIFO priority), ``unstack(task)``,
``restack(core)``, ``redispatch_at(t)``, and the attributes ``stacks``,
``cores``, ``config`` and ``stats``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from sfs.task import Task


class Policy(ABC):
    #: the registry name, e.g. "sfs"
    name: ClassVar[str]
    #: promotes processes to SCHED_FIFO (needs CAP_SYS_NICE)
    realtime: ClassVar[bool] = True

    engine = None  # set by attach()

    def attach(self, engine) -> None:
        """Called once by the engine before the first task arrives."""
        self.engine = engine

    def admit(self, task: Task, now: float) -> None:
        self.enqueue(task, now)

    @abstractmethod
    def enqueue(self, task: Task, now: float) -> None: ...

    @abstractmethod
    def dispatch(self, now: float) -> None: ...

    def running(self, task: Task) -> None:
        pass

    def tick(self, task: Task, now: float, cpu: float) -> None:
        raise NotImplementedError(f"policy {self.name} armed no slice timer")

    def stopping(self, task: Task, cpu: float | None) -> None:
        pass

    def aging(self, task: Task, now: float) -> None:
        raise NotImplementedError(f"policy {self.name} armed no aging timer")

    def exited(self, task: Task, cpu: float) -> None:
        pass


__all__ = ["Policy"]
