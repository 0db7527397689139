from pathlib import Path

import pytest

from fairshare.model import load_problem

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "problems"


@pytest.fixture
def example():
    return lambda name: load_problem(EXAMPLES / name)


@pytest.fixture(autouse=True)
def no_realtime_task_left_behind():
    """Narrower than the suite-wide guard of the same name, which it overrides
    here: the machine is shared, and other suites' real-time tasks appearing
    during our tests must not fail (or be demoted by) the fair-share tests.
    Nothing in fairshare creates real-time tasks; we still check our own
    process tree."""
    import os

    import psutil

    from sharekit.rt import demote, realtime_tasks

    def ours():
        me = psutil.Process(os.getpid())
        return {os.getpid()} | {c.pid for c in me.children(recursive=True)}

    yield
    leftover = [t for t in realtime_tasks() if t.pid in ours()]
    for task in leftover:
        demote(task.tid)
    if leftover:
        pytest.fail("real-time tasks left behind: " + ", ".join(f"{t.comm}[{t.tid}]" for t in leftover))
