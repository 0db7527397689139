import pytest

from sharekit.fairness import NICE_WEIGHTS
from sfs.decisions import (DEMOTE, REARM, YIELD, aging_due, in_turn_nices, joins_turns,
                           nice_for_weight, on_slice_check, should_bypass)
from sfs.slice import AdaptiveSlice, SliceConfig
from sharekit.stats import quantile


def test_iat_rule_is_mean_gap_times_cores_without_ms_truncation():
    s = AdaptiveSlice(SliceConfig(rule="iat", initial_s=0.02, window=10, min_samples=4, min_span_s=0), cores=2)
    for k in range(3):
        s.on_arrival(k * 0.0375)
    assert s.value == 0.02  # start value until min_samples arrivals
    s.on_arrival(3 * 0.0375)
    assert s.value == pytest.approx(0.075)  # 37.5 ms x 2 cores, no whole-ms floor


def test_iat_rule_window_slides():
    s = AdaptiveSlice(SliceConfig(rule="iat", window=5, min_samples=2, min_span_s=0), cores=1)
    t = 0.0
    for _ in range(5):
        s.on_arrival(t)
        t += 0.1
    assert s.value == pytest.approx(0.1)
    for _ in range(4):  # the window now holds only 10 ms gaps
        s.on_arrival(t)
        t += 0.01
    assert s.value == pytest.approx((0.1 + 3 * 0.01) / 4)


def test_floor_and_ceiling():
    s = AdaptiveSlice(SliceConfig(rule="iat", floor_s=0.006, ceiling_s=1.0, min_samples=2, min_span_s=0), cores=2)
    s.on_arrival(0.0)
    s.on_arrival(0.001)
    assert s.value == 0.006
    s.on_arrival(10.0)
    assert s.value == 1.0


def test_iat_rule_ignores_a_burst_of_simultaneous_arrivals():
    # The Azure 2021 sample opens with 21 calls in 17 ms: a mean gap of under 1 ms.
    s = AdaptiveSlice(SliceConfig(rule="iat", initial_s=0.25, min_samples=8, min_span_s=0.5), cores=2)
    for k in range(21):
        s.on_arrival(k * 0.0008)
    assert s.value == 0.25  # not the 6 ms floor
    for k in range(1, 6):  # then the calls spread out: the rule follows them again
        s.on_arrival(0.0168 + k * 0.2)
    assert s.value == pytest.approx((0.0168 + 1.0) / 25 * 2)


def test_percentile_rule_uses_recent_durations():
    s = AdaptiveSlice(SliceConfig(rule="percentile", percentile=80, window=10, min_samples=5), cores=2)
    for d in [0.01, 0.02, 0.03, 0.04, 0.05]:
        s.on_arrival(0.0)
        s.on_completion(d)
    assert s.value == pytest.approx(quantile([0.01, 0.02, 0.03, 0.04, 0.05], 0.8))
    assert s.value == pytest.approx(0.042)


def test_bad_slice_config():
    with pytest.raises(ValueError):
        SliceConfig(rule="median")
    with pytest.raises(ValueError):
        SliceConfig(floor_s=0)


def test_bypass_only_for_fresh_arrivals_queued_longer_than_k_t():
    assert should_bypass(now=1.0, enqueued_at=0.69, slice_s=0.1, factor=3)
    assert not should_bypass(now=1.0, enqueued_at=0.71, slice_s=0.1, factor=3)
    assert not should_bypass(now=1.0, enqueued_at=0.0, slice_s=0.1, factor=3, aged=True)
    assert not should_bypass(now=1.0, enqueued_at=0.0, slice_s=0.1, factor=3, resumed=True)


def test_slice_check_outcomes():
    assert on_slice_check(0.1, 0.1, 0.02, 0.02, blocked=False) == DEMOTE
    assert on_slice_check(0.1, 0.0998, 0.02, 0.02, blocked=True) == DEMOTE
    # sleeping and not using the core: yield, keep the budget
    assert on_slice_check(0.1, 0.03, 0.001, 0.02, blocked=True) == YIELD
    # caught asleep for an instant while computing: keep the core
    assert on_slice_check(0.1, 0.03, 0.019, 0.02, blocked=True) == REARM
    # preempted (CPU did not advance) but runnable: re-arm for the remainder
    assert on_slice_check(0.1, 0.03, 0.0, 0.02, blocked=False) == REARM


def test_aging():
    assert aging_due(now=20.0, cfs_since=10.0, aging_s=10.0)
    assert not aging_due(now=19.9, cfs_since=10.0, aging_s=10.0)


def test_nice_for_weight_is_the_closest_kernel_weight():
    assert nice_for_weight(1024) == 0 and nice_for_weight(15) == 19 and nice_for_weight(10 ** 6) == -20
    assert nice_for_weight(1500) == -2          # between 1277 (-1) and 1586 (-2), nearer 1586


def test_demoted_tasks_served_in_turn_keep_the_group_weight():
    assert in_turn_nices(0, 2) == [] and in_turn_nices(2, 2) == [0, 0]   # no one waits: plain CFS
    nices = in_turn_nices(5, 2)
    assert nices[2:] == [19, 19, 19] and nices[0] == nices[1] < 0
    weight = sum(NICE_WEIGHTS[n + 20] for n in nices)
    assert weight == pytest.approx(5 * 1024, rel=0.15)    # as much CPU as five nice-0 tasks get
    # the ones whose turn it is get nearly all of it
    assert NICE_WEIGHTS[nices[0] + 20] > 50 * NICE_WEIGHTS[nices[2] + 20]
    assert in_turn_nices(3, 1) == [nice_for_weight(3 * 1024 - 2 * 15), 19, 19]


def test_only_calls_that_ran_longer_than_half_the_recent_ones_wait_in_turn():
    assert joins_turns(0.5, 0.1, 0.0) and joins_turns(0.1, 0.1, 0.0)
    assert not joins_turns(0.035, 0.1, 0.0)   # a slice cut short by a burst: it shares CFS
    assert not joins_turns(5.0, None, 0.0)    # nothing completed yet: plain CFS
    # early on only short calls have completed: the floor keeps a 65 ms call out of the line
    assert not joins_turns(0.065, 0.03, 0.25) and joins_turns(0.4, 0.03, 0.25)


def test_recent_median_of_completions():
    s = AdaptiveSlice(SliceConfig(), cores=2)
    assert s.recent_median() is None
    for cpu in (0.3, 0.1, 0.2):
        s.on_completion(cpu)
    assert s.recent_median() == pytest.approx(0.2)
