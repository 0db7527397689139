"""Where FILTER jobs run: the affinity the scheduler gives them must hold, and
a preempted job must not stay behind on a crowded core when another frees up."""
import json
import os
import subprocess
import sys
import time

import pytest

from sfs import procfs
from sfs.scheduler import Scheduler, SchedulerConfig
from sfs.slice import SliceConfig
from workloads.invocation import Invocation

TWO_CORES = (os.cpu_count() or 1) >= 2


def _start_forkserver(cores, jobs):
    server = subprocess.Popen([sys.executable, "-m", "sfs.forkserver"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    lines = [json.dumps({"cores": cores, "priority": 0})] + [json.dumps(j) for j in jobs]
    server.stdin.write(("\n".join(lines + [json.dumps({"end": True})]) + "\n").encode())
    server.stdin.flush()
    assert server.stdout.readline().strip() == b"R"
    server.stdin.write((json.dumps({"go": time.monotonic()}) + "\n").encode())
    server.stdin.flush()
    return server


@pytest.mark.skipif(not TWO_CORES, reason="needs two cores")
def test_forkserver_children_keep_the_affinity_the_scheduler_gives_them():
    # The scheduler pins a child as soon as it hears of it (the S line), possibly
    # before the child first runs; the child must not widen its affinity afterwards.
    jobs = [{"i": k, "at": 0.02 * k, "burn": 0.05} for k in range(6)]
    server = _start_forkserver([0, 1], jobs)
    try:
        seen = 0
        while seen < len(jobs):
            parts = server.stdout.readline().split()
            assert parts, "the fork server stopped early"
            if parts[0] != b"S":
                continue
            seen += 1
            pid = int(parts[2])
            try:
                assert os.sched_getaffinity(pid) == {0, 1}  # confined to the replay's cores already
                os.sched_setaffinity(pid, {1})            # what a promotion to core 1 does
                deadline = time.monotonic() + 5
                while (procfs.cpu_seconds(pid) or 0) < 0.02 and time.monotonic() < deadline:
                    time.sleep(0.002)
                assert os.sched_getaffinity(pid) == {1}
            except ProcessLookupError:
                pass  # it finished already: nothing left to check for this one
    finally:
        server.stdin.close()
        server.wait(timeout=20)


def _spawn_burner(seconds):
    program = ("import sys, time\nsys.stdin.buffer.read(1)\nt = time.thread_time() + {s}\n"
               "while time.thread_time() < t: pass\n").format(s=seconds)
    return subprocess.Popen([sys.executable, "-c", program], stdin=subprocess.PIPE)


def _wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def _go(proc):
    proc.stdin.write(b"x")
    proc.stdin.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="SCHED_FIFO needs root")
@pytest.mark.skipif(not TWO_CORES, reason="needs two cores")
def test_preempted_job_resumes_on_the_core_that_frees_first():
    # a (long) runs on one core, b (short) on the other; c preempts a, which has
    # attained more.  When b ends, a must move to b's core instead of waiting for c.
    records = {}
    config = SchedulerConfig(slice=SliceConfig(initial_s=2.0, min_samples=10_000), preempt_after_s=0.02)
    procs = {"a": _spawn_burner(0.5), "b": _spawn_burner(0.08), "c": _spawn_burner(0.8)}
    try:
        for proc in procs.values():  # interpreters started and waiting for their go
            _wait_for(lambda: procfs.state(proc.pid) == "S" and procfs.cpu_seconds(proc.pid))
        # Above the functions, or this thread could not admit c while a and b hold both cores.
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(30))
        with Scheduler("sfs", [0, 1], config,
                       on_complete=lambda r: records.update({r.invocation_id: r})) as s:
            for name, attained in (("a", 0.1), ("b", 0.03), ("c", 0.0)):
                proc = procs[name]
                cpu0 = procfs.cpu_seconds(proc.pid)
                s.admit(proc.pid, Invocation(name, "f", "t", 0.0, 0.0))
                _go(proc)
                _wait_for(lambda: (procfs.cpu_seconds(proc.pid) or 0) - cpu0 >= attained)
            assert s.wait_idle(timeout=30)
            stats = dict(s.stats)
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        for proc in procs.values():
            proc.wait(timeout=30)
    assert stats["preemptions"] >= 1
    a, b, c = records["a"], records["b"], records["c"]
    assert not any(r.demoted for r in (a, b, c))
    # stuck behind c, a would end about 0.37 s of CPU after c does
    assert a.end_s < c.end_s
    assert a.end_s - b.end_s < 0.37 + 0.2
