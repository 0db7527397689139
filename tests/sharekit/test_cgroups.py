"""The per-tenant cgroup helper on the real cgroup tree of this machine."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from sharekit.cgroups import CGROUP_ROOT, CgroupError, TenantCgroup, detect_version, weight_to_shares

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creating cgroups needs root")
PARENT = f"sharekit-cgtest-{os.getpid()}"


def _leftovers() -> list[str]:
    return [str(p) for p in CGROUP_ROOT.glob(f"*/{PARENT}")] + [str(p) for p in CGROUP_ROOT.glob(f"*/*/{PARENT}")]


@pytest.fixture(autouse=True)
def nothing_left_behind():
    yield
    assert _leftovers() == []


def _busy_child() -> subprocess.Popen:
    """Spins for 20 s once told to on stdin, after touching 4 MiB: a v1 memory group
    charges only what a task allocates after it joined (no charge moves with it)."""
    return subprocess.Popen([sys.executable, "-c", "import sys, time\nsys.stdin.readline()\n"
                             "buf = bytearray(4 << 20)\nend = time.time() + 20\nwhile time.time() < end: pass"],
                            stdin=subprocess.PIPE)


def _go(child: subprocess.Popen) -> None:
    child.stdin.write(b"go\n")
    child.stdin.flush()


def test_create_weight_memory_add_usage_remove():
    group = TenantCgroup.create("alice", cpu_weight=300, memory_max=256 << 20, parent=PARENT)
    child = _busy_child()
    try:
        assert group.cpu_weight() == 300
        if group.version == 1:
            assert int((group.dirs["cpu"] / "cpu.shares").read_text()) == weight_to_shares(300)
        assert group.memory_max() == 256 << 20
        group.set_cpu_weight(50)
        assert group.cpu_weight() == 50
        group.set_memory_max(None)
        assert group.memory_max() is None
        group.add(child.pid)
        assert group.pids() == [child.pid]
        _go(child)
        deadline = time.monotonic() + 10
        while group.usage().cpu_seconds < 0.05 and time.monotonic() < deadline:
            time.sleep(0.05)
        usage = group.usage()
        assert usage.cpu_seconds >= 0.05 and usage.memory_bytes > 0 and usage.oom_kills == 0
    finally:
        group.remove()
        child.wait(10)
    assert child.returncode == -9  # remove() kills what is still inside
    assert all(not d.exists() for d in group.dirs.values())


def test_two_tenants_split_the_rt_budget_and_allow_fifo():
    if detect_version(CGROUP_ROOT) != 1 or not (CGROUP_ROOT / "cpu" / "cpu.rt_runtime_us").exists():
        pytest.skip("no per-group RT budget on this host")
    a = TenantCgroup.create("a", parent=PARENT, rt_budget=True)
    b = TenantCgroup.create("b", parent=PARENT, rt_budget=True)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(20)"])
    try:
        runtime = [int((g.dirs["cpu"] / "cpu.rt_runtime_us").read_text()) for g in (a, b)]
        assert runtime[0] == runtime[1] > 0
        b.add(child.pid)
        os.sched_setscheduler(child.pid, os.SCHED_FIFO, os.sched_param(5))  # EPERM without a budget
        assert os.sched_getscheduler(child.pid) == os.SCHED_FIFO
        b.remove()
        child.wait(10)
        assert int((a.dirs["cpu"] / "cpu.rt_runtime_us").read_text()) >= runtime[0]  # a gets b's share back
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        b.remove()
        a.remove()


def test_bad_names_and_weights_are_refused_and_nothing_is_created():
    for name in ("../escape", "", ".hidden", "a/b", "x" * 65):
        with pytest.raises(CgroupError, match="invalid tenant name"):
            TenantCgroup.create(name, parent=PARENT)
    with pytest.raises(CgroupError, match="cpu_weight"):
        TenantCgroup.create("ok", cpu_weight=0, parent=PARENT)


def test_context_manager_removes_on_error():
    with pytest.raises(RuntimeError):
        with TenantCgroup.create("ctx", parent=PARENT):
            raise RuntimeError("boom")


def test_without_cpu_controller_only_accounting_and_memory():
    group = TenantCgroup.create("acct", memory_max=128 << 20, parent=PARENT, cpu_controller=False)
    child = _busy_child()
    try:
        group.add(child.pid)
        assert group.pids() == [child.pid]
        if group.version == 1:
            assert "cpu" not in group.dirs
            assert not (CGROUP_ROOT / "cpu" / PARENT / "acct").exists()
            own = open(f"/proc/{child.pid}/cgroup").read()
            assert f"{PARENT}/acct" in own and f":cpu:/{PARENT}" not in own
            with pytest.raises(CgroupError, match="without the cpu controller"):
                group.set_cpu_weight(200)
            os.sched_setscheduler(child.pid, os.SCHED_FIFO, os.sched_param(1))  # no RT cap, no EPERM
            os.sched_setscheduler(child.pid, os.SCHED_OTHER, os.sched_param(0))
        assert group.memory_max() == 128 << 20
        _go(child)
        deadline = time.monotonic() + 10
        while group.usage().cpu_seconds < 0.02 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert group.usage().cpu_seconds >= 0.02
    finally:
        group.remove()
        child.wait(10)


def test_remove_empty_parent_reaps_groups_left_by_a_dead_owner():
    from sharekit.cgroups import remove_empty_parent
    TenantCgroup.create("orphan-a", parent=PARENT, cpu_controller=False)
    group = TenantCgroup.create("orphan-b", parent=PARENT)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(20)"])
    try:
        group.add(child.pid)
        assert remove_empty_parent(PARENT) is False  # a task is still inside: left alone
        assert _leftovers()
    finally:
        child.kill()
        child.wait()
    deadline = time.monotonic() + 5
    while not remove_empty_parent(PARENT) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _leftovers() == []


def test_evacuate_moves_survivors_up_and_removes_the_parent():
    from sharekit.cgroups import evacuate_parent, remove_empty_parent
    group = TenantCgroup.create("survivor", parent=PARENT)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        group.add(child.pid)
        assert remove_empty_parent(PARENT) is False
        assert evacuate_parent(PARENT) == [child.pid]
        assert child.poll() is None, "evacuation moves work, it does not kill it"
        assert _leftovers() == []
        assert f"{PARENT}" not in open(f"/proc/{child.pid}/cgroup").read()
    finally:
        child.kill()
        child.wait()


def test_stale_parents_are_found_in_whichever_hierarchy_still_holds_them():
    """A clean-up cut short may leave a dead owner's parent in one hierarchy only
    (a task that was still exiting kept it busy); a sweep must still find it."""
    from sharekit.cgroups import backend_for, remove_empty_parent, stale_parents
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    prefix = f"sharekit-cgstale{os.getpid()}-"
    dead, alive = f"{prefix}{gone.pid}-node0", f"{prefix}{os.getpid()}-node0"
    groups = [TenantCgroup.create("a", parent=dead), TenantCgroup.create("a", parent=alive)]
    try:
        hierarchies = list(dict.fromkeys(backend_for(None).hierarchies().values()))
        for top in hierarchies[1:]:            # v1: keep the parent in the first hierarchy only
            (top / dead / "a").rmdir()
            (top / dead).rmdir()
        assert stale_parents(prefix) == [dead]  # the live owner's parent is not stale
        assert remove_empty_parent(dead)
        assert not any((top / dead).exists() for top in hierarchies)
        assert stale_parents(prefix) == []
    finally:
        for group in groups:
            group.remove()
    assert not [p for p in CGROUP_ROOT.glob(f"*/{prefix}*")] + [p for p in CGROUP_ROOT.glob(f"{prefix}*")]


def test_default_tenant_groups_have_no_rt_budget_so_fifo_stays_at_the_root():
    if detect_version(CGROUP_ROOT) != 1 or not (CGROUP_ROOT / "cpu" / "cpu.rt_runtime_us").exists():
        pytest.skip("no per-group RT budget on this host")
    group = TenantCgroup.create("weights-only", cpu_weight=300, parent=PARENT)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(20)"])
    try:
        assert int((group.dirs["cpu"] / "cpu.rt_runtime_us").read_text()) == 0
        group.add(child.pid)
        with pytest.raises(PermissionError):  # no budget: the kernel refuses FIFO here
            os.sched_setscheduler(child.pid, os.SCHED_FIFO, os.sched_param(1))
        (CGROUP_ROOT / "cpu" / "cgroup.procs").write_text(str(child.pid))  # cpu root: full budget
        os.sched_setscheduler(child.pid, os.SCHED_FIFO, os.sched_param(1))
        assert child.pid in group.pids(), "cpuacct and memory keep the task in its tenant group"
        os.sched_setscheduler(child.pid, os.SCHED_OTHER, os.sched_param(0))
        group.add_to(("cpu",), child.pid)
        assert f":cpu:/{PARENT}/weights-only" in open(f"/proc/{child.pid}/cgroup").read()
    finally:
        child.kill()
        child.wait()
        group.remove()


SELF_IN_GROUP = r'''
import os, sys, threading
from pathlib import Path
from sharekit.cgroups import TenantCgroup
group = TenantCgroup.create("mallet", parent=sys.argv[1])
other = __import__("subprocess").Popen([sys.executable, "-c", "import time; time.sleep(60)"])
group.add(other.pid)
ready, release = threading.Event(), threading.Event()

def inside():
    ready.set()
    release.wait(30)

# Into the group and out again, leaving a thread started inside behind (v1:
# threads; v2: the process moves, so the whole process is in until removal).
me = threading.get_native_id() if group.version == 1 else os.getpid()
members = "tasks" if group.version == 1 else "cgroup.procs"
top = group.backend.hierarchies()["cpu"]
where = Path(f"/proc/thread-self/cgroup").read_text()
(group.dirs["cpu"] / members).write_text(str(me))
thread = threading.Thread(target=inside)
thread.start()
ready.wait(10)
if group.version == 1:
    (top / "tasks").write_text(str(me))
group.remove()
print("caller alive; other", "killed" if other.wait(10) == -9 else "survived", flush=True)
release.set()
thread.join()
'''


def test_removing_a_group_spares_the_caller_and_kills_the_rest():
    """A removal kills what is inside.  A thread of the caller left inside (one
    started while another thread of it had moved in) put the caller's pid in
    the group's cgroup.procs, so the removal SIGKILLed the caller itself.  In a
    child process: a regression kills the child, not the test run."""
    out = subprocess.run([sys.executable, "-c", SELF_IN_GROUP, PARENT], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    assert out.stdout.strip() == "caller alive; other killed"
