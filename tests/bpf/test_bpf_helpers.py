"""The eBPF tools' plain-Python parts: histograms, arguments, weights, errors."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ebpf import histogram, loop
from ebpf.cgroups import resolve


def test_log2_slots_match_bpf_log2l():
    # bpf_log2l(v) = floor(log2(v)) + 1 for v > 0, and 0 for 0
    for value in (0, 1, 2, 3, 4, 7, 8, 1000, 1 << 20):
        slot = value.bit_length()
        low, high = histogram.slot_range(slot)
        assert low <= value <= high


def test_render_and_json_skip_nothing_in_between():
    slots = {1: 5, 4: 10}
    text = histogram.render(slots, "usecs")
    rows = text.splitlines()[1:]
    assert len(rows) == 4                       # slots 1..4, empty ones included
    assert rows[-1].count("#") == histogram.BAR_WIDTH
    assert histogram.to_json(slots) == [{"low": 1, "high": 1, "count": 5}, {"low": 8, "high": 15, "count": 10}]
    assert histogram.render({}, "usecs").strip() == "(no samples)"
    assert histogram.percentile(slots, 0.5) == 15
    assert histogram.percentile(slots, 0.2) == 1


def test_interval_and_count_checks():
    assert loop.check(None, None) is None
    assert loop.check(1.0, 5) is None
    assert "interval" in loop.check(0, None)
    assert "count" in loop.check(1.0, 0)
    assert loop.check(None, 3) == "count needs an interval"


def test_cgroup_paths_are_checked(tmp_path):
    with pytest.raises(ValueError, match="absolute"):
        resolve("relative/path")
    with pytest.raises(ValueError, match="no such directory"):
        resolve("/sys/fs/cgroup/no-such-group-here")
    with pytest.raises(ValueError, match="not inside a mounted cgroup"):
        resolve(str(tmp_path))


def test_cgroup_v2_root_resolves():
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    v2 = [line.split()[4] for line in mounts if " - cgroup2 " in line]
    if not v2:
        pytest.skip("no cgroup v2 hierarchy mounted")
    target = resolve(v2[0])
    assert target.version == 2 and target.level == 0 and target.cgroup_id == os.stat(v2[0]).st_ino


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root (to drop to an unprivileged user) and setpriv")
@pytest.mark.parametrize("tool", [["sfs", "trace"], ["scl", "trace", "--glibc"], ["scl", "trace", "--kernel"]])
def test_tools_say_not_root_and_exit_2(tool):
    exe = str(Path(sys.executable).with_name(tool[0]))
    result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe, *tool[1:]],
                            capture_output=True, text=True, timeout=60)
    if "Permission denied" in result.stderr and "Traceback" not in result.stderr:
        pytest.skip(f"the unprivileged user cannot run the venv here: {result.stderr.strip()}")
    assert result.returncode == 2, result.stderr
    assert f"{' '.join(tool[:2])}: missing: not root" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_arguments_are_one_line_errors():
    sfs = str(Path(sys.executable).with_name("sfs"))
    for args, text in ((["trace", "0"], "interval must be > 0"),
                       (["trace", "-p", "abc"], "not a process id"),
                       (["trace", "--cgroup", "nope"], "must be absolute")):
        result = subprocess.run([sfs, *args], capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and text in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
