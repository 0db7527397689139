"""scl trace --kernel against the rename-lock workload."""
from __future__ import annotations

import pytest

from bpf_testlib import needs_bpf
from ebpf.klocks import EVENTS
from workloads.locks import binary

pytestmark = needs_bpf(EVENTS)


def test_rename_storm_shows_kernel_lock_contention(gated, tmp_path):
    from ebpf.klocks import KernelLockTracer
    child = gated([str(binary("rename_storm")), "--dir", str(tmp_path), "--bullies", "2", "--victims", "2",
                   "--files", "4000", "--seconds", "1", "--gate"], ready_line_on_stderr=True)
    tracer = KernelLockTracer(tgids=[child.pid])
    try:
        child.go()
        own = child.output_json()
        tasks, locks = tracer.sample()
    finally:
        tracer.close()
    assert list(tmp_path.iterdir()) == [], "the workload left files behind"
    workers = {t["tid"] for t in own["threads"]}
    assert all(t["renames"] > 0 for t in own["threads"]), own
    waited = {tid: t for tid, t in tasks.items() if tid in workers}
    if not waited:
        pytest.skip("the kernel emitted no lock:contention events for the rename workload "
                    "(no contended lock on this filesystem)")
    assert all(t.tgid == child.pid for t in tasks.values())
    for t in waited.values():
        assert t.count > 0 and t.total_ns >= t.max_ns > 0
        assert sum(t.hist.values()) == t.count
        assert t.last_lock in t.locks and sum(t.locks.values()) == t.total_ns
    # Cross-directory renames serialise on one per-filesystem mutex: the most
    # waited-on lock is shared by bullies and victims alike.
    top = max(locks.values(), key=lambda l: l.total_ns)
    assert top.flags & 0x20, "the most contended lock is not a mutex"   # LCB_F_MUTEX
    sharing = [t for t in waited.values() if t.locks.get(top.lock, 0) > 0]
    assert len(sharing) >= 2
    assert sum(t.locks[top.lock] for t in sharing) <= top.total_ns
