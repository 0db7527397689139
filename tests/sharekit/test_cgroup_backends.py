"""The two cgroup backends against fake trees in a temporary directory (no root needed)."""
from __future__ import annotations

from pathlib import Path

import pytest

from sharekit.cgroups import CgroupError, CgroupV1, CgroupV2, TenantCgroup, backend_for, detect_version


def fake_v1(root: Path) -> Path:
    for c in ("cpu", "cpuacct", "memory"):
        (root / c).mkdir(parents=True)
        (root / c / "cgroup.procs").write_text("")
    (root / "cpu" / "cpu.shares").write_text("1024\n")
    (root / "unified").mkdir()
    (root / "unified" / "cgroup.controllers").write_text("hugetlb\n")  # hybrid: v2 without cpu
    return root


def fake_v2(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text("cpu memory pids\n")
    (root / "cgroup.subtree_control").write_text("")
    (root / "cgroup.procs").write_text("")
    return root


def test_hybrid_tree_without_cpu_in_v2_uses_v1(tmp_path):
    root = fake_v1(tmp_path)
    assert detect_version(root) == 1 and isinstance(backend_for(root), CgroupV1)
    assert not backend_for(root).rt_group_scheduling
    (root / "cpu" / "cpu.rt_runtime_us").write_text("950000\n")
    assert backend_for(root).rt_group_scheduling
    (root / "unified" / "cgroup.controllers").write_text("cpu memory\n")
    (root / "cpu" / "cpu.shares").unlink()
    assert isinstance(backend_for(root), CgroupV2) and backend_for(root).base == root / "unified"


def test_no_hierarchy_is_named(tmp_path):
    with pytest.raises(CgroupError, match=f"no usable cgroup hierarchy under {tmp_path}"):
        backend_for(tmp_path)


@pytest.mark.parametrize("make", [fake_v1, fake_v2], ids=["v1", "v2"])
def test_tenant_group_on_a_fake_tree(tmp_path, make):
    root = make(tmp_path / "cg")
    group = TenantCgroup.create("alice", cpu_weight=300, memory_max=1 << 20, parent="tenants", root=root)
    assert group.cpu_weight() == 300 and group.memory_max() == 1 << 20
    if group.version == 1:
        assert (root / "cpu" / "tenants" / "alice" / "cpu.shares").read_text() == "3072"
        assert (root / "memory" / "tenants" / "alice" / "memory.limit_in_bytes").read_text() == str(1 << 20)
        (root / "cpuacct" / "tenants" / "alice" / "cpuacct.usage").write_text("2500000000\n")
        (root / "memory" / "tenants" / "alice" / "memory.usage_in_bytes").write_text("4096\n")
        (root / "memory" / "tenants" / "alice" / "memory.oom_control").write_text("oom_kill 2\n")
    else:
        assert (root / "tenants" / "alice" / "cpu.weight").read_text() == "300"
        assert (root / "tenants" / "cgroup.subtree_control").read_text() == "+cpu +memory"
        (root / "tenants" / "alice" / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 1\n")
        (root / "tenants" / "alice" / "memory.current").write_text("4096\n")
        (root / "tenants" / "alice" / "memory.events").write_text("oom 3\noom_kill 2\n")
    usage = group.usage()
    assert (usage.cpu_seconds, usage.memory_bytes, usage.oom_kills) == (2.5, 4096, 2)
    group.set_cpu_weight(7)
    assert group.cpu_weight() == 7
    group.remove()
    assert [p for p in root.rglob("tenants")] == []
