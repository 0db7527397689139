"""sfs-predict: the slowdown Gittins index and the decisions taken with it, without processes."""
import time
from types import SimpleNamespace

import pytest

from sfs.policies import make_policy
from sfs.policies.sfs_predict import HYSTERESIS, MIN_SAMPLES, slowdown_index
from sfs.scheduler import SchedulerConfig
from sfs.slice import SliceConfig
from sfs.task import Task


def test_index_of_a_known_size_is_its_inverse_square():
    # one sample of 0.1 s: 1/0.1 slowdown weight retired for 0.1 s of CPU
    assert slowdown_index((0.1,), 0.0) == pytest.approx(100.0)
    # 0.1 or 0.2: best quantum is either; (10 + 5) / (0.1 + 0.2) = 10 / (0.1 + 0.1) = 50
    assert slowdown_index((0.1, 0.2), 0.0) == pytest.approx(50.0)


def test_index_grows_as_a_regular_call_nears_its_end():
    # sizes close together: past 0.15 s only the 0.2 s value is left, 0.05 s away (SRPT-like)
    assert slowdown_index((0.1, 0.2), 0.15) == pytest.approx(5.0 / 0.05)
    assert slowdown_index((0.1, 0.2), 0.15) > slowdown_index((0.1, 0.2), 0.0)


def test_index_falls_once_a_call_of_a_spread_function_has_run_long():
    # 10 ms or 1 s: a call that ran 20 ms is the 1 s one (least attained service)
    assert slowdown_index((0.01, 1.0), 0.0) == pytest.approx(100.0 / 0.02)
    assert slowdown_index((0.01, 1.0), 0.02) == pytest.approx(1.0 / 0.98)


def test_a_call_past_every_sample_expects_as_much_again():
    assert slowdown_index((0.1,), 0.2) == pytest.approx(1.0 / (2 * 0.2 * 0.2))
    assert slowdown_index((0.1,), 0.4) < slowdown_index((0.1,), 0.2)


def policy_with(history, slice_s=0.25, preempt_after_s=0.02):
    policy = make_policy("sfs-predict")
    policy.attach(SimpleNamespace(config=SchedulerConfig(
        slice=SliceConfig(initial_s=slice_s, min_samples=10_000), preempt_after_s=preempt_after_s), cores=[0]))
    for function, cpu in history:
        policy.exited(Task(1, SimpleNamespace(id="x", function=function, tenant="t"), 0.0), cpu)
    return policy


def task(function, pid=2, **kw):
    return Task(pid, SimpleNamespace(id=str(pid), function=function, tenant="t"), 0.0, **kw)


def test_unknown_functions_take_the_recent_calls_of_all_functions():
    assert policy_with([]).distribution(task("new")) == (0.25,)      # nothing known: one slice
    policy = policy_with([("long", 2.0)] * MIN_SAMPLES + [("short", 0.05)] * (MIN_SAMPLES - 1))
    assert policy.distribution(task("long")) == (2.0,) * MIN_SAMPLES
    assert policy.distribution(task("short")) == tuple(sorted([2.0] * MIN_SAMPLES + [0.05] * (MIN_SAMPLES - 1)))
    assert policy.distribution(task("new")) == policy.distribution(task("short"))


def test_fresh_arrivals_go_by_index_then_the_requeued_ones():
    policy = policy_with([("long", 2.0)] * 3 + [("short", 0.05)] * 3)
    now = time.monotonic()
    tasks = [task(f, pid=k, enqueued_at=now + k) for k, f in enumerate(["long", "new", "short", "short"])]
    resumed = task("short", pid=9, enqueued_at=now - 1, remaining=0.01)
    # the unknown one is a 50/50 mix of 0.05 and 2 s: between the two
    assert [t.pid for t in policy.order(tasks + [resumed])] == [2, 3, 1, 0, 9]


def test_a_short_call_preempts_a_long_one_and_never_the_reverse():
    policy = policy_with([("long", 2.0)] * 3 + [("short", 0.05)] * 3)
    gain, retry = policy.preempt_gain(task("short"), 0.0, task("long"), 0.001)
    assert gain > 0 and retry is None
    assert policy.preempt_gain(task("long"), 0.0, task("short"), 0.001)[0] < 0
    # a long call that overran its function's 2 s is still behind a short newcomer
    assert policy.preempt_gain(task("short"), 0.0, task("long"), 2.5)[0] > 0


def test_a_regular_call_near_its_end_keeps_its_core_against_its_own_function():
    policy = policy_with([("f", 0.1), ("f", 0.12), ("f", 0.14)])
    assert policy.preempt_gain(task("f"), 0.0, task("f"), 0.11)[0] < 0
    # ... but one that outran every sample by far has lost that claim
    assert policy.preempt_gain(task("f"), 0.0, task("f"), 0.5)[0] > 0


def test_a_call_of_a_spread_function_that_ran_long_yields_to_a_fresh_one():
    policy = policy_with([("g", 0.02), ("g", 0.03), ("g", 1.5)])
    assert policy.preempt_gain(task("g"), 0.0, task("g"), 0.01)[0] < 0    # could still be a 20 ms call
    assert policy.preempt_gain(task("g"), 0.0, task("g"), 0.05)[0] > 0    # it is the 1.5 s one


def test_a_preempted_task_takes_its_core_back_only_past_the_hysteresis():
    policy = policy_with([("f", 0.1)] * 3)
    # both at the same index: no swap; the waiting one far ahead: swap
    assert not policy.overtakes(task("f", pid=3), 0.0, task("f", pid=4), 0.0)
    top = slowdown_index((0.1,) * 3, 0.3)
    waiting = slowdown_index((0.1,) * 3, 0.0)
    assert waiting > HYSTERESIS * top
    assert policy.overtakes(task("f", pid=3), 0.0, task("f", pid=4), 0.3)


def test_rank_orders_make_room_and_steal_by_index():
    policy = policy_with([("short", 0.05)] * 3 + [("long", 2.0)] * 3)
    assert policy.rank(task("short"), 0.0) > policy.rank(task("long"), 0.0)
    # sfs itself ranks by least attained service
    sfs = make_policy("sfs")
    sfs.attach(SimpleNamespace(config=SchedulerConfig(), cores=[0]))
    assert sfs.rank(task("x"), 0.01) > sfs.rank(task("x"), 0.5)
