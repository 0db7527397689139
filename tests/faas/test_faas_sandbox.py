"""Sandboxes: unprivileged, in the tenant cgroup, limited in memory and time, crash-isolated."""
from __future__ import annotations

import os

import pytest

from faas_support import cgroup_dirs, children, needs_root, start_server, template_of

pytestmark = needs_root


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from faas_support import make_functions_dir
    tmp = tmp_path_factory.mktemp("sandbox")
    server = start_server(tmp, make_functions_dir(tmp), "--timeout", "2", "--memory-max", "128")
    yield server
    assert server.stop() == 0, server.log.read_text()
    assert cgroup_dirs(server.cgroup_parent) == [], "tenant cgroups left behind"


def test_function_runs_unprivileged_in_a_fresh_process_and_the_tenant_cgroup(server):
    status, _, first = server.run("whoami")
    _, _, second = server.run("whoami")
    assert status == 200
    # The tenants here are fib's "alice" and "testers": sorted, they get the first two uids of the range.
    assert first["uid"] == first["euid"] == 200001 and first["gid"] == 200001 and first["groups"] == []
    assert first["no_new_privs"] == "1"
    assert first["calls"] == second["calls"] == 1  # a fresh process each time, forked from the warm template
    assert first["pid"] == second["pid"] == 1 and first["ppid"] == 0  # the init of its own pid namespace
    assert f"/{server.cgroup_parent}/testers" in first["cgroup"]
    # The sandbox sees none of root's home, only the read-only interpreter tree.
    assert not isinstance(first["root_listing"], list) or set(first["root_listing"]) <= {".pyenv"}


def test_memory_limit_gives_an_oom_error(server):
    status, _, body = server.run("hog_memory", {"mib": 4096})
    assert status == 500
    assert body["reason"] == "oom" and "memory" in body["error"].lower()


def test_wall_clock_timeout_kills_the_sandbox(server):
    status, _, body = server.run("spinner", {})
    assert status == 504
    assert body["reason"] == "timeout" and "2 s" in body["error"]
    status, _, body = server.run("sleeper", {"s": 30})
    assert status == 504 and body["reason"] == "timeout"


@pytest.mark.parametrize("how,needle", [("segv", "SIGSEGV"), ("exit", "status 7"), ("raise", "ValueError")])
def test_crash_is_reported_and_the_server_keeps_serving(server, how, needle):
    status, _, body = server.run("crasher", {"how": how})
    assert status == 500
    assert body["reason"] == "crash" and needle in body["error"]
    assert server.run("fib", {"n": 12}) == (200, server.run("fib", {"n": 12})[1], {"n": 12, "fib": 144}) \
        or server.run("fib", {"n": 12})[2] == {"n": 12, "fib": 144}


def test_failures_are_recorded_with_their_reason(server):
    import time
    from sfs.faas.records import read_results
    server.run("crasher", {"how": "exit"})
    deadline = time.monotonic() + 10
    rows = []
    while time.monotonic() < deadline:
        rows = read_results(server.results)
        if any(r["reason"] == "crash" for r in rows) and any(r["reason"] == "timeout" for r in rows):
            break
        time.sleep(0.1)
    reasons = {r["reason"] for r in rows}
    assert {"crash", "oom", "timeout"} <= reasons
    assert all(r["status"] == "error" and r["http_status"] in ("500", "504") for r in rows if r["reason"])


def test_tenant_cpu_weights_put_sandboxes_in_a_tenant_cpu_group(tmp_path, functions_dir):
    server = start_server(tmp_path, functions_dir, "--tenant-cpu-weights")
    try:
        status, _, who = server.run("whoami")
        assert status == 200
        cpu_lines = [line for line in who["cgroup"].splitlines() if line.split(":")[1] in ("cpu", "cpu,cpuacct", "")]
        assert any(line.endswith(f"/{server.cgroup_parent}/testers") for line in cpu_lines), who["cgroup"]
    finally:
        assert server.stop() == 0
    assert cgroup_dirs(server.cgroup_parent) == []


def test_by_default_tenants_get_accounting_and_memory_but_keep_the_rt_budget(server):
    status, _, who = server.run("whoami")
    assert status == 200, who
    lines = dict(line.split(":", 2)[1:] for line in who["cgroup"].splitlines())
    assert lines["memory"].endswith("/testers") and lines["cpuacct"].endswith("/testers")
    assert not lines.get("cpu", "/").endswith("/testers")


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            kids = [int(p) for task in os.listdir(f"/proc/{current}/task")
                    for p in open(f"/proc/{current}/task/{task}/children").read().split()]
        except OSError:
            continue
        found.update(kids)
        todo.extend(kids)
    return found


def test_a_killed_spare_or_template_is_replaced_and_the_request_still_served(tmp_path, functions_dir):
    # Its own server: the restarted template is a new RT task, gone when the server stops.
    server = start_server(tmp_path, functions_dir)
    try:
        _kill_spare_then_template(server)
    finally:
        assert server.stop() == 0


def _kill_spare_then_template(server):
    import signal
    import time
    status, _, who = server.run("whoami")
    zygote = template_of(server, "whoami")
    killed = 0
    for spare in children(zygote):  # the child forked ahead for the next call (its worker goes with it)
        try:
            os.kill(spare, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass   # the first call's own child, listed while it exited and reaped since
    assert killed >= 1
    time.sleep(0.2)
    status, _, again = server.run("whoami")
    assert status == 200 and again["calls"] == 1 and template_of(server, "whoami") == zygote
    os.kill(zygote, signal.SIGKILL)  # the template itself: restarted on the next call
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, _, third = server.run("whoami")
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200 and template_of(server, "whoami") != zygote and third["uid"] != 0


def test_sigkilled_server_leaves_no_rt_task_and_its_cgroups_are_reaped(tmp_path, functions_dir, request):
    import subprocess
    import sys
    import time
    from sharekit.rt import realtime_tasks
    # The groups are named after a process this test controls: servers of parallel test runs
    # reap the groups of dead owners, so this one stays alive until the reaping is the test's own.
    owner = subprocess.Popen(["sleep", "600"])
    request.addfinalizer(lambda: (owner.kill(), owner.wait()))
    parent = f"sharekit-faas-{owner.pid}"
    server = start_server(tmp_path, functions_dir, "--cores", "0", "--cgroup-parent", parent, policy="sfs")
    spin = subprocess.Popen([sys.executable, "-c", "import json, sys, urllib.request; "
                             f"urllib.request.urlopen(urllib.request.Request('{server.url}/run/spinner', "
                             "data=b'{}', method='POST'), timeout=30)"],
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)  # the spinner is running (FIFO in its filter, or demoted)
        tree = _descendants(server.proc.pid) | {server.proc.pid}
        assert len(tree) > 3  # templates, their spares and the running sandbox
        server.proc.kill()
        server.proc.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            alive = [p for p in tree if os.path.exists(f"/proc/{p}")]
            left = [t for t in realtime_tasks() if t.pid in tree]
            if not alive and not left:
                break
            time.sleep(0.1)
        assert not left and not alive  # templates and sandboxes went with the server
    finally:
        spin.kill()
        spin.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(p.read_text().strip() for d in cgroup_dirs(parent)
                                              for p in d.glob("*/cgroup.procs")):
        time.sleep(0.1)
    assert cgroup_dirs(parent)  # SIGKILL gave the server no chance to clean up
    owner.kill()
    owner.wait()
    (tmp_path / "again").mkdir()
    second = start_server(tmp_path / "again", functions_dir)
    try:
        assert cgroup_dirs(parent) == []  # the next server reaped them
    finally:
        assert second.stop() == 0
