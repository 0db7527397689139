"""A FIFO task never outlives its scheduler: SIGKILL it and watch the watchdog demote."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from sfs.scheduler import Scheduler
from workloads.invocation import Invocation

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="SCHED_FIFO needs root")

# Mostly asleep, so holding a core under FIFO costs the machine nothing.
VICTIM = "import time\nwhile True:\n    time.sleep(0.005)\n"

HOST = textwrap.dedent("""
    import os, sys, time
    from sfs.scheduler import Scheduler, SchedulerConfig
    from workloads.invocation import Invocation
    pids = [int(p) for p in sys.argv[1:]]
    cores = list(range(min(len(pids), os.cpu_count())))
    s = Scheduler("fifo", cores, SchedulerConfig())
    s.start()
    for k, pid in enumerate(pids):
        s.admit(pid, Invocation(str(k), "victim", "t", 0.0, 1.0))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if all(os.sched_getscheduler(p) & ~os.SCHED_RESET_ON_FORK == os.SCHED_FIFO for p in pids[:len(cores)]):
            break
        time.sleep(0.01)
    print(s.watchdog_pid, flush=True)
    time.sleep(60)
""")


def policy(pid):
    return os.sched_getscheduler(pid) & ~os.SCHED_RESET_ON_FORK  # promotions set reset-on-fork


def gone_or_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_sigkilled_scheduler_leaves_no_fifo_task_behind():
    victims = [subprocess.Popen([sys.executable, "-c", VICTIM]) for _ in range(min(2, os.cpu_count()))]
    host = subprocess.Popen([sys.executable, "-c", HOST, *[str(v.pid) for v in victims]],
                            stdout=subprocess.PIPE, text=True)
    try:
        watchdog = int(host.stdout.readline())
        assert all(policy(v.pid) == os.SCHED_FIFO for v in victims)
        host.send_signal(signal.SIGKILL)
        host.wait()
        killed = time.monotonic()
        while time.monotonic() - killed < 2.0:
            if all(policy(v.pid) == os.SCHED_OTHER for v in victims) and gone_or_zombie(watchdog):
                break
            time.sleep(0.01)
        elapsed = time.monotonic() - killed
        assert all(policy(v.pid) == os.SCHED_OTHER for v in victims)
        assert gone_or_zombie(watchdog)
        assert elapsed < 1.0
        # back on every core, not pinned to the one it was filtered on
        assert all(len(os.sched_getaffinity(v.pid)) == os.cpu_count() for v in victims)
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
        for v in victims:
            v.kill()
            v.wait()


def test_stop_demotes_everything_it_promoted():
    victim = subprocess.Popen([sys.executable, "-c", VICTIM])
    try:
        s = Scheduler("fifo", [0])
        s.start()
        try:
            s.admit(victim.pid, Invocation("v", "victim", "t", 0.0, 1.0))
            deadline = time.monotonic() + 5
            while policy(victim.pid) != os.SCHED_FIFO and time.monotonic() < deadline:
                time.sleep(0.01)
            assert policy(victim.pid) == os.SCHED_FIFO
            assert os.sched_getaffinity(victim.pid) == {0}
            watchdog = s.watchdog_pid
        finally:
            s.stop()
        assert policy(victim.pid) == os.SCHED_OTHER
        assert gone_or_zombie(watchdog)
    finally:
        victim.kill()
        victim.wait()


def test_exit_of_a_non_child_is_seen_through_its_pidfd():
    records = []
    # the grandchild is not our child: exits only visible through pidfd
    proc = subprocess.Popen([sys.executable, "-c",
                             "import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', "
                             "'import time; time.sleep(0.3)']); print(p.pid, flush=True); p.wait()"],
                            stdout=subprocess.PIPE, text=True)
    grandchild = int(proc.stdout.readline())
    with Scheduler("cfs", [0], on_complete=records.append) as s:
        s.admit(grandchild, Invocation("g", "sleeper", "t", 0.0, 0.3))
        assert s.wait_idle(timeout=10)
    proc.wait()
    assert len(records) == 1 and records[0].pid == grandchild
    assert records[0].cpu_s < 0.2  # it slept


def test_the_watchdog_restores_the_nice_values_of_the_cfs_line():
    from sfs.watchdog import apply, restore_nice
    pids, niced = set(), set()
    for line in (b"P 10", b"N 11", b"N 12", b"O 12", b"D 10"):
        assert not apply(line, pids, niced)
    assert pids == set() and niced == {11}
    assert apply(b"Q", pids, niced)
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        os.setpriority(os.PRIO_PROCESS, child.pid, -5)
        restore_nice({child.pid})
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == 0
    finally:
        child.kill()
        child.wait()
