"""sfs-predict: the per-function predictor and its decisions, without processes."""
import time

import pytest
from types import SimpleNamespace

from sfs.policies import make_policy
from sfs.policies.sfs_predict import may_preempt, predict, remaining
from sfs.scheduler import SchedulerConfig
from sfs.slice import SliceConfig
from sfs.task import Task


def test_prediction_is_the_median_once_enough_is_known():
    assert predict([0.1, 0.3]) is None
    assert predict([0.1, 0.3, 0.2]) == 0.2
    assert predict([0.1, 0.3, 0.2, 0.9]) == 0.25


def test_srpt_preemption_only_when_both_are_known():
    assert remaining(0.3, 0.1) == pytest.approx(0.2) and remaining(0.3, 0.5) == 0.0 and remaining(None, 0.1) is None
    assert may_preempt(0.05, 0.2)
    assert not may_preempt(0.3, 0.2)
    assert may_preempt(None, 0.2) and may_preempt(0.3, None)   # unknown: least attained service decides


def test_fresh_arrivals_are_ordered_by_predicted_time_unknown_at_the_slice():
    policy = make_policy("sfs-predict")
    engine = SimpleNamespace(config=SchedulerConfig(slice=SliceConfig(initial_s=0.25, min_samples=10_000)),
                             cores=[0])
    policy.attach(engine)
    for function, cpu in [("long", 2.0)] * 3 + [("short", 0.05)] * 3:
        policy.exited(Task(1, SimpleNamespace(id="x", function=function, tenant="t"), 0.0), cpu)
    now = time.monotonic()
    tasks = [Task(k, SimpleNamespace(id=str(k), function=f, tenant="t"), 0.0, enqueued_at=now + k)
             for k, f in enumerate(["long", "new", "short", "short"])]
    resumed = Task(9, SimpleNamespace(id="9", function="short", tenant="t"), 0.0, enqueued_at=now - 1,
                   remaining=0.01)
    order = [t.pid for t in policy.order(tasks + [resumed])]
    assert order == [2, 3, 1, 0, 9]     # short, short, unknown (at T = 0.25), long, then re-queued
