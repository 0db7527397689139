"""`sfs serve` refuses bad options with one clear line and exit status 2."""
from __future__ import annotations

import os
import subprocess
import sys

from faas_support import ROOT, needs_root, start_server


def _serve(*args):
    code = "import sys; from sfs.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, "serve", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_missing_functions_folder(tmp_path):
    done = _serve("--functions", str(tmp_path / "nope"), "--port", "0")
    assert done.returncode == 2 and "does not exist" in done.stderr and "Traceback" not in done.stderr


def test_empty_functions_folder(tmp_path):
    done = _serve("--functions", str(tmp_path), "--port", "0")
    assert done.returncode == 2 and "no functions" in done.stderr


@needs_root
def test_uid_ranges_with_root_or_existing_users_are_refused(tmp_path, functions_dir):
    done = _serve("--functions", str(functions_dir), "--uid-range", "0-10", "--port", "0")
    assert done.returncode == 2 and "0 < FIRST" in done.stderr
    done = _serve("--functions", str(functions_dir), "--uid-range", "65000-65534", "--port", "0")
    assert done.returncode == 2 and "already used by user nobody (65534)" in done.stderr
    done = _serve("--functions", str(functions_dir), "--uid-range", "300000-300000", "--port", "0")
    assert done.returncode == 2 and "1 uids for 2 tenants" in done.stderr


def test_bad_limits(functions_dir):
    assert _serve("--functions", str(functions_dir), "--timeout", "0").returncode == 2
    assert _serve("--functions", str(functions_dir), "--max-queue", "-1").returncode == 2
    assert _serve("--functions", str(functions_dir), "--cores", "a,b").returncode == 2


def test_port_in_use_is_a_usage_error(tmp_path, functions_dir):
    server = start_server(tmp_path, functions_dir)
    try:
        port = server.url.rsplit(":", 1)[1]
        done = _serve("--functions", str(functions_dir), "--port", port, "--policy", "cfs",
                      "--cgroup-parent", f"sharekit-test-{os.getpid()}-b")
        assert done.returncode == 2 and "cannot listen" in done.stderr
        assert server.run("fib", {"n": 4})[2] == {"n": 4, "fib": 3}  # the first one is unharmed
    finally:
        assert server.stop() == 0


@needs_root
def test_functions_from_several_folders_and_a_name_in_two_is_refused(tmp_path, functions_dir):
    import shutil
    other = tmp_path / "more"
    other.mkdir(mode=0o755)
    (other / "hello.py").write_text('TENANT = "testers"\ndef handler(event):\n    return {"hello": 1}\n')
    os.chmod(other / "hello.py", 0o644)
    server = start_server(tmp_path, functions_dir, "--functions", str(other))
    try:
        assert server.run("hello", {})[2] == {"hello": 1} and server.run("echo", {"a": 1})[2] == {"a": 1}
    finally:
        assert server.stop() == 0
    shutil.copy(functions_dir / "echo.py", other / "echo.py")
    done = _serve("--functions", str(functions_dir), "--functions", str(other), "--port", "0")
    assert done.returncode == 2 and "function echo is in both" in done.stderr


def test_uid_range_overlapping_subordinate_ids_is_refused(tmp_path):
    from sfs.faas.identities import _subordinate_overlaps
    subuid = tmp_path / "subuid"
    subuid.write_text("builder:100000:65536\nbroken line\nci:300000:1000\n")
    assert _subordinate_overlaps(200000, 200999, files=(str(subuid),)) == []
    assert _subordinate_overlaps(165000, 166000, files=(str(subuid),)) == [f"{subuid}:1 (builder: 100000-165535)"]
    assert _subordinate_overlaps(300999, 400000, files=(str(subuid),)) == [f"{subuid}:3 (ci: 300000-300999)"]
