"""`fairshare run` / `fairshare e2e` refuse bad input with one line naming it (nothing is started)."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fairshare.cli import main

ROOT = Path(__file__).resolve().parents[2]


def error_of(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("text, fragment", [
    ("{not json", "invalid JSON"),
    ('{"servers": [], "frameworks": [], "extra": 1}', "unknown top-level key"),
    ('{"servers": [{"name": "n", "capacity": {"cpu": "many"}}], "frameworks": []}', "expected a finite number"),
])
def test_malformed_problem_files_are_named(tmp_path, capsys, text, fragment):
    path = tmp_path / "bad.json"
    path.write_text(text)
    for argv in (["e2e", "--problem", str(path)], ["run", str(path)]):
        err = error_of(capsys, argv)
        assert "bad.json" in err and fragment in err


def test_unknown_file_type_and_missing_file(tmp_path, capsys):
    (tmp_path / "p.txt").write_text("{}")
    assert "unknown problem file type" in error_of(capsys, ["e2e", "--problem", str(tmp_path / "p.txt")])
    assert "cannot read" in error_of(capsys, ["run", str(tmp_path / "missing.json")])


def test_bad_events_and_options(tmp_path, capsys):
    problem = str(ROOT / "examples" / "problems" / "e2e-two-nodes.json")
    assert "TENANT@SECONDS" in error_of(capsys, ["run", problem, "--leave", "bob"])
    assert "TENANT@SECONDS" in error_of(capsys, ["run", problem, "--arrive", "bob@soon"])
    if os.geteuid() == 0:   # the tenant and time checks come after the root check
        assert "no tenant 'dave'" in error_of(capsys, ["run", problem, "--leave", "dave@3", "--seconds", "5"])
        assert "inside (0, 5)" in error_of(capsys, ["run", problem, "--leave", "bob@9", "--seconds", "5"])
        assert "no such tenant" in error_of(capsys, ["e2e", "--churn", "--leave", "dave"])
    assert "--seconds" in error_of(capsys, ["e2e", "--seconds", "1"])


def test_unknown_allocation_policy(capsys):
    err = error_of(capsys, ["e2e", "--policy", "no-such-policy"])
    assert "no-such-policy" in err


def test_interposer_statistics_file_names_every_thread(tmp_path):
    """The unmodified program under LD_PRELOAD: the interposer's statistics file has one lock,
    with the hold time of each thread the program reports."""
    from scl.paths import native_paths
    from workloads.locks import binary
    stats = tmp_path / "stats.json"
    env = dict(os.environ, LD_PRELOAD=str(native_paths().preload), SCL_PRELOAD_STATS_FILE=str(stats),
               SCL_PRELOAD_STATS_INTERVAL_MS="20", SCL_PRELOAD_WEIGHT="cgroup")
    proc = subprocess.Popen([str(binary("shared_lock")), "--threads", "3", "--cs-us", "20", "--seconds", "20"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    proc.stdin.write("go\n")
    proc.stdin.flush()
    time.sleep(0.3)
    stdout, _ = proc.communicate("stop 2\n", timeout=30)
    assert proc.returncode == 0
    lines = stdout.splitlines()
    tids = {int(line.split()[2]) for line in lines if line.startswith("thread ")}
    assert "stopped 2" in lines
    summary = json.loads(lines[-1])
    data = json.loads(stats.read_text())          # the exit snapshot
    (lock,) = data["locks"]
    threads = {t["tid"]: t for t in lock["threads"]}
    assert set(threads) == tids
    acquisitions = {t["tid"]: t["acquisitions"] for t in summary["threads"]}
    for tid, t in threads.items():
        assert t["acquisitions"] == acquisitions[tid]
        assert t["weight"] > 0
    assert sum(t["hold_ns"] for t in threads.values()) <= lock["hold_ns"] + 1
    assert sum(acquisitions.values()) == summary["counter"]
    assert not stats.with_name("stats.json.tmp").exists()


def test_a_bad_weight_source_is_reported_not_fatal(tmp_path):
    from scl.paths import native_paths
    from workloads.locks import binary
    env = dict(os.environ, LD_PRELOAD=str(native_paths().preload), SCL_PRELOAD_WEIGHT="loudest")
    out = subprocess.run([str(binary("shared_lock")), "--threads", "1", "--cs-us", "1"], input="go\nquit\n",
                         capture_output=True, text=True, env=env, timeout=30)
    assert out.returncode == 0
    assert "ignoring SCL_PRELOAD_WEIGHT=loudest" in out.stderr
