"""The agent on this machine's real cgroup tree (root): live changes, SIGKILL, placement."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent import AgentLoop, NodeAgent, TenantPlacement
from sharekit import shares
from sharekit.cgroups import CGROUP_ROOT, backend_for

from agent_support import parent_name

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creating cgroups needs root")
ROOT_DIR = Path(__file__).resolve().parents[2]


def leftovers(parent: str) -> list[Path]:
    return list(CGROUP_ROOT.glob(f"*/{parent}")) + list(CGROUP_ROOT.glob(f"*/*/{parent}"))


def wait_for(predicate, timeout: float, step: float = 0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def cgroup_line(pid: int, controller: str) -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    raise AssertionError(f"no {controller} line for pid {pid}")


def sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_rewritten_decision_is_applied_within_a_cycle_without_restarting_work(tmp_path):
    parent = parent_name("live")
    decision = tmp_path / "d.json"
    decision.write_text(json.dumps({"n0": {"a": {"cpu": 3.0}, "b": {"cpu": 1.0}}}))
    node = NodeAgent("n0", parent=parent)
    loop = AgentLoop(node, str(decision), interval_s=0.2, publish_path=tmp_path / "n0.json")
    child = sleeper()
    try:
        loop.start()
        assert wait_for(lambda: node.tenants() == ["a", "b"], 10)
        with node.lock:
            node.group("a").add(child.pid)
        watcher = shares.SharesWatcher(tmp_path / "n0.json", min_interval_s=0)
        assert wait_for(lambda: watcher.current() is not None, 5), "published right after it is applied"
        assert watcher.current().shares() == {"a": 0.75, "b": 0.25}

        decision.write_text(json.dumps({"n0": {"a": {"cpu": 1.0}, "b": {"cpu": 1.0}}}))
        changed = time.monotonic()
        assert wait_for(lambda: node.weights() == {"a": 100, "b": 100}, 10)
        took = time.monotonic() - changed
        # One cycle is 0.2 s; the margin covers a machine loaded by other test runs.
        assert took < 0.2 + 2.0, took
        assert wait_for(lambda: watcher.current().version == 2, 5), "published right after it is applied"
        assert watcher.current().shares() == {"a": 0.5, "b": 0.5}
        assert child.poll() is None and child.pid in node.group("a").pids(), "running work keeps running"
    finally:
        loop.stop()
        child.kill()
        child.wait()
    assert leftovers(parent) == []


def _watchdog_of(agent_pid: int) -> int:
    children = wait_for(lambda: Path(f"/proc/{agent_pid}/task/{agent_pid}/children").read_text().split(), 10)
    assert children, "the agent started no watchdog"
    return int(children[0])


def _start_agent(tmp_path: Path, parent: str) -> subprocess.Popen:
    decision = tmp_path / "d.json"
    decision.write_text(json.dumps({"n0": {"a": {"cpu": 2.0}, "b": {"cpu": 1.0}}}))
    env = {**os.environ, "PYTHONPATH": str(ROOT_DIR)}
    agent = subprocess.Popen([sys.executable, "-m", "fairshare.cli", "agent", "--node", "n0", "--decision",
                              str(decision), "--interval", "0.2", "--parent", parent,
                              "--publish", str(tmp_path / "n0.json")],
                             env=env, stdout=subprocess.DEVNULL)
    assert wait_for(lambda: (tmp_path / "n0.json").exists(), 20), "the agent never published"
    return agent


def test_sigkill_of_the_agent_leaves_no_cgroup_and_work_survives(tmp_path):
    parent = parent_name("killed")
    agent = _start_agent(tmp_path, parent)
    child = sleeper()
    try:
        group_procs = CGROUP_ROOT / "cpuacct" / parent / "a" / "cgroup.procs"
        if backend_for().version == 2:
            group_procs = backend_for().dirs(f"{parent}/a")["cpu"] / "cgroup.procs"
        group_procs.write_text(str(child.pid))
        _watchdog_of(agent.pid)
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
        assert wait_for(lambda: leftovers(parent) == [], 15), leftovers(parent)
        assert child.poll() is None, "the watchdog moves tasks out, it does not kill them"
        assert parent not in Path(f"/proc/{child.pid}/cgroup").read_text()
        assert not (tmp_path / "n0.json").exists(), "a dead agent's shares are withdrawn"
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
        child.kill()
        child.wait()


def test_groups_left_when_agent_and_watchdog_die_are_cleaned_at_the_next_start(tmp_path):
    parent = parent_name("stale")
    agent = _start_agent(tmp_path, parent)
    try:
        os.kill(_watchdog_of(agent.pid), signal.SIGKILL)
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
        time.sleep(0.3)
        assert leftovers(parent), "nothing cleaned: both died"
        with NodeAgent("n0", parent=parent) as node:
            node.set_weights({"c": 100})
            assert sorted(p.name for p in (backend_for().cpu_root / parent).iterdir() if p.is_dir()) == ["c"]
        assert leftovers(parent) == []
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()


def test_placement_moves_fifo_tasks_to_the_cpu_root_and_back():
    backend = backend_for()
    if not (backend.version == 1 and backend.rt_group_scheduling):
        pytest.skip("no RT group scheduling: placement moves nothing here")
    parent = parent_name("place")
    child = sleeper()
    try:
        with NodeAgent("n0", parent=parent) as node:
            node.set_weights({"a": 300})
            node.group("a").add(child.pid)
            placement = TenantPlacement(node)
            try:
                with pytest.raises(PermissionError):   # no RT budget in the tenant group
                    os.sched_setscheduler(child.pid, os.SCHED_FIFO, os.sched_param(1))
                placement.promoting(child.pid, "a")
                assert cgroup_line(child.pid, "cpu") == "/"
                assert cgroup_line(child.pid, "cpuacct") == f"/{parent}/a", "accounting stays per tenant"
                os.sched_setscheduler(child.pid, os.SCHED_FIFO, os.sched_param(1))
                os.sched_setscheduler(child.pid, os.SCHED_OTHER, os.sched_param(0))
                placement.demoted(child.pid, "a")
                assert placement.flush(10)
                assert cgroup_line(child.pid, "cpu") == f"/{parent}/a"
                # A demotion queued and then overtaken by a promotion never lands after it.
                placement.demoted(child.pid, "a")
                placement.promoting(child.pid, "a")
                assert placement.flush(10)
                assert cgroup_line(child.pid, "cpu") == "/"
            finally:
                placement.close()
    finally:
        if child.poll() is None and os.sched_getscheduler(child.pid) != os.SCHED_OTHER:
            os.sched_setscheduler(child.pid, os.SCHED_OTHER, os.sched_param(0))
        child.kill()
        child.wait()
    assert leftovers(parent) == []
