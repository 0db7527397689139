"""sfs trace's BPF side against processes with known behaviour."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bpf_testlib import needs_bpf, python_child, wait_for
from ebpf.sched import EVENTS

pytestmark = needs_bpf(EVENTS)

SPIN_S = 0.6
# Spins for SPIN_S of CPU time and reports the wall time that took.
SPINNER = f"""
import sys, time
sys.stdin.readline()
wall, cpu = time.monotonic(), time.process_time()
while time.process_time() - cpu < {SPIN_S}:
    pass
print("done", time.monotonic() - wall, flush=True)
sys.stdin.readline()
"""
SLEEPER = """
import sys, time
sys.stdin.readline()
for _ in range(50):
    time.sleep(0.02)
print("done", flush=True)
sys.stdin.readline()
"""
# 0.3 s of CPU under FIFO, then 0.3 s of CPU under CFS.  RLIMIT_RTTIME kills it should the
# demotion ever fail; the test demotes and kills it in any case.
FIFO_THEN_FAIR = """
import os, resource, sys, time
sys.stdin.readline()
resource.setrlimit(resource.RLIMIT_RTTIME, (1_000_000, 1_500_000))
try:
    os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(1))
    t = time.process_time()
    while time.process_time() - t < 0.3:
        pass
finally:
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
t = time.process_time()
while time.process_time() - t < 0.3:
    pass
print("done", flush=True)
sys.stdin.readline()
"""


@pytest.fixture(scope="module")
def tracer():
    from ebpf.sched import SchedTracer
    t = SchedTracer(tgids=[])
    yield t
    t.close()


def schedstat_ns(pid: int) -> int:
    """CPU time of every thread of `pid`, from /proc (the kernel's own accounting)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            total += int(f.read().split()[0])
    return total


def wait_blocked(*children) -> None:
    """Until each child is asleep on its stdin: its start-up is over."""
    for child in children:
        def asleep():
            with open(f"/proc/{child.pid}/stat") as f:
                return f.read().rpartition(")")[2].split()[0] == "S"
        assert wait_for(asleep, 10), f"child {child.pid} never blocked"


def per_process(samples, pid):
    threads = [s for s in samples.values() if s.tgid == pid]
    assert threads, f"no thread of pid {pid} was traced"
    return threads


def run_until_done(children) -> list[str]:
    """Start the children's work; wait for each one's "done ..." line."""
    for child in children:
        child.go()
    lines = []
    for child in children:
        line = child.proc.stdout.readline()
        assert line.startswith("done"), f"child {child.pid} did not finish: {line!r}"
        lines.append(line)
    return lines


def test_spinner_on_cpu_matches_proc_and_sleeper_is_near_zero(tracer, gated):
    spinner = gated(python_child(SPINNER))
    sleeper = gated(python_child(SLEEPER))
    wait_blocked(spinner, sleeper)
    tracer.set_tgids([spinner.pid, sleeper.pid])
    before = {p.pid: schedstat_ns(p.pid) for p in (spinner, sleeper)}
    spin_line, _ = run_until_done([spinner, sleeper])
    spin_wall_ns = float(spin_line.split()[1]) * 1e9
    # The tracer counts a stretch on the CPU when it ends, /proc counts it as it
    # runs: read both once the children sleep again, with no stretch open.
    wait_blocked(spinner, sleeper)
    after = {p.pid: schedstat_ns(p.pid) for p in (spinner, sleeper)}
    samples = tracer.sample()

    spin = per_process(samples, spinner.pid)
    spin_oncpu = sum(s.oncpu_ns for s in spin)
    proc_spin = after[spinner.pid] - before[spinner.pid]
    # A spinner never sleeps: on a CPU or waiting for one for all its wall
    # time (wide margins: two cores shared with other work), and its on-CPU
    # time is what /proc accounts.
    spin_runq = sum(s.runq_ns for s in spin)
    assert 0.8 * spin_wall_ns < spin_oncpu + spin_runq < 1.25 * spin_wall_ns + 50e6, (spin, spin_wall_ns)
    assert spin_oncpu > 0.9 * SPIN_S * 1e9, spin
    assert abs(spin_oncpu - proc_spin) < 0.05 * proc_spin, (spin_oncpu, proc_spin)

    sleep = per_process(samples, sleeper.pid)
    sleep_oncpu = sum(s.oncpu_ns for s in sleep)
    assert sleep_oncpu < 0.1e9, sleep
    assert abs(sleep_oncpu - (after[sleeper.pid] - before[sleeper.pid])) < 20e6
    # 50 wake-ups: each one is a run-queue latency sample and a voluntary switch.
    wakeups = sum(s.runq_count for s in sleep)
    assert wakeups >= 40, sleep
    assert sum(sum(s.runq_hist.values()) for s in sleep) == wakeups
    assert sum(s.voluntary for s in sleep) >= 40
    assert sum(s.rt_ns for s in spin + sleep) == 0


def test_fifo_stretch_is_reported_as_rt_time(tracer, gated):
    from sharekit.rt import demote
    child = gated(python_child(FIFO_THEN_FAIR))
    tracer.set_tgids([child.pid])
    try:
        run_until_done([child])
    finally:
        demote(child.pid)
    wait_blocked(child)   # its last stretch on the CPU is counted when it ends
    threads = per_process(tracer.sample(), child.pid)
    rt = sum(s.rt_ns for s in threads)
    fair = sum(s.fair_ns for s in threads)
    assert 0.2e9 < rt < 0.45e9, threads
    assert fair > 0.2e9, threads


def test_filtered_out_processes_are_not_reported(tracer, gated):
    traced = gated(python_child(SLEEPER))
    other = gated(python_child(SLEEPER))
    tracer.set_tgids([traced.pid])
    run_until_done([traced, other])
    tgids = {s.tgid for s in tracer.sample().values()}
    assert traced.pid in tgids
    assert other.pid not in tgids


# A thread alone on a core is never switched out, so a tracer started while
# it runs first sees it at its next switch.  This spinner yields every 50 ms,
# as any real program's thread eventually does, so both intervals count it.
YIELDING_SPINNER = """
import sys, time
sys.stdin.readline()
end = time.monotonic() + 30
while time.monotonic() < end:
    lap = time.monotonic() + 0.05
    while time.monotonic() < lap:
        pass
    time.sleep(0.0005)
"""


def test_cli_json_lines(gated):
    spinner = gated(python_child(YIELDING_SPINNER))
    spinner.go()
    result = subprocess.run([str(Path(sys.executable).with_name("sfs")), "trace", "-p", str(spinner.pid), "0.5", "2", "-j"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert line["kind"] == "interval"
        (proc,) = line["processes"]
        assert proc["pid"] == spinner.pid
        for key in ("oncpu_ns", "rt_ns", "fair_ns", "runq_ns", "runq_count", "runq_max_ns",
                    "involuntary", "voluntary", "runq_hist_us", "threads"):
            assert key in proc
        assert proc["oncpu_ns"] > 0.1e9   # it spins through both half-second intervals
        assert line["total"]["oncpu_ns"] == proc["oncpu_ns"]
