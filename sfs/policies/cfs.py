"""cfs: plain Linux.  Every process stays SCHED_OTHER on the scheduler's cores; only accounting."""
from __future__ import annotations

from sfs.policies.base import Policy
from sfs.task import Task


class CfsPolicy(Policy):
    name = "cfs"
    realtime = False

    def admit(self, task: Task, now: float) -> None:
        self.engine.to_cfs(task, now)  # no aging timer: nothing ever leaves CFS

    def enqueue(self, task: Task, now: float) -> None:
        raise AssertionError("cfs never queues a task")

    def dispatch(self, now: float) -> None:
        pass
