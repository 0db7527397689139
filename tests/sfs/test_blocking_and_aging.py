"""Blocked invocations yield their FILTER core; CFS residents are aged back into FILTER (root)."""
import os
import subprocess
import sys
import time

import pytest

from sfs.scheduler import Scheduler, SchedulerConfig
from sfs.slice import SliceConfig
from workloads.invocation import Invocation

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="SCHED_FIFO needs root")

BURN = "import time\ndef burn(s):\n    t = time.thread_time() + s\n    while time.thread_time() < t: pass\n"


def start(code):
    return subprocess.Popen([sys.executable, "-c", BURN + code])


def pinned_slice(seconds):
    # the slice stays at `seconds`: the adaptive rule never gets enough samples
    return SliceConfig(initial_s=seconds, min_samples=10_000)


def test_sleeping_invocation_yields_its_core_and_keeps_its_budget():
    records = {}
    config = SchedulerConfig(slice=pinned_slice(0.5), block_check_s=0.02)
    sleeper = start("burn(0.03)\ntime.sleep(0.4)\nburn(0.03)\n")
    with Scheduler("sfs", [0], config, on_complete=lambda r: records.update({r.invocation_id: r})) as s:
        s.admit(sleeper.pid, Invocation("sleeper", "f", "t", 0.0, 0.06))
        time.sleep(0.15)  # the sleeper is asleep now
        worker = start("burn(0.05)\n")
        s.admit(worker.pid, Invocation("worker", "f", "t", 0.0, 0.05))
        assert s.wait_idle(timeout=20)
        stats = dict(s.stats)
    sleeper.wait()
    worker.wait()
    assert stats["blocked_yields"] >= 1
    # the worker got the core while the sleeper slept, instead of waiting behind it
    worker_rec, sleeper_rec = records["worker"], records["sleeper"]
    assert worker_rec.start_s - worker_rec.arrival_s < 0.1
    assert worker_rec.end_s < sleeper_rec.end_s
    assert worker_rec.fifo_s > 0.03
    # the sleeper kept its budget and was never demoted
    assert not sleeper_rec.demoted and sleeper_rec.fifo_s > 0


def test_aging_gives_a_demoted_invocation_a_new_filter_slice():
    records = []
    config = SchedulerConfig(slice=pinned_slice(0.02), aging_s=0.15)
    longer = start("burn(0.4)\n")
    with Scheduler("sfs", [0], config, on_complete=records.append) as s:
        s.admit(longer.pid, Invocation("long", "f", "t", 0.0, 0.4))
        assert s.wait_idle(timeout=30)
    longer.wait()
    (r,) = records
    assert r.demoted and r.aged >= 1
    # more FIFO time than one 20 ms slice: aging re-filtered it
    assert r.fifo_s > 0.022
