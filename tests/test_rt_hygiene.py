import os
import subprocess
import sys

import pytest

from sharekit.rt import demote, realtime_tasks


@pytest.mark.skipif(os.geteuid() != 0, reason="SCHED_FIFO needs root")
def test_realtime_tasks_sees_a_fifo_child_and_demote_clears_it():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        os.sched_setscheduler(child.pid, os.SCHED_FIFO, os.sched_param(10))
        found = [t for t in realtime_tasks() if t.pid == child.pid]
        assert found and found[0].policy == "FIFO" and found[0].priority == 10
        assert demote(child.pid)
        assert not [t for t in realtime_tasks() if t.pid == child.pid]
    finally:
        child.kill()
        child.wait()


def test_kernel_threads_are_not_reported():
    assert all(t.pid != 2 for t in realtime_tasks())
    assert not [t for t in realtime_tasks() if t.comm.startswith("migration/")]
