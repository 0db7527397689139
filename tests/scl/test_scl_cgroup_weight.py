"""weight_source="cgroup": the lock reads the thread's tenant cgroup weight (v1 real tree, v2 fake tree)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import scl

CGROUP = Path("/sys/fs/cgroup")
CPU_V1 = CGROUP / "cpu"
REFRESH_S = 0.1   # CGROUP_REFRESH_NS in weight.c
needs_v1_root = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a cpu cgroup"),
                 pytest.mark.skipif(not (CPU_V1 / "cpu.shares").exists(), reason="no cgroup v1 cpu controller")]


def _home(tid: int, controller: str) -> Path:
    for line in Path(f"/proc/self/task/{tid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return CGROUP / controller / path.lstrip("/")
    pytest.skip(f"no cgroup v1 {controller} line for this thread")


def _rmdir(group: Path) -> None:
    for _ in range(50):            # the thread may still be leaving the cgroup
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)


def _weights(lock, tid):
    return [t.weight for t in scl.stats(lock).threads if t.tid == tid]


def _in_thread(body):
    out = {}

    def run():
        try:
            out["value"] = body(threading.get_native_id())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join(60)
    if "error" in out:
        raise out["error"]
    return out["value"]


@needs_v1_root[0]
@needs_v1_root[1]
def test_cgroup_weight_source_reads_cpu_shares_and_rereads_changes():
    name = f"sharekit-scl-test-{os.getpid()}"
    cg = CPU_V1 / name
    cg.mkdir()
    try:
        (cg / "cpu.shares").write_text("2048")

        def body(tid):
            home = _home(tid, "cpu")
            (cg / "tasks").write_text(str(tid))
            try:
                lock = scl.Mutex(weight_source="cgroup")
                for _ in range(3):
                    with lock:
                        pass
                first = _weights(lock, tid)
                per_group = scl.stats(lock).by_cgroup()
                (cg / "cpu.shares").write_text("512")      # the agent changes the tenant's weight
                time.sleep(REFRESH_S * 1.5)
                with lock:
                    pass
                plain = scl.Mutex(weight_source="nice")
                with plain:
                    pass
                return first, per_group, _weights(lock, tid), _weights(plain, tid)
            finally:
                (home / "tasks").write_text(str(tid))

        first, per_group, reread, nice = _in_thread(body)
        assert first == [2048.0]
        assert list(per_group) == [f"/{name}"] and per_group[f"/{name}"].acquisitions == 3
        assert reread == [512.0], "a changed weight is re-read within the refresh period"
        assert nice == [1024.0]
    finally:
        _rmdir(cg)
    assert not cg.exists()


@needs_v1_root[0]
@needs_v1_root[1]
def test_a_task_in_the_cpu_root_for_fifo_keeps_its_tenants_weight():
    """Placement moves SCHED_FIFO tasks to the cpu root; cpuacct still names the tenant."""
    name = f"sharekit-scl-fifo-{os.getpid()}"
    cpu, acct = CPU_V1 / name, CGROUP / "cpuacct" / name
    cpu.mkdir()
    acct.mkdir()
    try:
        (cpu / "cpu.shares").write_text("3072")

        def body(tid):
            home = _home(tid, "cpuacct")
            if _home(tid, "cpu") != CPU_V1:
                pytest.skip("this test thread does not start in the cpu root")
            (acct / "tasks").write_text(str(tid))
            try:
                lock = scl.Mutex(weight_source="cgroup")
                with lock:
                    pass
                return _weights(lock, tid), scl.stats(lock).threads[0].cgroup
            finally:
                (home / "tasks").write_text(str(tid))

        weights, group = _in_thread(body)
        assert weights == [3072.0] and group == f"/{name}"
    finally:
        _rmdir(cpu)
        _rmdir(acct)


V2_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    import scl
    root, own = Path(sys.argv[1]), Path(sys.argv[2])
    lock = scl.Mutex(weight_source="cgroup")
    seen = []
    def take(n=1):
        for _ in range(n):
            with lock:
                pass
        seen.append(scl.stats(lock).threads[0].weight)
    take(2)
    (root / "tenants" / "alice" / "cpu.weight").write_text("50")   # agent rewrites the weight
    time.sleep(0.15)
    take()
    own.write_text("0::/tenants/bob\\n")                           # thread moved to another tenant
    time.sleep(0.15)
    take()
    per = {g: [t.acquisitions, t.weight] for g, t in scl.stats(lock).by_cgroup().items()}
    print(json.dumps({"weights": seen, "per": per}))
""")


def test_cgroup_weight_source_on_a_fake_v2_tree(tmp_path):
    root = tmp_path / "cg"
    for tenant, weight in (("alice", 300), ("bob", 100)):
        (root / "tenants" / tenant).mkdir(parents=True)
        (root / "tenants" / tenant / "cpu.weight").write_text(f"{weight}\n")
    (root / "cgroup.controllers").write_text("cpu memory\n")
    own = tmp_path / "self-cgroup"
    own.write_text("0::/tenants/alice\n")
    env = {**os.environ, "SHAREKIT_CGROUP_ROOT": str(root), "SCL_THREAD_CGROUP_FILE": str(own)}
    out = subprocess.run([sys.executable, "-c", V2_SCRIPT, str(root), str(own)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["weights"] == [3072.0, 512.0, 1024.0]
    # Statistics follow the thread's latest group (one thread record, so one group).
    assert result["per"] == {"/tenants/bob": [4, 1024.0]}
