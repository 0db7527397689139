"""Suite-wide guards.

After every test no user task this run started may remain under
SCHED_FIFO/SCHED_RR: such a task would starve the rest of the suite.  A test
that leaves one fails, and the task is demoted so the run can go on.

The run marks its environment, and every process it starts inherits the
mark, so real-time work that other programs run on the same machine is
neither blamed nor touched.
"""
from __future__ import annotations

import os
import time
import uuid

import pytest

from sharekit.rt import demote, realtime_tasks

_MARK_NAME = "SHAREKIT_TEST_RUN"
os.environ.setdefault(_MARK_NAME, uuid.uuid4().hex)
MARKER = f"{_MARK_NAME}={os.environ[_MARK_NAME]}"
# A process killed at the end of a test may take a moment to disappear.
_GRACE_S = 1.0


def _ours(before: set[int]) -> list:
    return [t for t in realtime_tasks(MARKER) if t.tid not in before and t.pid != os.getpid()]


@pytest.fixture(autouse=True)
def no_realtime_task_left_behind():
    before = {t.tid for t in realtime_tasks(MARKER)}
    yield
    deadline = time.monotonic() + _GRACE_S
    leftover = _ours(before)
    while leftover and time.monotonic() < deadline:
        time.sleep(0.05)
        leftover = _ours(before)
    if not leftover:
        return
    for task in leftover:
        demote(task.tid)
    pytest.fail("real-time tasks left behind: "
                + ", ".join(f"{t.comm}[{t.tid}] {t.policy}{t.priority}" for t in leftover))
