"""The parts of fairshare.ray that need no cluster: a tenant worker's move into
its tenant's group (real cgroups, as root) and the share arithmetic."""
from __future__ import annotations

import os
import threading

import pytest

from fairshare.ray.measure import measure_nodes
from fairshare.ray.tenant_worker import TenantWorker
from sharekit.cgroups import CgroupError, TenantCgroup, detect_version, remove_empty_parent


def own_cpu_group() -> str:
    with open("/proc/thread-self/cgroup") as f:
        groups = dict(line.strip().split(":", 2)[1:] for line in f if line.strip())
    return groups.get("cpu") or groups.get("", "")


@pytest.mark.root
def test_a_tenant_worker_moves_in_once_stays_and_leaves_on_retirement():
    if os.geteuid() != 0:
        pytest.skip("needs root (cgroups)")
    parent = f"sharekit-raytest-{os.getpid()}"
    before = own_cpu_group()
    group = TenantCgroup.create("alice", parent=parent)
    worker = TenantWorker(parent, "alice")
    try:
        assert worker.run(own_cpu_group, (), {}) == f"/{parent}/alice"
        assert own_cpu_group() == f"/{parent}/alice"      # stays: no move per task
        with pytest.raises(ZeroDivisionError):             # a failing task changes nothing
            worker.run(lambda: 1 / 0, (), {})
        assert worker.run(own_cpu_group, (), {}) == f"/{parent}/alice"
        if detect_version() == 1:  # only the executing thread moved
            seen = {}

            def other():
                seen["other"] = own_cpu_group()
            t = threading.Thread(target=other)
            t.start()
            t.join()
            assert seen["other"] == f"/{parent}/alice"  # threads started inside inherit the group
        worker.leave()
        assert own_cpu_group() == before
    finally:
        worker.leave()       # never remove a group this process is in: that kills it
        group.remove()
        assert remove_empty_parent(parent)   # the parent too, even when the test failed
    with pytest.raises(CgroupError, match="no group for this tenant"):
        TenantWorker(parent, "alice").run(own_cpu_group, (), {})


def test_measured_shares_come_from_usage_deltas_per_node():
    before = {"n1": {"cpu_seconds": {"a": 1.0, "b": 5.0}}, "n2": {"cpu_seconds": {"a": 0.0}}}
    after = {"n1": {"cpu_seconds": {"a": 2.0, "b": 8.0, "c": 0.0}}, "n2": {"cpu_seconds": {"a": 4.0}},
             "n3": {"error": "node died"}}
    decision = {"n1": {"a": {"cpu": 0.25}, "b": {"cpu": 0.75}, "c": {"cpu": 0.0}}, "n2": {"a": {"cpu": 1.0}}}
    nodes = {n["node"]: {t["tenant"]: t for t in n["tenants"]} for n in measure_nodes(before, after, decision)}
    assert set(nodes) == {"n1", "n2"}                      # the dead node is left out
    assert set(nodes["n1"]) == {"a", "b"}                  # c: no allocation, no use
    assert nodes["n1"]["a"]["allocated_share"] == 0.25 and nodes["n1"]["a"]["measured_cpu_share"] == 0.25
    assert nodes["n1"]["b"]["measured_cpu_share"] == 0.75
    assert nodes["n2"]["a"]["allocated_share"] == 1.0 and nodes["n2"]["a"]["measured_cpu_share"] == 1.0
    assert nodes["n1"]["a"]["measured_lock_share"] is None


def test_nodes_sharing_a_machine_split_its_cpus_and_load_what_they_get(monkeypatch):
    """Three one-CPU nodes on two cores: the node alone on its core has all of it,
    the two on the other core half each; on a big enough machine every node has
    its own CPUs, and a bad ordinal is refused."""
    from fairshare.ray.node_workload import node_capacity, node_cpu_set
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert [node_cpu_set(i, 1) for i in range(3)] == [{0}, {1}, {0}]
    assert [node_capacity(i, 1, 3) for i in range(3)] == [0.5, 1.0, 0.5]
    assert node_capacity(0, 2, 1) == 2.0
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    assert [node_capacity(i, 2, 4) for i in range(4)] == [2.0] * 4
    with pytest.raises(ValueError):
        node_capacity(3, 1, 3)


def test_offered_load_follows_the_node_capacity_not_its_cpu_count():
    from fairshare.e2e.workload import LoadConfig, offered_cores
    config = LoadConfig(overload=1.5)
    assert offered_cores("kate", {"kate": 0.5, "leo": 0.5}, 0.5, config) == pytest.approx(0.375)
    assert offered_cores("kate", {"kate": 0.5, "leo": 0.5}, 1, config) == pytest.approx(0.75)
