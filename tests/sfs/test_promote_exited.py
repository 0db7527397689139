"""Promoting a task that exited before its turn (a zombie not yet reaped) is not an error.

On cgroup v1 with RT group scheduling, a zombie stays in its cpu group (moving
it to the root is a silent no-op) and sched_setscheduler(SCHED_FIFO) then
fails with EPERM.  A short invocation that finished under CFS while it was
queued looked exactly like that, and the scheduler loop died of it.
"""
import os
import time

import pytest

from sfs import procfs
from sharekit.cgroups import CGROUP_ROOT

CPU = CGROUP_ROOT / "cpu"
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not (CPU / "cpu.rt_runtime_us").exists(),
                                reason="needs root and cgroup v1 with RT group scheduling")


def test_setting_fifo_on_an_exited_task_in_a_group_without_rt_budget_reports_it_gone():
    group = CPU / f"sfs-test-zombie-{os.getpid()}"
    group.mkdir()
    pid = None
    try:
        pid = os.fork()
        if pid == 0:
            time.sleep(0.1)
            os._exit(0)
        (group / "cgroup.procs").write_text(str(pid))
        deadline = time.monotonic() + 5
        while procfs.state(pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert procfs.state(pid) == "Z"
        assert procfs.set_policy(pid, os.SCHED_FIFO, 1, {0}) is False
    finally:
        if pid:
            os.waitpid(pid, 0)
        group.rmdir()


def test_a_live_task_in_a_group_without_rt_budget_still_fails_loudly():
    group = CPU / f"sfs-test-live-{os.getpid()}"
    group.mkdir()
    pid = None
    try:
        pid = os.fork()
        if pid == 0:
            time.sleep(5)
            os._exit(0)
        (group / "cgroup.procs").write_text(str(pid))
        with pytest.raises(PermissionError):
            procfs.set_policy(pid, os.SCHED_FIFO, 1, {0})
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        group.rmdir()
