"""Least-attained-service preemption inside FILTER (root, one core)."""
import os
import subprocess
import sys
import time

import pytest

from sfs.scheduler import Scheduler, SchedulerConfig
from sfs.slice import SliceConfig
from sfs.task import Task
from workloads.invocation import Invocation

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="SCHED_FIFO needs root")

# Waits for a byte on stdin (asleep, so admission costs nothing), then burns CPU.
PROGRAM = ("import sys, time\nsys.stdin.buffer.read(1)\nt = time.thread_time() + {s}\n"
           "while time.thread_time() < t: pass\n")


def spawn(seconds):
    return subprocess.Popen([sys.executable, "-c", PROGRAM.format(s=seconds)], stdin=subprocess.PIPE)


def go(proc):
    proc.stdin.write(b"x")
    proc.stdin.close()


def run_pair(preempt_after_s):
    records = {}
    config = SchedulerConfig(slice=SliceConfig(initial_s=1.0, min_samples=10_000),
                             preempt_after_s=preempt_after_s)
    old, new = spawn(0.3), spawn(0.03)
    with Scheduler("sfs", [0], config, on_complete=lambda r: records.update({r.invocation_id: r})) as s:
        s.admit(old.pid, Invocation("old", "f", "t", 0.0, 0.3))
        go(old)
        time.sleep(0.1)   # the old one has attained well over preempt_after_s
        s.admit(new.pid, Invocation("new", "f", "t", 0.0, 0.03))
        go(new)
        assert s.wait_idle(timeout=20)
        stats = dict(s.stats)
    old.wait()
    new.wait()
    return records, stats


def test_newcomer_preempts_the_job_with_more_attained_service():
    records, stats = run_pair(0.01)
    assert stats["preemptions"] >= 1
    assert records["new"].end_s < records["old"].end_s
    assert not records["old"].demoted and records["old"].fifo_s > 0.25


def test_plain_sfs_makes_the_newcomer_wait_for_the_slice():
    records, stats = run_pair(None)
    assert stats["preemptions"] == 0
    new = records["new"]
    # never promoted over the old one: it waited for the core, or finished on the
    # kernel's small CFS share (the fair server) without ever being promoted
    assert new.start_s >= records["old"].end_s - 0.01 or new.fifo_s == 0


def test_only_the_running_top_of_a_stack_gets_slice_checks():
    """A preempted job uses no CPU, so it gets no slice checks until it is on top again;
    then its checks resume and its budget (1 s) still holds it in FILTER to the end."""
    from sfs.policies.sfs import SfsPolicy

    class Watched(SfsPolicy):
        name = "sfs"
        ticks: list = []

        def tick(self, task, now, cpu):
            self.ticks.append((task.inv.id, self.engine.stacks[task.core][-1] is task))
            super().tick(task, now, cpu)

    policy = Watched()
    records = {}
    config = SchedulerConfig(slice=SliceConfig(initial_s=1.0, min_samples=10_000), preempt_after_s=0.01,
                             block_check_s=0.01)
    old, new = spawn(0.3), spawn(0.15)
    with Scheduler(policy, [0], config, on_complete=lambda r: records.update({r.invocation_id: r})) as s:
        s.admit(old.pid, Invocation("old", "f", "t", 0.0, 0.3))
        go(old)
        time.sleep(0.1)
        s.admit(new.pid, Invocation("new", "f", "t", 0.0, 0.15))
        go(new)
        assert s.wait_idle(timeout=20)
    old.wait()
    new.wait()
    assert records["new"].end_s < records["old"].end_s
    assert all(on_top for _, on_top in policy.ticks), policy.ticks
    ids = [i for i, _ in policy.ticks]
    assert "new" in ids and ids.index("new") > 0 and ids[-1] == "old"   # old checked before and after
    assert not records["old"].demoted and records["old"].fifo_s > 0.25


def test_a_job_nobody_waits_for_is_checked_less_often():
    from sfs.policies.sfs import SfsPolicy

    class Counted(SfsPolicy):
        name = "sfs"
        ticks = 0

        def tick(self, task, now, cpu):
            type(self).ticks += 1
            super().tick(task, now, cpu)

    policy = Counted()
    config = SchedulerConfig(slice=SliceConfig(initial_s=2.0, min_samples=10_000), block_check_s=0.02,
                             idle_check_s=0.1)
    job = spawn(0.4)
    with Scheduler(policy, [0], config) as s:
        s.admit(job.pid, Invocation("alone", "f", "t", 0.0, 0.4))
        go(job)
        assert s.wait_idle(timeout=20)
    job.wait()
    # every 20 ms that would be about 20 checks; every 100 ms at most 5 (a slow machine only stretches them)
    assert 1 <= Counted.ticks <= 6


def test_a_full_stack_makes_room_by_demoting_its_most_served_waiting_job():
    # depth 1: priorities 10 and 11 only, so one job can wait below the running one
    config = SchedulerConfig(slice=SliceConfig(initial_s=2.0, min_samples=10_000), preempt_after_s=0.01,
                             max_preemption_depth=1)
    records = {}
    a, b, c = spawn(0.6), spawn(0.3), spawn(0.03)
    with Scheduler("sfs", [0], config, on_complete=lambda r: records.update({r.invocation_id: r})) as s:
        s.admit(a.pid, Invocation("a", "f", "t", 0.0, 0.6))
        go(a)
        time.sleep(0.15)
        s.admit(b.pid, Invocation("b", "f", "t", 0.0, 0.3))   # preempts a: the stack is full
        go(b)
        time.sleep(0.08)
        s.admit(c.pid, Invocation("c", "f", "t", 0.0, 0.03))  # a (most served, waiting) makes room
        go(c)
        assert s.wait_idle(timeout=20)
        stats = dict(s.stats)
    for p in (a, b, c):
        p.wait()
    assert records["c"].end_s < records["b"].end_s
    assert records["a"].demoted and not records["b"].demoted and not records["c"].demoted
    assert stats["preemptions"] >= 2


def test_demoted_jobs_are_served_in_turn_not_all_at_once():
    """Three equal CPU-bound jobs demoted together on one core: sharing CFS they would all
    end together; served in turn the first ends long before the last."""
    records = {}
    config = SchedulerConfig(slice=SliceConfig(initial_s=0.01, min_samples=10_000), in_turn_min_s=0.005)
    procs = [spawn(0.2) for _ in range(3)]
    with Scheduler("sfs", [0], config, on_complete=lambda r: records.update({r.invocation_id: r})) as s:
        s.policy.slice.on_completion(0.005)   # recent calls took 5 ms: these have run longer
        for k, p in enumerate(procs):
            s.admit(p.pid, Invocation(str(k), "f", "t", 0.0, 0.2))
        t0 = time.monotonic()
        for p in procs:
            go(p)
        assert s.wait_idle(timeout=30)
    for p in procs:
        p.wait()
    assert all(r.demoted or r.bypassed for r in records.values())
    ends = sorted(r.end_s - t0 for r in records.values())
    assert ends[0] < 0.6 * ends[-1], ends   # sharing: ~0.95; in turn: ~0.35


def test_nice_values_follow_the_line_and_are_restored():
    """The engine's bookkeeping of the CFS line, on idle processes (the scheduler thread is
    not started, so nothing else moves them): joining, the turn passing on, leaving."""
    procs = [subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
             for _ in range(4)]
    try:
        s = Scheduler("sfs", [0, 1], SchedulerConfig(watchdog=False, registry=False))
        tasks = [Task(p.pid, Invocation(str(k), "f", "t", 0.0, 1.0), 0.0) for k, p in enumerate(procs)]
        for task in tasks:
            s.to_cfs(task, time.monotonic(), in_turn=True)
        nice = [os.getpriority(os.PRIO_PROCESS, p.pid) for p in procs]
        assert nice[2:] == [19, 19] and nice[0] == nice[1] < 0
        s.requeue(tasks[0], time.monotonic())                 # aged out: back to nice 0
        assert os.getpriority(os.PRIO_PROCESS, procs[0].pid) == 0
        assert os.getpriority(os.PRIO_PROCESS, procs[2].pid) < 0   # its turn came
        assert os.getpriority(os.PRIO_PROCESS, procs[3].pid) == 19
        s._shutdown()                                         # what the scheduler thread runs on stop
        assert [os.getpriority(os.PRIO_PROCESS, p.pid) for p in procs] == [0, 0, 0, 0]
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_each_tenant_has_its_own_line():
    """Two tenants' demoted tasks: each tenant's line keeps its own tasks' total weight
    (its cpu group's make-up stays as under plain CFS), so a tenant with two tasks on two
    cores keeps both at nice 0 while the other tenant's line of three is reniced."""
    procs = [subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
             for _ in range(5)]
    try:
        s = Scheduler("sfs", [0, 1], SchedulerConfig(watchdog=False, registry=False))
        owners = ["a", "a", "a", "b", "b"]
        tasks = [Task(p.pid, Invocation(str(k), "f", owner, 0.0, 1.0), 0.0)
                 for k, (p, owner) in enumerate(zip(procs, owners))]
        for task in tasks:
            s.to_cfs(task, time.monotonic(), in_turn=True)
        nice = [os.getpriority(os.PRIO_PROCESS, p.pid) for p in procs]
        assert nice[0] == nice[1] < 0 and nice[2] == 19, nice
        assert nice[3:] == [0, 0], nice
        s._shutdown()
        assert [os.getpriority(os.PRIO_PROCESS, p.pid) for p in procs] == [0] * 5
    finally:
        for p in procs:
            p.kill()
            p.wait()
