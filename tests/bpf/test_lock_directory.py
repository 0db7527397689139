"""libscl's lock directory and the probe-free reader behind `scl trace` for libscl.

The in-process tests read this very process's memory (no root, no BPF);
the workload tests read a child's, which needs ptrace rights over it (root,
or the same user with ptrace_scope 0)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bpf_testlib import needs_bpf
from workloads.locks import NativeLibraryMissing, binary

scl = pytest.importorskip("scl")
from ebpf.lockreport import LockReport  # noqa: E402
from ebpf.sclstats import LockStatsReader, NotTraceable, ProcessLocks  # noqa: E402
from scl._lib import ffi  # noqa: E402
from sharekit.fairness import nice_to_weight  # noqa: E402


def address(mutex) -> int:
    return int(ffi.cast("uintptr_t", mutex._ptr))


def test_directory_lists_live_locks_only():
    a, b = scl.Mutex(), scl.Mutex()
    proc = ProcessLocks(os.getpid())
    try:
        listed = set(proc.lock_addresses())
        assert {address(a), address(b)} <= listed
        gone = address(b)
        del b   # scl_mutex_destroy
        assert gone not in set(proc.lock_addresses())
        assert address(a) in set(proc.lock_addresses())
    finally:
        proc.close()


def test_reader_sees_the_locks_own_counts_per_thread():
    m = scl.Mutex()
    counts = {}

    def worker(n):
        for _ in range(n):
            with m:
                pass
        counts[threading.get_native_id()] = n

    threads = [threading.Thread(target=worker, args=(n,)) for n in (300, 700)]
    reader = LockStatsReader(None, pid=os.getpid())
    try:
        before = reader.sample()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = reader.sample()
    finally:
        reader.close()
    fig = LockReport(0, 0.1).figures(after, before)
    rows = {r["tid"]: r for r in fig["threads"] if r["lock"] == f"{address(m):#x}"}
    # exact: every acquisition is a counter increment inside the lock
    assert {tid: r["acquisitions"] for tid, r in rows.items()} == counts
    for r in rows.values():
        assert r["hold_ns"] > 0 and r["opportunity_ns"] >= r["hold_ns"]
        assert r["weight"] > 0
    assert sum(r["share"] for r in rows.values()) == pytest.approx(1.0)


def test_a_process_without_libscl_is_refused_with_a_reason():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        with pytest.raises(NotTraceable, match=f"pid {child.pid} maps no libscl"):
            ProcessLocks(child.pid)
    finally:
        child.stdin.close()
        child.wait()


def _scl_workload():
    try:
        return binary("subversion_scl")
    except NativeLibraryMissing as exc:
        pytest.skip(f"the kit's libscl.so is not built: {exc}")


@pytest.mark.skipif(os.geteuid() != 0, reason="reading another process's memory needs root here")
@pytest.mark.parametrize("nice", ["0,0", "0,5"])
def test_hold_shares_match_the_program_untraced(gated, nice):
    """1 us vs 3 us sections on u-SCL: the lock's own figures are the
    program's (no probe slows the lock down), and weight shares follow nice."""
    child = gated([str(_scl_workload()), "--cs", "1000,3000", "--nice", nice, "--seconds", "1.5", "--gate"],
                  ready_line_on_stderr=True)
    reader = LockStatsReader(None, pid=child.pid)
    try:
        first = reader.sample()
        child.go()
        own = json.loads(child.proc.stdout.readline())
        snap = reader.sample()   # the gated workload waits before exiting
    finally:
        reader.close()
        child.proc.stdin.close()
        child.proc.wait(timeout=30)
    fig = LockReport(0, 0.1).figures(snap, first)
    rows = {r["tid"]: r for r in fig["threads"]}
    assert len({r["lock"] for r in rows.values()}) == 1
    for t in own["threads"]:
        r = rows[t["tid"]]
        assert r["acquisitions"] == t["acquisitions"]
        # Both clocks time the same sections; the library's window also
        # holds the lock's own work around them (a few tens of ns, and a
        # futex wake-up at each slice start).  Measured: within 0.7 points
        # in the benchmark, 6.5 in one test run on the shared machine under
        # heavy load (preemptions inside the library's window but outside
        # the program's).  A thread mix-up is tens of points.
        assert abs(r["share"] - t["share"]) < 0.1, (rows, own)
    weight_shares = sorted(r["weight_share"] for r in rows.values())
    w = [nice_to_weight(int(n)) for n in nice.split(",")]
    expected = sorted(x / sum(w) for x in w)
    assert weight_shares == pytest.approx(expected, abs=0.01)
    (lock,) = fig["locks"]
    assert lock["slice_handovers"] > 0


@needs_bpf()
def test_cli_reads_libscl_without_probes_and_uprobes_on_request(gated):
    child = gated([str(_scl_workload()), "--cs", "1000,3000", "--seconds", "20"])
    cli = str(Path(sys.executable).with_name("scl"))
    for extra, method in (([], "lock statistics"), (["--uprobes"], "uprobes")):
        result = subprocess.run([cli, "trace", *extra, "-p", str(child.pid), "0.5", "1", "-j"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        (line,) = [json.loads(x) for x in result.stdout.splitlines()]
        assert line["method"] == method
        workers = [t for t in line["threads"] if t["acquisitions"] > 100]
        assert len(workers) == 2, line
        assert sum(t["share"] for t in workers) == pytest.approx(1.0)
        assert all(t["pid"] == child.pid for t in workers)
