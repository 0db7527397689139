"""The security suite: each attack on `sfs serve` is a hostile function of its own, and each must be refused.

The attacker is tenant "mallory"; the victims are tenant "testers" (the
shared test functions).  Every test states the attack and what must hold.
"""
from __future__ import annotations

import errno
import json
import os
import secrets
import signal
import socket
import stat
import threading
import time
from pathlib import Path

import pytest

from faas_support import cgroup_dirs, children, make_functions_dir, needs_root, start_server, template_of
from sfs.faas.records import read_results

pytestmark = needs_root

ATTACKS = {
    # Starts 3 children that outlive it by far, then returns, crashes or overruns its time.
    "forker": '''
TENANT = "mallory"
import os, time
def handler(event):
    for _ in range(3):
        if os.fork() == 0:
            os.setsid()  # leave the session and process group too: no way out of the namespace
            try:
                os.execvp("sleep", ["sleep", str(event["token"])])
            finally:
                os._exit(1)
    time.sleep(0.3)
    if event.get("how") == "crash":
        os._exit(3)
    if event.get("how") == "timeout":
        while True:
            time.sleep(1)
    return {"started": 3}
''',
    # Forks without end (each child sleeps).
    "fork_bomb": '''
TENANT = "mallory"
import os, time
def handler(event):
    forked, error = 0, None
    for _ in range(int(event.get("n", 2000))):
        try:
            pid = os.fork()
        except OSError as exc:
            error = exc.errno
            break
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        forked += 1
    return {"forked": forked, "errno": error}
''',
    # Signals the pids it is given (another tenant's template and running sandbox), then everything it can.
    "killer": '''
TENANT = "mallory"
import os, signal
def handler(event):
    outcome = {}
    for pid in event["pids"]:
        for what, attempt in (("kill", lambda: os.kill(pid, signal.SIGKILL)),
                              ("stop", lambda: os.kill(pid, signal.SIGSTOP)),
                              ("environ", lambda: open(f"/proc/{pid}/environ").read())):
            try:
                attempt()
                outcome[f"{what} {pid}"] = "done"
            except OSError as exc:
                outcome[f"{what} {pid}"] = type(exc).__name__
    try:
        os.kill(-1, signal.SIGKILL)  # every process this sandbox may signal, except itself
        outcome["kill -1"] = "done"
    except OSError as exc:
        outcome["kill -1"] = type(exc).__name__
    return {"outcome": outcome, "proc": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
''',
    # Reads what an earlier invocation left in the world-writable directories, and leaves a file in each.
    "tmp_writer": '''
TENANT = "mallory"
import os
def handler(event):
    before = {}
    for d in ("/tmp", "/var/tmp", "/dev/shm"):
        before[d] = sorted(os.listdir(d))
        with open(f"{d}/{event['token']}", "w") as f:
            f.write("left behind")
    return {"before": before}
''',
    # Connects to the gateway, to call functions as whoever it likes.
    "caller": '''
TENANT = "mallory"
import socket
def handler(event):
    try:
        socket.create_connection((event["host"], int(event["port"])), timeout=2).close()
        return {"connected": True}
    except OSError as exc:
        return {"connected": False, "error": str(exc)}
''',
    # Opens files until it cannot.
    "fd_hog": '''
TENANT = "mallory"
import os
def handler(event):
    fds = []
    try:
        while len(fds) < 100000:
            fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as exc:
        return {"opened": len(fds), "errno": exc.errno}
    return {"opened": len(fds), "errno": None}
''',
    # Forks a child once it runs under SCHED_FIFO and reports the child's policy.
    "fifo_forker": '''
TENANT = "mallory"
import os, time
def policy():
    return os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK
def handler(event):
    deadline = time.monotonic() + 2.0
    while policy() != os.SCHED_FIFO and time.monotonic() < deadline:
        pass
    parent = policy()
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(wr, str(os.sched_getscheduler(0)).encode())
        os._exit(0)
    os.close(wr)
    child = int(os.read(rd, 32))
    os.waitpid(pid, 0)
    return {"parent": parent, "child": child}
''',
}

# The same, from a function that was granted the network.
ATTACKS["networked"] = ATTACKS["caller"].replace('TENANT = "mallory"\n', 'TENANT = "mallory"\nNETWORK = True\n')
TIMEOUT_S = 3
MAX_PIDS = 64
MAX_FILES = 64
READ_TIMEOUT_S = 1


def attack_dir(tmp: Path) -> Path:
    directory = make_functions_dir(tmp)
    for name, source in ATTACKS.items():
        (directory / f"{name}.py").write_text(source)
        os.chmod(directory / f"{name}.py", 0o644)
    return directory


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks")
    server = start_server(tmp, attack_dir(tmp), "--timeout", str(TIMEOUT_S), "--max-pids", str(MAX_PIDS),
                          "--max-open-files", str(MAX_FILES), "--read-timeout", str(READ_TIMEOUT_S))
    yield server
    assert server.stop() == 0, server.log.read_text()
    assert cgroup_dirs(server.cgroup_parent) == [], "cgroups left behind"


def _processes_with(argv: list[str]) -> list[int]:
    wanted = "\0".join(argv).encode() + b"\0"
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if open(f"/proc/{entry}/cmdline", "rb").read() == wanted:
                    found.append(int(entry))
            except OSError:
                pass
    return found


def _gone_within(argv: list[str], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _processes_with(argv) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _processes_with(argv)


def _uid(pid: int) -> int:
    return os.stat(f"/proc/{pid}").st_uid


@pytest.mark.parametrize("how", ["return", "crash"])
def test_children_end_with_their_invocation(server, how):
    token = f"45.{secrets.randbelow(10**9)}"
    status, _, body = server.run("forker", {"token": token, "how": how})
    assert status == (200 if how == "return" else 500), body
    assert _gone_within(["sleep", token], 2.0), "a child outlived its invocation"


def test_children_end_with_an_invocation_that_times_out(server):
    token = f"45.{secrets.randbelow(10**9)}"
    answer = {}
    thread = threading.Thread(target=lambda: answer.update(r=server.run("forker", {"token": token,
                                                                                   "how": "timeout"})))
    thread.start()
    deadline = time.monotonic() + TIMEOUT_S
    while len(_processes_with(["sleep", token])) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = _processes_with(["sleep", token])
    thread.join(30)
    assert len(seen) == 3  # the test does see the children while the invocation runs
    assert answer["r"][0] == 504 and answer["r"][2]["reason"] == "timeout"
    assert _gone_within(["sleep", token], 2.0), "a child outlived its timed-out invocation"


def test_a_fork_bomb_stops_at_the_tenant_pids_limit(server):
    status, _, body = server.run("fork_bomb", {"n": 2000})
    assert status == 200, body
    assert body["errno"] == errno.EAGAIN and body["forked"] < MAX_PIDS
    # The bomb's children went with it: the tenant can run again at once.
    status, _, body = server.run("fork_bomb", {"n": 5})
    assert status == 200 and body == {"forked": 5, "errno": None}


def test_open_files_are_limited(server):
    status, _, body = server.run("fd_hog", {})
    assert status == 200 and body["errno"] == errno.EMFILE and body["opened"] < MAX_FILES


def test_tenants_cannot_signal_or_read_each_other(server):
    assert server.run("sleeper", {"s": 0.01})[0] == 200  # the victim's template is warm
    victim_template = template_of(server, "sleeper")
    answer = {}
    thread = threading.Thread(target=lambda: answer.update(r=server.run("sleeper", {"s": 2})))
    thread.start()
    deadline = time.monotonic() + 5
    running = []
    while not running and time.monotonic() < deadline:
        # template -> keeper -> worker: the victim's workers (the running one, and the spare).
        running = [w for keeper in children(victim_template) for w in children(keeper)
                   if open(f"/proc/{w}/stat").read().rsplit(")", 1)[1].split()[0] == "S"]
        time.sleep(0.02)
    assert running
    assert server.run("killer", {"pids": []})[0] == 200
    attacker_template = template_of(server, "killer")
    status, _, body = server.run("killer", {"pids": [victim_template, *running]})
    thread.join(30)
    assert status == 200, body
    assert all(result != "done" for result in body["outcome"].values()), body
    assert body["proc"] == [1]  # its /proc shows its own namespace: itself only
    assert answer["r"][0] == 200 and answer["r"][2] == {"slept": 2}  # the victim finished its work
    assert template_of(server, "sleeper") == victim_template
    # Each tenant has its own uid, templates included.
    assert _uid(victim_template) != _uid(attacker_template) and 0 not in (_uid(victim_template),
                                                                          _uid(attacker_template))


def test_scratch_directories_are_private_to_each_invocation(server):
    first, second = secrets.token_hex(8), secrets.token_hex(8)
    for token in (first, second):  # the second does not see what the first left
        status, _, body = server.run("tmp_writer", {"token": token})
        assert status == 200 and body == {"before": {"/tmp": [], "/var/tmp": [], "/dev/shm": []}}
    for directory in ("/tmp", "/var/tmp", "/dev/shm"):
        assert not Path(f"{directory}/{first}").exists() and not Path(f"{directory}/{second}").exists()


def test_no_network_unless_the_function_is_granted_it(server):
    host, port = server.url.split("//")[1].split(":")
    status, _, body = server.run("caller", {"host": host, "port": port})
    assert status == 200 and body["connected"] is False, body
    status, _, body = server.run("networked", {"host": host, "port": port})
    assert status == 200 and body == {"connected": True}


def test_children_of_a_fifo_sandbox_start_under_sched_other(tmp_path):
    server = start_server(tmp_path, attack_dir(tmp_path), "--cores", "0", policy="fifo")
    try:
        status, _, body = server.run("fifo_forker", {})
    finally:
        assert server.stop() == 0, server.log.read_text()
    assert status == 200, body
    assert body == {"parent": os.SCHED_FIFO, "child": os.SCHED_OTHER}


def test_a_stopped_template_is_replaced_and_requests_end_within_the_timeout(tmp_path):
    server = start_server(tmp_path, attack_dir(tmp_path), "--timeout", str(TIMEOUT_S))
    try:
        assert server.run("echo", {"x": 0})[0] == 200
        stopped = template_of(server, "echo")
        os.kill(stopped, signal.SIGSTOP)
        try:
            for k in range(4):
                t0 = time.monotonic()
                status, _, body = server.run("echo", {"x": k})
                took = time.monotonic() - t0
                assert took < TIMEOUT_S + 1.5, f"request {k} took {took:.1f} s"
                assert status in (200, 504), body
            deadline = time.monotonic() + 5
            while os.path.exists(f"/proc/{stopped}") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not os.path.exists(f"/proc/{stopped}")  # killed, not left stopped
            status, _, body = server.run("echo", {"x": 9})
            assert status == 200 and body == {"x": 9}
            assert template_of(server, "echo") != stopped
        finally:
            if os.path.exists(f"/proc/{stopped}"):
                os.kill(stopped, signal.SIGCONT)
    finally:
        assert server.stop() == 0, server.log.read_text()


def test_results_file_is_private_and_has_every_answered_request_after_sigkill(tmp_path, functions_dir):
    server = start_server(tmp_path, functions_dir)
    try:
        ids = [server.run("echo", {"k": k})[1]["X-Invocation-Id"] for k in range(5)]
        server.proc.kill()  # right after the last answer: no chance to write anything more
        server.proc.wait(10)
    finally:
        server.stop()
    assert stat.S_IMODE(os.stat(server.results).st_mode) == 0o600
    assert {r["invocation_id"] for r in read_results(server.results)} == set(ids)
    deadline = time.monotonic() + 10  # its templates and sandboxes die with it (PDEATHSIG)
    while time.monotonic() < deadline and any(p.read_text().strip() for d in cgroup_dirs(server.cgroup_parent)
                                              for p in d.glob("*/cgroup.procs")):
        time.sleep(0.1)
    from sfs.faas.containment import _remove_tree, pids_root
    from sharekit.cgroups import remove_empty_parent
    assert remove_empty_parent(server.cgroup_parent)  # this test's own parent: empty, so removable
    _remove_tree(pids_root()[0] / server.cgroup_parent)
    assert cgroup_dirs(server.cgroup_parent) == []


@pytest.mark.parametrize("body,needle", [
    (b"[" * 40000 + b"]" * 40000, "nested too deeply"),
    (b'{"a": ' * 40000 + b"1" + b"}" * 40000, "nested too deeply"),
    (b'{"n": 1e400}', "out of range"),
    (b'{"n": NaN}', "non-finite number NaN"),
    (b'{"n": -Infinity}', "non-finite number -Infinity"),
    (b'{"n": 1' + b"0" * 5000 + b"}", "malformed JSON body"),  # past Python's integer digit limit
])
def test_hostile_json_is_a_400_naming_the_problem(server, body, needle):
    status, _, raw = server.request("POST", "/run/echo", body)
    assert status == 400 and needle in json.loads(raw)["error"]


def _closed_by_server(sock: socket.socket, drip: bytes, seconds: float) -> float | None:
    """Send `drip` one byte at a time, 0.2 s apart; the time at which the server closed, or None."""
    t0 = time.monotonic()
    sock.settimeout(0.2)
    for byte in drip:
        try:
            sock.sendall(bytes([byte]))
            if sock.recv(4096) == b"":
                return time.monotonic() - t0
        except socket.timeout:
            pass
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - t0
        if time.monotonic() - t0 > seconds:
            return None
    return None


def test_a_client_that_stalls_in_its_headers_is_disconnected(server):
    host, port = server.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port))) as sock:
        closed = _closed_by_server(sock, b"POST /run/echo HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200,
                                   seconds=10)
    assert closed is not None and closed < READ_TIMEOUT_S + 2


def test_a_client_that_stalls_in_its_body_gets_408(server):
    host, port = server.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"POST /run/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        sock.settimeout(READ_TIMEOUT_S + 5)
        t0 = time.monotonic()
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - t0 < READ_TIMEOUT_S + 2


@pytest.fixture(scope="module")
def library_server(tmp_path_factory):
    from faas_support import LIBRARY
    tmp = tmp_path_factory.mktemp("library")
    names = tuple(p.stem for p in LIBRARY.glob("[a-z]*.py"))
    server = start_server(tmp, make_functions_dir(tmp, names), "--timeout", "20")
    yield server, names
    assert server.stop() == 0, server.log.read_text()


def test_every_bundled_function_takes_an_empty_event_and_lists_its_parameters(library_server):
    server, names = library_server
    assert len(names) == 10
    listing = {f["name"]: f for f in json.loads(server.request("GET", "/functions")[2])["functions"]}
    for name in names:
        status, _, body = server.run(name, {})  # every parameter has a documented default
        assert status == 200, (name, body)
        assert listing[name]["parameters"] and set(listing[name]["example"]) == set(listing[name]["parameters"])
        status, _, body = server.run(name, listing[name]["example"])
        assert status == 200, (name, body)


@pytest.mark.parametrize("function,event,field,needle", [
    ("fib", {"n": 99}, "n", "above the maximum 40"),
    ("fib", {"n": "20"}, "n", "expected an integer"),
    ("fib", {"n": 2.5}, "n", "expected an integer"),
    ("fib", {"n": True}, "n", "expected an integer"),
    ("fib", {"m": 1}, "m", "unknown field"),
    ("aes_encrypt", {"key": "zz"}, "key", "does not match"),
    ("gzip_compress", {"return_data": "yes"}, "return_data", "expected true or false"),
    ("image_resize", {"scale": 0}, "scale", "below the minimum"),
    ("matmul", {"n": 10**9}, "n", "above the maximum"),
])
def test_an_invalid_field_is_a_400_naming_it(library_server, function, event, field, needle):
    server, _ = library_server
    status, _, body = server.run(function, event)
    assert status == 400 and body["field"] == field and needle in body["error"], body


def test_a_tenant_at_its_process_limit_gets_errors_and_its_templates_survive(server):
    assert server.run("echo", {"x": 1})[0] == 200  # another tenant's
    assert server.run("fd_hog", {})[0] == 200      # mallory's, warm, with a spare made
    template = template_of(server, "fd_hog")
    limit = Path("/sys/fs/cgroup/pids") / server.cgroup_parent / "mallory" / "pids.max"
    current = int((limit.parent / "pids.current").read_text())
    # The tenant at its limit with nothing to spare (as after a fork bomb that holds on): the
    # spare already made is all it can still run.
    limit.write_text(str(current - 2))
    try:
        statuses = [server.run("fd_hog", {}) for _ in range(3)]
        other = server.run("echo", {"x": 2})
    finally:
        limit.write_text(str(MAX_PIDS))
    assert statuses[0][0] == 200  # the spare
    assert [s[0] for s in statuses[1:]] == [500, 500], statuses
    assert all("cannot start a sandbox" in s[2]["error"] for s in statuses[1:])
    assert other[0] == 200  # other tenants are not affected
    assert template_of(server, "fd_hog") == template  # not replaced: the limit is not the template's fault
    assert server.run("fd_hog", {})[0] == 200  # below its limit again, the tenant runs again
