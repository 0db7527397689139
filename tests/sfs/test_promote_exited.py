"""Promoting a task that exited before its turn (a zombie not yet reaped) is not an error.

On cgroup v1 with RT group scheduling, an exiting or exited task stays in its
cpu group (the kernel skips it when moving, silently) and
sched_setscheduler(SCHED_FIFO) then fails with EPERM.  A short invocation that
finished under CFS while it was queued looked exactly like that, and the
scheduler loop died of it.
"""
import contextlib
import os
import time

import pytest

from sfs import procfs
from sharekit.cgroups import CGROUP_ROOT

CPU = CGROUP_ROOT / "cpu"
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not (CPU / "cpu.rt_runtime_us").exists(),
                                reason="needs root and cgroup v1 with RT group scheduling")


@contextlib.contextmanager
def child_in_group_without_rt_budget(lives_s: float):
    """A child that sleeps `lives_s` then exits, in a fresh cpu group (RT runtime 0)."""
    group = CPU / f"sfs-test-promote-{os.getpid()}"
    group.mkdir()
    pid = os.fork()
    if pid == 0:
        time.sleep(lives_s)
        os._exit(0)
    try:
        (group / "cgroup.procs").write_text(str(pid))
        yield pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
        os.waitpid(pid, 0)
        group.rmdir()


def test_setting_fifo_on_an_exited_task_in_a_group_without_rt_budget_reports_it_gone():
    with child_in_group_without_rt_budget(0.1) as pid:
        deadline = time.monotonic() + 5
        while procfs.state(pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert procfs.state(pid) == "Z" and procfs.exiting(pid)
        assert procfs.set_policy(pid, os.SCHED_FIFO, 1, {0}) is False


def test_a_live_task_in_a_group_without_rt_budget_still_fails_loudly():
    with child_in_group_without_rt_budget(5.0) as pid:
        assert not procfs.exiting(pid)
        with pytest.raises(PermissionError):
            procfs.set_policy(pid, os.SCHED_FIFO, 1, {0})
