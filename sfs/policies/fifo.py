"""fifo: first come, first served, run to completion under SCHED_FIFO, one per core."""
from __future__ import annotations

import math
import time
from collections import deque

from sfs.policies.base import Policy
from sfs.task import State, Task


class FifoPolicy(Policy):
    name = "fifo"

    def attach(self, engine) -> None:
        super().attach(engine)
        self.queue: deque[Task] = deque()

    def enqueue(self, task: Task, now: float) -> None:
        self.queue.append(task)

    def dispatch(self, now: float) -> None:
        while self.queue:
            task = self.queue[0]
            if task.state is not State.QUEUED:  # exited while queued
                self.queue.popleft()
                continue
            core = self.engine.free_core()
            if core is None:
                return
            self.queue.popleft()
            self.engine.promote(task, core, math.inf, time.monotonic())
