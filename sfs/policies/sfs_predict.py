"""sfs-predict: sfs with FILTER ordered by each function's predicted CPU time.

Serverless functions repeat: the same function tends to take about as long
as it did the last few times.  This policy keeps the CPU times of the last
``HISTORY`` completions of every function and predicts the next one as their
median (once ``MIN_SAMPLES`` exist).  Then, shortest predicted remaining
time first, as SRPT would:

- queue order: fresh arrivals by predicted CPU time (ties and unknown
  functions first come first served; an unknown function is predicted at
  the current slice T, the most FILTER will give it anyway), then the
  re-queued ones, as in sfs;
- preemption inside FILTER: a newcomer preempts only a task whose predicted
  remaining time (prediction minus the CPU it has attained) is longer than
  the newcomer's prediction, and then at once (no hysteresis: SRPT already
  says which goes first, and waiting ``preempt_after_s`` costs a 20 ms call
  a slowdown of up to 2); when either has no prediction the sfs rule
  (least attained service, with its hysteresis) decides alone.

Everything else (slice, bypass, blocking, aging, demotion) is sfs.
"""
from __future__ import annotations

import statistics
from collections import deque
from typing import Iterable

from sfs.policies.sfs import SfsPolicy
from sfs.task import Task

HISTORY = 8
MIN_SAMPLES = 3


def predict(history: Iterable[float], min_samples: int = MIN_SAMPLES) -> float | None:
    """The predicted CPU time of a function's next invocation; None while too little is known."""
    values = list(history)
    return statistics.median(values) if len(values) >= min_samples else None


def remaining(predicted: float | None, attained: float) -> float | None:
    """Predicted CPU time still to run (never below 0: an overrun is about to finish or is mispredicted)."""
    return None if predicted is None else max(0.0, predicted - attained)


def may_preempt(newcomer_predicted: float | None, running_remaining: float | None) -> bool:
    """SRPT inside FILTER when both are known; otherwise leave it to least attained service."""
    if newcomer_predicted is None or running_remaining is None:
        return True
    return newcomer_predicted < running_remaining


class SfsPredictPolicy(SfsPolicy):
    name = "sfs-predict"

    def __init__(self) -> None:
        self.history: dict[str, deque[float]] = {}

    def predicted(self, task: Task) -> float | None:
        return predict(self.history.get(task.inv.function, ()))

    def order(self, queued: list[Task]) -> list[Task]:
        t = self.slice.value

        def key(task: Task):
            guess = self.predicted(task)
            return (task.requeued, guess if guess is not None and not task.requeued else t, task.enqueued_at)
        return sorted(queued, key=key)

    def preempt_margin(self, newcomer: Task, running: Task, mine: float, attained: float) -> float | None:
        guess, left = self.predicted(newcomer), remaining(self.predicted(running), attained)
        if guess is None or left is None:
            return self.config.preempt_after_s
        return 0.0 if may_preempt(guess, left) else None

    def exited(self, task: Task, cpu: float) -> None:
        if cpu > 0:
            self.history.setdefault(task.inv.function, deque(maxlen=HISTORY)).append(cpu)
        super().exited(task, cpu)
