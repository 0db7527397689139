"""The host under the real SFS scheduler: FIFO filter time is recorded, nothing RT survives shutdown."""
from __future__ import annotations

import os
import time

from faas_support import cgroup_dirs, needs_root, start_server
from sfs.faas.records import read_results
from sharekit.rt import realtime_tasks

pytestmark = needs_root


def test_sfs_policy_records_fifo_time_and_leaves_no_rt_task(tmp_path, functions_dir):
    server = start_server(tmp_path, functions_dir, "--cores", "0", policy="sfs")
    try:
        pids = {server.proc.pid}
        for n in (18, 20, 22):
            status, _, body = server.run("fib", {"n": n})
            assert status == 200 and body["n"] == n
        assert server.run("crasher", {"how": "exit"})[0] == 500
        status, _, who = server.run("whoami")
        # Inside its filter slice, unless a busy machine made SFS bypass the filter.
        assert status == 200 and who["policy"] in (os.SCHED_FIFO, os.SCHED_OTHER)
    finally:
        assert server.stop() == 0, server.log.read_text()
    rows = read_results(server.results)
    assert len(rows) == 5
    ok = [r for r in rows if r["status"] == "ok"]
    # They ran their filter slice under SCHED_FIFO (all of them, on a quiet machine).
    assert any(float(r["fifo_s"]) > 0 for r in ok)
    assert all(float(r["fifo_s"]) > 0 or r["bypassed"] == "1" for r in ok)
    assert all(abs(float(r["fifo_s"]) + float(r["cfs_s"]) - float(r["cpu_s"])) < 1e-3 for r in rows)
    time.sleep(0.2)
    assert not [t for t in realtime_tasks() if t.pid in pids]
    assert cgroup_dirs(server.cgroup_parent) == []


def test_sandbox_starts_under_sched_other_with_cfs_policy(tmp_path, functions_dir):
    server = start_server(tmp_path, functions_dir, policy="cfs")
    try:
        status, _, body = server.run("echo", {"x": 1})
        assert status == 200
        # Zygotes run at RT with reset-on-fork: their children never inherit it.
        status, _, who = server.run("whoami")
        assert status == 200 and who["policy"] == os.SCHED_OTHER
    finally:
        assert server.stop() == 0


def test_arrival_path_priority_resets_on_fork_and_reverts():
    import subprocess
    import sys
    from sfs.faas import realtime
    assert realtime.raise_to(25)
    try:
        assert os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK == os.SCHED_FIFO
        assert os.sched_getparam(0).sched_priority == 25
        child = subprocess.run([sys.executable, "-c", "import os; print(os.sched_getscheduler(0))"],
                               capture_output=True, text=True, check=True)
        assert int(child.stdout) == os.SCHED_OTHER
    finally:
        realtime.normal()
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
