"""Suite-wide guards.

After every test no user task may remain under SCHED_FIFO/SCHED_RR: such a
task would starve the rest of the suite.  A test that leaves one fails, and
the task is demoted so the run can go on.
"""
from __future__ import annotations

import os

import pytest

from sharekit.rt import demote, realtime_tasks


@pytest.fixture(autouse=True)
def no_realtime_task_left_behind():
    before = {t.tid for t in realtime_tasks()}
    yield
    leftover = [t for t in realtime_tasks() if t.tid not in before and t.pid != os.getpid()]
    if not leftover:
        return
    for task in leftover:
        demote(task.tid)
    pytest.fail("real-time tasks left behind: "
                + ", ".join(f"{t.comm}[{t.tid}] {t.policy}{t.priority}" for t in leftover))
