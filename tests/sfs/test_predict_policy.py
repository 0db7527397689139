"""sfs-predict: the per-function predictor and its decisions, without processes."""
import time

import pytest
from types import SimpleNamespace

from sfs.policies import make_policy
from sfs.policies.sfs_predict import predict, remaining, srpt
from sfs.scheduler import SchedulerConfig
from sfs.slice import SliceConfig
from sfs.task import Task


def test_prediction_is_the_median_once_enough_is_known():
    assert predict([0.1, 0.3]) is None
    assert predict([0.1, 0.3, 0.2]) == 0.2
    assert predict([0.1, 0.3, 0.2, 0.9]) == 0.25


def test_srpt_preemption_only_when_the_predictions_tell_the_two_apart():
    assert remaining(0.3, 0.1) == pytest.approx(0.2) and remaining(None, 0.1) is None
    assert remaining(0.3, 0.5) == 0.5            # overrun: mispredicted, expect as much again
    assert srpt(0.05, 0.2) is True               # clearly shorter: now
    assert srpt(0.4, 0.2) is False               # clearly longer: never
    assert srpt(0.15, 0.2) is None and srpt(0.2, 0.15) is None   # close: least attained service decides
    assert srpt(None, 0.2) is None and srpt(0.3, None) is None   # unknown: likewise


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


def test_sfs_predict_preempts_at_once_only_when_predictions_say_so():
    policy = make_policy("sfs-predict")
    policy.attach(SimpleNamespace(config=SchedulerConfig(slice=SliceConfig(min_samples=10_000),
                                                         preempt_after_s=0.02), cores=[0]))
    for function, cpu in [("long", 2.0)] * 3 + [("short", 0.05)] * 3:
        policy.exited(Task(1, SimpleNamespace(id="x", function=function, tenant="t"), 0.0), cpu)

    def task(function):
        return Task(2, SimpleNamespace(id="y", function=function, tenant="t"), 0.0)
    assert policy.preempt_margin(task("short"), task("long"), 0.0, 0.001) == 0.0   # SRPT: now
    assert policy.preempt_margin(task("long"), task("short"), 0.0, 0.001) is None  # never
    assert policy.preempt_margin(task("new"), task("long"), 0.0, 0.001) == 0.02    # unknown: LAS
    assert policy.preempt_margin(task("short"), task("new"), 0.0, 0.001) == 0.02
    assert policy.preempt_margin(task("short"), task("long"), 0.0, 2.5) == 0.0     # long overran: still longer
    assert policy.preempt_margin(task("long"), task("short"), 0.0, 0.15) is None   # short overran, not by 2 s
    assert policy.preempt_margin(task("short"), task("short"), 0.0, 0.15) == 0.0   # 0.05 vs as much again: 0.15
    assert policy.preempt_margin(task("short"), task("short"), 0.0, 0.001) == 0.02  # same prediction: LAS
