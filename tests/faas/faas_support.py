"""Real `sfs serve` processes on 127.0.0.1 with a free port, and test functions (helpers for tests/faas).

Each server is a subprocess of the test run, stopped with SIGTERM at the end
of its fixture; the test then checks it exited cleanly, and the suite-wide
guard checks that no SCHED_FIFO task is left.
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "workloads" / "functions"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes, cgroups and SCHED_FIFO need root")

# Functions that misbehave on purpose, written into a temporary folder.
TEST_FUNCTIONS = {
    "whoami": '''
TENANT = "testers"
import os
CALLS = 0
def handler(event):
    global CALLS
    CALLS += 1  # a fresh process per invocation sees 1
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    cgroups = open("/proc/self/cgroup").read()
    try:
        os.listdir("/root")
        root_listing = sorted(os.listdir("/root"))
    except OSError as exc:
        root_listing = str(exc)
    return {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
            "no_new_privs": status["NoNewPrivs"].strip(), "cgroup": cgroups, "pid": os.getpid(),
            "ppid": os.getppid(), "root_listing": root_listing, "calls": CALLS, "policy": os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK}
''',
    "hog_memory": '''
TENANT = "testers"
def handler(event):
    blocks = []
    for _ in range(int(event.get("mib", 4096))):
        blocks.append(bytearray(1 << 20))
    return len(blocks)
''',
    "sleeper": '''
TENANT = "testers"
import time
def handler(event):
    time.sleep(float(event.get("s", 0.1)))
    return {"slept": event.get("s", 0.1)}
''',
    "spinner": '''
TENANT = "testers"
def handler(event):
    while True:
        pass
''',
    "crasher": '''
TENANT = "testers"
import os, signal
def handler(event):
    how = event.get("how", "segv")
    if how == "segv":  # a real fault: the sandbox is pid 1 of its namespace, which ignores kill() of itself
        import ctypes
        ctypes.string_at(0)
    if how == "exit":
        os._exit(7)
    raise ValueError("bad input on purpose")
''',
    "echo": '''
TENANT = "testers"
def handler(event):
    return event
''',
}


def make_functions_dir(tmp: Path, library: tuple[str, ...] = ("fib",)) -> Path:
    directory = tmp / "functions"
    directory.mkdir()
    os.chmod(tmp, 0o755)
    os.chmod(directory, 0o755)
    for name, source in TEST_FUNCTIONS.items():
        (directory / f"{name}.py").write_text(source)
    for name in library:
        shutil.copy(LIBRARY / f"{name}.py", directory / f"{name}.py")
    for path in directory.iterdir():
        os.chmod(path, 0o644)
    return directory


class Server:
    def __init__(self, proc: subprocess.Popen, url: str, results: Path, log: Path):
        self.proc, self.url, self.results, self.log = proc, url, results, log

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 60):
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def run(self, function: str, event=None, **kw):
        status, headers, body = self.request("POST", f"/run/{function}", json.dumps(event or {}).encode(), **kw)
        return status, headers, json.loads(body)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


_servers = itertools.count()


def start_server(tmp: Path, functions: Path, *extra: str, policy: str = "cfs", timeout_s: float = 60) -> Server:
    # Each server its own cgroup parent: servers sharing tenant groups would remove each other's.
    parent = f"sharekit-test-{os.getpid()}-{next(_servers)}"
    results = tmp / "results.csv"
    log = tmp / "server.log"
    cmd = [sys.executable, "-c", "import sys; from sfs.cli import main; sys.exit(main())", "serve", "--port", "0", "--policy", policy,
           "--functions", str(functions), "--results", str(results),
           "--cgroup-parent", parent, *extra]
    out = open(log, "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=out, text=True, cwd=ROOT,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    deadline = time.monotonic() + timeout_s
    line = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line or "listening on" in line:
            break
    if "listening on" not in line:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"server did not start: {line!r}\n{log.read_text()}")
    url = line.split("listening on ")[1].split()[0]
    server = Server(proc, url, results, log)
    server.cgroup_parent = parent
    return server


@pytest.fixture
def functions_dir(tmp_path):
    return make_functions_dir(tmp_path)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One cfs server for a module's read-only API tests."""
    tmp = tmp_path_factory.mktemp("faas")
    server = start_server(tmp, make_functions_dir(tmp, ("fib", "text_stats")), "--max-body", "4096",
                          "--timeout", "5")
    yield server
    assert server.stop() == 0, server.log.read_text()
    assert cgroup_dirs(server.cgroup_parent) == [], "tenant cgroups left behind"


def children(pid: int) -> list[int]:
    """The children of every thread of `pid`."""
    kids = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            kids += [int(p) for p in f.read().split()]
    return kids


def template_of(server: Server, function: str) -> int:
    """The pid of `function`'s warm template (a child of the server)."""
    for pid in children(server.proc.pid):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if b"sfs.faas.zygote" in cmdline and any(arg.endswith(f"/{function}.py".encode()) for arg in cmdline):
            return pid
    raise AssertionError(f"no template of {function}")


def cgroup_dirs(parent: str) -> list[Path]:
    return [p for p in Path("/sys/fs/cgroup").glob(f"*/{parent}") if p.is_dir()]
