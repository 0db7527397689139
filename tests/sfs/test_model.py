"""sfs.model: the policies' own decisions in 1 ms steps (no processes, no root)."""
import pytest

from sfs.model import run, summary
from sfs.scheduler import SchedulerConfig
from sfs.slice import SliceConfig
from workloads.invocation import Invocation


def inv(k, arrival, size, function="f"):
    return Invocation(str(k), function, "t", arrival, size)


def test_a_call_alone_ends_after_its_own_cpu_time():
    [end] = run([inv(0, 0.5, 0.1)], "sfs", cores=1)
    assert end == pytest.approx(0.6, abs=0.002)


def test_a_short_newcomer_preempts_a_long_call():
    ends = run([inv(0, 0.0, 0.5), inv(1, 0.1, 0.03)], "sfs", cores=1)
    assert ends[1] == pytest.approx(0.13, abs=0.003) and ends[0] == pytest.approx(0.53, abs=0.003)


def test_long_calls_in_turn_end_one_after_the_other_and_shared_ones_together():
    calls = [inv(k, 0.0, 1.0) for k in range(3)]
    config = dict(slice=SliceConfig(initial_s=0.05, min_samples=10_000), in_turn_min_s=0.0, bypass_factor=100)
    warm = [inv(9, 0.0, 0.001)]   # one completion, so the recent median is known
    shared = sorted(run(warm + calls, "sfs", 1, SchedulerConfig(cfs_in_turn=False, **config))[1:])
    in_turn = sorted(run(warm + calls, "sfs", 1, SchedulerConfig(**config))[1:])
    assert shared[0] > 0.9 * shared[-1]                  # all near 3 s
    assert in_turn[0] < 0.5 * in_turn[-1]                # the first near 1 s
    assert in_turn[-1] == pytest.approx(shared[-1], abs=0.01)   # nobody later: the same work


def test_summary_cuts_classes_by_trace_duration():
    invs = [inv(0, 0.0, 0.1), inv(1, 0.0, 2.0)]
    s = summary(invs, [0.2, 4.0])
    assert s["short p50"] == pytest.approx(2.0) and s["long mean"] == pytest.approx(2.0)
