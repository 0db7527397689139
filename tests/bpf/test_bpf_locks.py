"""scl trace's BPF side against lock workloads with known behaviour."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bpf_testlib import needs_bpf
from workloads.locks import NativeLibraryMissing, binary

pytestmark = needs_bpf()

RUN_S = "1.5"
# `python -m ebpf.accuracy` measured traced-vs-program share errors of up to
# 6.6 points on an idle machine (median 2.6), and single test runs have shown
# 10.7: each uprobe costs about 2 us on 1-3 us critical sections.  The bound
# keeps a real attribution error (threads mixed up: tens of points) visible
# without failing on that spread.
SHARE_TOLERANCE = 0.15


def traced_run(gated, workload: str, library: str | None, cs: str = "1000,3000"):
    """Run `workload` under a LockTracer from its first lock; (program JSON, figures, tracer snapshot)."""
    from ebpf.ulocks import LockTracer, resolve_library
    from scl.commands.trace import LockReport
    child = gated([str(binary(workload)), "--cs", cs, "--seconds", RUN_S, "--gate"], ready_line_on_stderr=True)
    name, symbols = resolve_library(library)
    tracer = LockTracer(name, symbols, pid=child.pid, calibrate=True)
    try:
        child.go()
        own = child.output_json()
        snap = tracer.sample()
    finally:
        tracer.close()
    figures = LockReport(tracer.overhead_ns, 0.1).figures(snap, None)
    return own, figures, snap


def workers(own, figures):
    """Tracer rows of the program's worker threads, by tid, on their shared lock."""
    tids = {t["tid"] for t in own["threads"]}
    rows = {r["tid"]: r for r in figures["threads"] if r["tid"] in tids}
    assert set(rows) == tids, figures
    assert len({r["lock"] for r in rows.values()}) == 1, rows
    return rows


def test_glibc_mutex_hold_shares_match_the_program(gated):
    own, figures, _ = traced_run(gated, "subversion", None)
    rows = workers(own, figures)
    for t in own["threads"]:
        r = rows[t["tid"]]
        # Every acquisition is seen: the counts are exact.
        assert r["acquisitions"] == t["acquisitions"], (r, t)
        # Shares of the traced hold time agree with the program's own clock
        # (within a few points: preemptions at probe exits land in the
        # traced hold but not in the program's, more so on a loaded machine).
        assert abs(r["share"] - t["share"]) < SHARE_TOLERANCE, (r, t)
        assert r["weight_share"] == pytest.approx(0.5)
        assert r["wait_ns"] > 0
        assert r["opportunity_ns"] >= r["hold_ns"]
    short, long_ = sorted(own["threads"], key=lambda t: t["cs_ns"])
    # Known behaviour: each acquisition holds the lock for its section length,
    # so the 3 us thread's share is 3 n3 / (n1 + 3 n3) of the hold: 0.75 when
    # both get equal turns (the usual case under tracing), less when the
    # 1 us thread barges more often.  Counts come from the tracer (exact).
    n1, n3 = rows[short["tid"]]["acquisitions"], rows[long_["tid"]]["acquisitions"]
    expected = long_["cs_ns"] * n3 / (short["cs_ns"] * n1 + long_["cs_ns"] * n3)
    # (the same band as above: the counts formula ignores preemptions inside
    # sections, and the probe correction is one figure per run; 0.114 off
    # was seen once on a loaded machine)
    assert rows[long_["tid"]]["share"] == pytest.approx(expected, abs=SHARE_TOLERANCE), (rows, expected)
    assert rows[short["tid"]]["share"] == pytest.approx(1 - expected, abs=SHARE_TOLERANCE), (rows, expected)
    assert rows[long_["tid"]]["share"] > 0.5
    (lock,) = [l for l in figures["locks"] if l["lock"] == rows[short["tid"]]["lock"]]
    assert lock["verdict"] == "SUBVERSION"   # 0.75 vs a weight share of 0.5
    assert lock["jain_hold"] < lock["jain_opportunity"] <= 1.0


def test_equal_sections_are_fair_and_not_flagged(gated):
    own, figures, _ = traced_run(gated, "subversion", None, cs="2000,2000")
    rows = workers(own, figures)
    for t in own["threads"]:
        assert abs(rows[t["tid"]]["share"] - t["share"]) < SHARE_TOLERANCE
    (lock,) = [l for l in figures["locks"] if l["lock"] == next(iter(rows.values()))["lock"]]
    assert lock["max_share_gap"] == pytest.approx(max(abs(t["share"] - 0.5) for t in own["threads"]),
                                                 abs=SHARE_TOLERANCE)


def test_kit_libscl_probes(gated):
    try:
        binary("subversion_scl")
    except NativeLibraryMissing as exc:
        pytest.skip(f"the kit's libscl.so is not built: {exc}")
    from scl.paths import native_paths
    own, figures, snap = traced_run(gated, "subversion_scl", str(native_paths().library))
    rows = workers(own, figures)
    for t in own["threads"]:
        assert rows[t["tid"]]["acquisitions"] == t["acquisitions"]
        # the same probes and correction as for glibc (see SHARE_TOLERANCE;
        # 10.3 points seen once with a calibration from a busy machine)
        assert abs(rows[t["tid"]]["share"] - t["share"]) < SHARE_TOLERANCE, (rows, own)
    lock = int(next(iter(rows.values()))["lock"], 16)
    # Lock slices change hands between the two threads: the hook fires.
    assert snap.locks[lock].handovers > 0
    assert sum(r["slices"] for r in rows.values()) > 0


def test_cli_json_schema(gated):
    child = gated([str(binary("subversion")), "--seconds", "20"])
    scl = str(Path(sys.executable).with_name("scl"))
    result = subprocess.run([scl, "trace", "--glibc", "--uprobes", "-p", str(child.pid), "0.5", "2", "-j"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2, result.stdout
    for line in lines:
        assert line["kind"] == "interval"
        assert line["probe_overhead_ns"] >= 0
        workers_ = [t for t in line["threads"] if t["acquisitions"] > 100]
        assert len(workers_) == 2, line
        for t in workers_:
            for key in ("tid", "pid", "lock", "acquisitions", "hold_ns", "wait_ns", "opportunity_ns",
                        "share", "weight", "weight_share", "nice"):
                assert key in t, (key, t)
            assert t["pid"] == child.pid
        assert sum(t["share"] for t in workers_) == pytest.approx(1.0)
        for lock in line["locks"]:
            assert {"lock", "threads", "jain_opportunity", "jain_hold", "max_share_gap", "verdict"} <= set(lock)


def test_cli_rejects_a_missing_process():
    scl = str(Path(sys.executable).with_name("scl"))
    result = subprocess.run([scl, "trace", "-p", "999999999"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "no such process" in result.stderr


def test_owner_sampling_attributes_holds_without_probes(gated):
    """`scl trace -p` on glibc: no probe on the lock path, so every
    acquisition runs at full speed; holds come from the mutex's owner field."""
    from ebpf.ownersample import EVENTS, OwnerSampler
    from bpf_testlib import bpf_unavailable
    if bpf_unavailable(EVENTS):
        pytest.skip(bpf_unavailable(EVENTS))
    child = gated([str(binary("subversion")), "--cs", "1000,3000", "--seconds", RUN_S, "--gate"],
                  ready_line_on_stderr=True)
    sampler = OwnerSampler(child.pid)
    try:
        child.go()
        own = child.output_json()
        snap = sampler.sample()
    finally:
        sampler.close()
    from scl.commands.trace import LockReport
    figures = LockReport(0, 0.1).figures(snap, None)
    rows = workers(own, figures)
    # Untraced speed: a probed run manages about a tenth of these.
    assert sum(t["acquisitions"] for t in own["threads"]) > 100_000, own
    for t in own["threads"]:
        r = rows[t["tid"]]
        assert r["samples"] > 0 and r["hold_ns"] > 0
        # Measured on the shared VM: within 1.32 points (docs/ebpf.md); a
        # thread mix-up would be tens of points.
        assert abs(r["share"] - t["share"]) < SHARE_TOLERANCE, (r, t)
    short, long_ = sorted(own["threads"], key=lambda t: t["cs_ns"])
    if abs(long_["share"] - short["share"]) > 2 * SHARE_TOLERANCE:   # a clear winner (the usual case)
        assert (rows[long_["tid"]]["share"] > rows[short["tid"]]["share"]) == (long_["share"] > short["share"])
    # the waiter slept on the futex of this very lock
    assert sum(r["wait_ns"] for r in rows.values()) > 0


def test_cli_samples_glibc_mutexes_of_one_process_by_default(gated):
    child = gated([str(binary("subversion")), "--seconds", "20"])
    scl = str(Path(sys.executable).with_name("scl"))
    result = subprocess.run([scl, "trace", "-p", str(child.pid), "0.5", "1", "-j"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert line["method"] == "owner sampling"
    workers_ = [t for t in line["threads"] if t["hold_ns"] > 0]
    assert len(workers_) == 2, line
    assert all(t["pid"] == child.pid and t["samples"] > 0 for t in workers_)
    assert sum(t["share"] for t in workers_) == pytest.approx(1.0)
