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
- preemption inside FILTER, SRPT where the predictions tell the two apart:
  a newcomer predicted at most half the running task's predicted remaining
  time (prediction minus the CPU it has attained) preempts it at once (no
  hysteresis: waiting ``preempt_after_s`` would cost a 20 ms call a
  slowdown of up to 2); one predicted at least twice as long never does.
  A task that has overrun its prediction was mispredicted; durations are
  heavy-tailed, so it is expected to run about as long again as it already
  has (a 150 ms call of a function whose median is 60 ms keeps its core
  against a newcomer predicted at 500 ms, but not against one predicted at
  20 ms).  Otherwise the sfs rule (least attained service, with its
  hysteresis) decides: when either is unknown, and when the two are close
  (calls of one function vary; between them only attained service tells
  the short ones apart).

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
    """Predicted CPU time still to run; None when unknown.  Past its prediction, as much
    again as it has attained (mispredicted, and durations are heavy-tailed)."""
    if predicted is None:
        return None
    return predicted - attained if attained < predicted else attained


# Predictions this far apart are trusted to order two calls; closer ones are not.
SRPT_RATIO = 2.0


def srpt(newcomer_predicted: float | None, running_remaining: float | None) -> bool | None:
    """True: the newcomer goes first now; False: it never preempts; None: let least attained service decide."""
    if newcomer_predicted is None or running_remaining is None:
        return None
    if newcomer_predicted * SRPT_RATIO <= running_remaining:
        return True
    if running_remaining * SRPT_RATIO <= newcomer_predicted:
        return False
    return None


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
        verdict = srpt(self.predicted(newcomer), remaining(self.predicted(running), attained))
        if verdict is None:
            return self.config.preempt_after_s
        return 0.0 if verdict else None

    def exited(self, task: Task, cpu: float) -> None:
        if cpu > 0:
            self.history.setdefault(task.inv.function, deque(maxlen=HISTORY)).append(cpu)
        super().exited(task, cpu)
