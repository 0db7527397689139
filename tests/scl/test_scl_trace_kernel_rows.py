"""scl trace --kernel's per-task rows, from tracer samples (no BPF needed):
the lock named is the one the task waited on longest in the interval."""
from __future__ import annotations

from ebpf.klocks import LockWait, TaskWait
from scl.commands.trace import _kernel_figures

A, B = 0xA000, 0xB000
MUTEX, SPIN = 0x20, 0x1


def task(count, total, locks, last):
    return TaskWait(7, 7, "w", count, total, 50, last, SPIN, {0: count}, dict(locks))


def test_the_row_names_the_most_waited_lock_not_the_last():
    locks = {A: LockWait(A, 3, 900, 500, MUTEX), B: LockWait(B, 1, 100, 100, SPIN)}
    fig = _kernel_figures({7: task(4, 1000, {A: 900, B: 100}, last=B)}, locks, ({}, {}))
    (row,) = fig["tasks"]
    assert row["lock"] == f"{A:#x}" and row["flags"] == "MUTEX"
    assert [r["lock"] for r in fig["locks"]] == [f"{A:#x}", f"{B:#x}"]


def test_an_interval_counts_only_its_own_waits():
    before = task(3, 900, {A: 900}, last=A)
    after = task(5, 1300, {A: 900, B: 400}, last=A)
    locks_before = {A: LockWait(A, 3, 900, 500, MUTEX)}
    locks_after = {A: LockWait(A, 3, 900, 500, MUTEX), B: LockWait(B, 2, 400, 300, SPIN)}
    fig = _kernel_figures({7: after}, locks_after, ({7: before}, locks_before))
    (row,) = fig["tasks"]
    assert row["count"] == 2 and row["total_ns"] == 400
    assert row["lock"] == f"{B:#x}" and row["flags"] == "SPIN"
    assert [r["lock"] for r in fig["locks"]] == [f"{B:#x}"]
