"""sfs-predict: sfs with FILTER ordered by a Gittins index over each function's recent CPU times.

Serverless functions repeat: a function's next call tends to take about
as long as its last few did.  This policy keeps the CPU times of the last
``HISTORY`` completions of every function and, for functions seen fewer
than ``MIN_SAMPLES`` times, of the last ``GLOBAL_HISTORY`` completions of
any function.  That sample is the task's size distribution.

Inside FILTER the task with the highest *slowdown Gittins index* runs
first.  For a task that has attained ``a`` CPU seconds, and a quantum that
would carry it to the sample value ``s_k``, the index is

    sum of 1/s over the sample values a < s <= s_k
    ----------------------------------------------------------
    sum over the sample values s > a of (min(s, s_k) - a)

maximised over k: the slowdown weight (1/size) a unit of CPU is expected to
retire if spent on this task now.  Ordering by it minimises mean slowdown
for jobs drawn from known distributions.  It contains the two rules it
replaces as special cases: when a function's calls all take about the same
time, its index grows as it runs (SRPT: a call close to done is not
preempted); when they are spread over decades, a task that has run long is
probably long, and its index falls (least attained service).  A task that
has outrun every sample is expected to run as long again as it already has
(durations are heavy-tailed): index 1 / (2 a^2).

Decisions, all by that index:

- queue order: fresh arrivals by their index at no attained CPU (ties first
  come first served), then the re-queued ones (woken or aged), as in sfs;
- preemption: a newcomer takes the core whose running task has the lowest
  index, if its own is ``HYSTERESIS`` times higher; a full stack sends its
  lowest-ranked waiting task to CFS;
- reorder: a preempted task gets its core back once its index is
  ``HYSTERESIS`` times the running one's; an idle core steals the
  highest-ranked preempted task.

Everything else (slice, bypass, blocking, aging, demotion) is sfs.
"""
from __future__ import annotations

import bisect
from collections import deque
from typing import Sequence

from sfs.policies.sfs import SfsPolicy
from sfs.task import Task

HISTORY = 16          # per function: enough to see its spread, short enough to follow a change
MIN_SAMPLES = 3       # fewer: the function is unknown, use the recent calls of all functions
GLOBAL_HISTORY = 100
HYSTERESIS = 1.2      # indices closer than this do not swap tasks (each swap costs syscalls)
_MIN_ATTAINED_S = 0.001


def slowdown_index(samples: Sequence[float], attained: float) -> float:
    """The slowdown Gittins index of a task with `attained` CPU seconds, its size
    distributed as the sorted, positive `samples` (see the module doc)."""
    first = bisect.bisect_right(samples, attained)
    alive = len(samples) - first
    if alive == 0:  # outran every sample: expect as much again
        a = max(attained, _MIN_ATTAINED_S)
        return 1.0 / (2.0 * a * a)
    best = weight = done_cost = 0.0
    for k in range(first, len(samples)):
        s = samples[k]
        weight += 1.0 / s
        done_cost += s - attained
        # the sample values finished by s_k cost what they ran; the others ran s_k - a each
        cost = done_cost + (len(samples) - k - 1) * (s - attained)
        best = max(best, weight / cost)
    return best


class SfsPredictPolicy(SfsPolicy):
    name = "sfs-predict"

    def __init__(self) -> None:
        self.history: dict[str, deque[float]] = {}
        self.recent: deque[float] = deque(maxlen=GLOBAL_HISTORY)
        self._sorted: dict[str | None, tuple[float, ...]] = {}   # cache, cleared at every completion

    def distribution(self, task: Task) -> tuple[float, ...]:
        """Sorted CPU times that stand for `task`'s size."""
        mine = self.history.get(task.inv.function, ())
        key = task.inv.function if len(mine) >= MIN_SAMPLES else None
        if key not in self._sorted:
            source = mine if key is not None else self.recent
            # Nothing completed yet: all we know is that FILTER gives it a slice.
            self._sorted[key] = tuple(sorted(source)) if source else (self.slice.value,)
        return self._sorted[key]

    def rank(self, task: Task, attained: float) -> float:
        return slowdown_index(self.distribution(task), attained)

    def order(self, queued: list[Task]) -> list[Task]:
        return sorted(queued, key=lambda t: (t.requeued, -self.rank(t, 0.0) if not t.requeued else 0.0,
                                             t.enqueued_at))

    def preempt_gain(self, newcomer: Task, mine: float, running: Task, attained: float) -> tuple[float, float] | None:
        # The running task's index moves as it runs; every slice check re-runs dispatch.
        theirs = self.rank(running, attained)
        return self.rank(newcomer, mine) - HYSTERESIS * theirs, None

    def overtakes(self, waiting: Task, waited: float, top: Task, attained: float) -> bool:
        return self.rank(waiting, waited) > HYSTERESIS * self.rank(top, attained)

    def exited(self, task: Task, cpu: float) -> None:
        if cpu > 0:
            self.history.setdefault(task.inv.function, deque(maxlen=HISTORY)).append(cpu)
            self.recent.append(cpu)
            self._sorted.clear()
        super().exited(task, cpu)
