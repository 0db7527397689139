"""weight_source="cgroup": the lock reads the thread's cpu cgroup weight."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

import scl

CPU_V1 = Path("/sys/fs/cgroup/cpu")


def _v1_cpu_cgroup(tid: int) -> Path:
    for line in Path(f"/proc/self/task/{tid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):
            return CPU_V1 / path.lstrip("/")
    pytest.skip("no cgroup v1 cpu controller line for this thread")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a cpu cgroup")
@pytest.mark.skipif(not (CPU_V1 / "cpu.shares").exists(), reason="no cgroup v1 cpu controller")
def test_cgroup_weight_source_reads_cpu_shares():
    cg = CPU_V1 / f"sharekit-scl-test-{os.getpid()}"
    cg.mkdir()
    try:
        (cg / "cpu.shares").write_text("2048")
        seen = {}

        def worker():
            tid = threading.get_native_id()
            home = _v1_cpu_cgroup(tid)
            (cg / "tasks").write_text(str(tid))
            try:
                lock = scl.Mutex(weight_source="cgroup")
                for _ in range(3):
                    with lock:
                        pass
                seen["in_cgroup"] = [t.weight for t in scl.stats(lock).threads if t.tid == tid]
                plain = scl.Mutex(weight_source="nice")
                with plain:
                    pass
                seen["nice"] = [t.weight for t in scl.stats(plain).threads if t.tid == tid]
            finally:
                (home / "tasks").write_text(str(tid))

        t = threading.Thread(target=worker)
        t.start()
        t.join(30)
        assert seen["in_cgroup"] == [2048.0]
        assert seen["nice"] == [1024.0]
    finally:
        for _ in range(50):            # the thread may still be leaving the cgroup
            try:
                cg.rmdir()
                break
            except OSError:
                time.sleep(0.05)
    assert not cg.exists()
