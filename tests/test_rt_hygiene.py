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


@pytest.mark.skipif(os.geteuid() != 0, reason="SCHED_FIFO needs root")
def test_a_marker_limits_the_search_to_processes_that_carry_it():
    marked_env = dict(os.environ, RT_HYGIENE_MARK="yes")
    marked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], env=marked_env)
    unmarked_env = {k: v for k, v in os.environ.items() if k != "RT_HYGIENE_MARK"}
    unmarked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], env=unmarked_env)
    try:
        for child in (marked, unmarked):
            os.sched_setscheduler(child.pid, os.SCHED_FIFO, os.sched_param(5))
        pids = {t.pid for t in realtime_tasks("RT_HYGIENE_MARK=yes")}
        assert marked.pid in pids and unmarked.pid not in pids
    finally:
        for child in (marked, unmarked):
            demote(child.pid)
            child.kill()
            child.wait()
