"""The node agent's published shares: its weights win over the tenants file's, its cpu groups hold the sandboxes."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from faas_support import cgroup_dirs, needs_root, start_server
from sfs.faas.agent_groups import AgentGroups
from sfs.faas.tenants import TenantGroups
from sharekit.shares import PublishedShares, TenantShare, publish


def _publish(path: Path, tenants: dict[str, TenantShare], version: int = 1) -> None:
    publish(path, PublishedShares("node0", version, time.time(), tenants, cgroup_version=1))


def test_weight_comes_from_the_agent_when_it_publishes_else_from_the_tenants_file(tmp_path):
    shares = tmp_path / "node0.json"
    groups = TenantGroups("unused", None, enabled=False, weights={"alice": 200}, agent=AgentGroups(shares))
    assert groups.weight_of("alice") == 200 and groups.weight_of("bob") == 100
    _publish(shares, {"alice": TenantShare(150, 0.6, None)})
    time.sleep(0.15)  # the watcher looks at most every 0.1 s
    assert groups.weight_of("alice") == 150 and groups.weight_of("bob") == 100


def test_a_cgroup_path_that_climbs_out_is_ignored(tmp_path):
    shares = tmp_path / "node0.json"
    _publish(shares, {"alice": TenantShare(100, 1.0, "../../etc")})
    assert AgentGroups(shares, root=tmp_path).groups("alice") == []


@needs_root
@pytest.mark.skipif(not Path("/sys/fs/cgroup/cpu/tasks").exists(), reason="needs the cgroup v1 cpu hierarchy")
def test_sandboxes_account_in_the_agents_groups_and_leave_them_in_place(tmp_path, functions_dir):
    agent_parent = f"sharekit-test-agent-{os.getpid()}"
    made = []
    for hierarchy in ("cpu", "cpuacct"):
        group = Path("/sys/fs/cgroup") / hierarchy / agent_parent / "testers"
        group.mkdir(parents=True)
        made.append(group)
    shares = tmp_path / "node0.json"
    _publish(shares, {"testers": TenantShare(300, 1.0, f"{agent_parent}/testers")})
    try:
        server = start_server(tmp_path, functions_dir, "--shares", str(shares))
        try:
            status, _, who = server.run("whoami")
        finally:
            assert server.stop() == 0, server.log.read_text()
        assert status == 200
        lines = dict(line.split(":", 2)[1:] for line in who["cgroup"].splitlines())
        assert lines["cpuacct"] == f"/{agent_parent}/testers"
        from sharekit.cgroups import backend_for
        from sharekit.cgroups.placement import moves_needed
        # A FIFO task must sit in the cpu root under v1 RT group scheduling; it joins
        # the agent's cpu group only once demoted (sharekit.cgroups.placement), and
        # that move happens on a worker thread after the demotion.  On a loaded
        # machine the slice can end before the function reads its cgroup, so both
        # places are right then; but a task never returns to FIFO, so one that
        # still reported FIFO after reading its cgroup (whoami reads the policy
        # last) was FIFO when it read it and must have been in the root.
        if not moves_needed(backend_for()):
            assert lines["cpu"] == f"/{agent_parent}/testers"
        elif who["policy"] == os.SCHED_FIFO:
            assert lines["cpu"] == "/"
        else:
            assert lines["cpu"] in ("/", f"/{agent_parent}/testers")
        assert lines["memory"].endswith(f"/{server.cgroup_parent}/testers")  # the host's limits stay
        assert cgroup_dirs(server.cgroup_parent) == []
        assert all(group.is_dir() for group in made)  # the agent's groups are the agent's
    finally:
        for group in made:
            deadline = time.monotonic() + 5
            while (group / "cgroup.procs").read_text().strip() and time.monotonic() < deadline:
                time.sleep(0.05)
            group.rmdir()
            group.parent.rmdir()
