"""sfs bench: its traces and its PASS/MISS rule, without processes."""
import math

import pytest

from sfs.commands.bench import Row, lower_than_cfs, verdict
from workloads.bench_traces import NAMES, bench_trace
from workloads.load import offered_load


def row(p50=1.0, p99=1.2, long_mean=2.0, cpu=0.005):
    return Row(p50, p99, 1.0, 1.5, long_mean, 1.5, 0.5, cpu, [])


def outcome(checks):
    return {name.split(" <=")[0]: passed for name, passed, _ in checks}


def test_targets_are_relative_to_the_oracle_and_cfs():
    oracle, cfs = row(p99=1.5), row(long_mean=4.0)
    got = outcome(verdict(row(p50=1.05, p99=1.95, long_mean=4.4, cpu=0.01), oracle, cfs, True))
    assert got == {"short p99": True, "short p50": True, "long mean": True, "scheduler CPU": True,
                   "no invocation lost or run twice": True}
    got = outcome(verdict(row(p50=1.06, p99=1.96, long_mean=4.41, cpu=0.0101), oracle, cfs, False))
    assert set(got.values()) == {False}


def test_a_missing_class_is_not_applicable():
    got = outcome(verdict(row(long_mean=math.nan), row(), row(), True))
    assert got["long mean"] is None and got["short p99"] is True


def test_lower_than_cfs_is_alps_percent():
    assert lower_than_cfs(0.43, 1.0) == pytest.approx(57.0)
    assert lower_than_cfs(1.2, 1.0) == pytest.approx(-20.0)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "sfs-paper"])
def test_bundled_traces_are_at_80_percent_and_long_enough(name):
    full, quick = bench_trace(name, 2), bench_trace(name, 2, quick=True)
    for invs in (full, quick):
        assert offered_load(invs, 2) == pytest.approx(0.8)
        assert invs[0].arrival_s == 0.0
    short = [i for i in full if i.duration_s < 0.25]
    assert len(short) >= 100   # so a short p99 is not one or two jobs
    assert len(quick) < len(full)


def test_azure_shaped_keeps_the_sample_bursts_and_bounds_durations():
    invs = bench_trace("azure2021", 2)
    assert len(invs) == 199 and all(0.02 <= i.duration_s <= 1.0 for i in invs)
    assert sum(1 for i in invs if i.arrival_s < 0.05) >= 15   # the opening burst stays a burst
