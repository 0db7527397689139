"""The warm template of one function: imports it once, forks one child per invocation.

Started by the host as ``python -m sfs.faas.zygote CONTROL_FD FUNCTION_PATH OPTIONS_JSON``
(OPTIONS: uid, gid, network, nofile, tmp_mib, namespaces).  Before any function code runs
(the module import included) the zygote, while still root:

- unless the function was granted the network, enters a network namespace of
  its own, whose only interface is a loopback that is down: no route out;
- makes a private mount namespace in which directories the sandbox user may
  not enter (e.g. a 0700 home holding the Python installation) are replaced
  by an empty read-only tmpfs that shows only the interpreter's own tree, read-only;
- drops to its tenant's uid and gid (setgroups([]), setgid, setuid), sets
  PR_SET_NO_NEW_PRIVS and stays non-dumpable (no ptrace, /proc files root's).

So neither the template nor its children ever run user code as root.  The
host puts the template in its tenant's cgroups before it runs anything, so
its children are born there; the zygote itself is raised to an RT priority
by the host with SCHED_RESET_ON_FORK, so children start under SCHED_OTHER.

Every invocation gets namespaces of its own, made by the spare before it is
offered to the host (so off the request path).  The spare (the "keeper")
unshares a user, mount and pid namespace and forks the worker, which is pid 1
of the new pid namespace and runs the handler.  The worker mounts a private
tmpfs on /tmp and a /proc of its own namespace, then drops every capability.
When the worker exits, returns or crashes, or the host kills it, the kernel
kills everything left in its pid namespace: no descendant outlives its
invocation.  From inside, no process outside the namespace can be named, so
none can be signalled.  The keeper waits for the worker and exits with the
same status, so the zygote's wait4() sees the worker's fate and CPU time.

Control protocol (SOCK_SEQPACKET, one JSON message per packet):
  zygote -> host  {"type": "ready"} | {"type": "error", "error": str}
  zygote -> host  {"type": "spare", "pid", "keeper"} + SCM_RIGHTS(the spare's assignment socket); pid is the
                  worker's, keeper its keeper's (the same without isolation)
  host -> spare   {"memory_max": int|null} + SCM_RIGHTS(invocation socket); host -> zygote {"type": "refill"}
  (fallback without a spare: host -> zygote {"type": "run", "id", "memory_max"} + SCM_RIGHTS(invocation
   socket), answered by {"type": "forked", "id", "pid"})
  zygote -> host  {"type": "exit", "pid", "status", "cpu", "maxrss_kb", "t"} for every child (worker pid)
Children are normally forked before their request comes (so fork() is off
the request path) and handed to the host as spares.  Invocation socket
(SOCK_STREAM, private to one child): the host writes the event as one
length-prefixed JSON frame when the child may start (after it was placed in
its cgroup); the child writes one frame back and exits.
"""
from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import tempfile
import time
import traceback

from sharekit.process import die_with_parent, prctl

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOEXEC = 8
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = (
    1, 2, 4, 32, 4096, 8192, 16384, 1 << 18)
FRAME = struct.Struct("!I")
# Note fds the zygote holds: a new child closes them all, or a sandbox could read another's note.
OPEN_NOTES: dict[int, int] = {}
EXIT_NOTE = struct.Struct("!iddq")  # keeper -> zygote: worker's wait status, CPU s, end (monotonic), max RSS KiB
# Set once by main() from the host's options, before any fork: uid, gid, network, nofile, tmp_mib, isolate.
OPTIONS: dict = {}
MAX_FRAME = 64 << 20


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                       ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")


def send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(FRAME.pack(len(payload)) + payload)


def recv_frame(sock: socket.socket, limit: int = MAX_FRAME) -> bytes | None:
    header = _recv_exact(sock, FRAME.size)
    if header is None:
        return None
    (length,) = FRAME.unpack(header)
    if length > limit:
        raise ValueError(f"frame of {length} bytes exceeds the limit of {limit}")
    return _recv_exact(sock, length)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _first_closed_ancestor(path: str) -> str | None:
    """The outermost ancestor of `path` that others cannot traverse (mode lacks o+x)."""
    parts = os.path.realpath(path).split("/")[1:]
    current = ""
    for part in parts[:-1]:
        current += "/" + part
        if not os.stat(current).st_mode & 0o001:
            return current
    return None


def expose_interpreter() -> None:
    """Private mount namespace where the interpreter tree is reachable by anyone.

    Only needed when the interpreter lives under a directory closed to others
    (pyenv in a 0700 home).  The closed directory is covered by an empty tmpfs
    that holds nothing but a read-only bind of the interpreter tree, which also
    hides whatever else was in it from functions.
    """
    trees = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix)}
    closed = {}
    for tree in trees:
        ancestor = _first_closed_ancestor(tree + "/x")
        if ancestor is not None:
            closed.setdefault(ancestor, []).append(tree)
    if not closed:
        return
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    for ancestor, inner in closed.items():
        staged = []
        for tree in inner:
            stage = tempfile.mkdtemp(prefix="sfs-zygote-")
            _mount(tree, stage, None, MS_BIND | MS_REC)
            staged.append((tree, stage))
        _mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")
        for tree, stage in staged:
            os.makedirs(tree, exist_ok=True)
            _mount(stage, tree, None, MS_MOVE)
            _mount(None, tree, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
            os.rmdir(stage)
        _mount(None, ancestor, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=0755")


def drop_privileges(uid: int, gid: int) -> None:
    if uid == 0 or gid == 0:
        raise ValueError("the sandbox uid and gid must not be 0")
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    # setuid() already cleared it; say so: same-tenant processes may not ptrace
    # the template or read its /proc files.
    prctl(PR_SET_DUMPABLE, 0)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise RuntimeError("privileges were not dropped")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """Empty effective, permitted and inheritable sets (the ones a new user namespace gave us)."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def enter_invocation_namespaces() -> int:
    """In the keeper: new user, mount and pid namespaces, then fork the worker (returns fork()'s value).

    The user namespace maps only our own uid and gid, so inside it the worker
    is the same unprivileged user; its capabilities there only serve to mount
    the private /tmp and /proc and are dropped before the handler runs.
    Writing our own uid_map needs a dumpable process for a moment: the
    namespace is empty until the maps are written, and it stays non-dumpable after.
    """
    uid, gid = os.getuid(), os.getgid()
    prctl(PR_SET_DUMPABLE, 1)
    try:
        _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID), "unshare(user, mount, pid)")
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1")
    finally:
        prctl(PR_SET_DUMPABLE, 0)
    return os.fork()


# World-writable places a sandbox could otherwise leave files in for later invocations (or other tenants).
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


def private_mounts(tmp_mib: int) -> None:
    """In the worker (pid 1 of its namespace): fresh scratch directories and a /proc of its namespace only."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    for directory in SCRATCH_DIRS:
        if os.path.isdir(directory):
            _mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={tmp_mib}m")
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _mirror_exit(pid: int, note_fd: int) -> None:
    """In the keeper: wait for the worker, tell the zygote at once, then end the same way.

    The note (status, CPU time, end time, max RSS) goes out before the keeper
    exits because the keeper's own exit tears down the invocation's mount
    namespace, which waits for an RCU grace period: that must not delay the
    invocation's record, and so its response.
    """
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(5)
    try:
        os.write(note_fd, EXIT_NOTE.pack(status, usage.ru_utime + usage.ru_stime, time.monotonic(), usage.ru_maxrss))
    except OSError:
        pass  # the zygote is gone; so are we, soon (PDEATHSIG)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status))


def load_function(path: str, source: bytes):
    import types
    name = os.path.splitext(os.path.basename(path))[0]
    module = types.ModuleType(f"faas_function_{name}")
    module.__file__ = path
    sys.modules[module.__name__] = module
    exec(compile(source, path, "exec"), module.__dict__)
    if not callable(getattr(module, "handler", None)):
        raise TypeError(f"{path} defines no handler(event) function")
    return module


def _vm_size() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def run_child(module, assignment: socket.socket) -> None:
    """In a forked child: wait to be assigned an invocation, then its event; run; answer; exit."""
    die_with_parent()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # The template's RT-time guard is not for functions: the scheduler bounds their FIFO time.
    resource.setrlimit(resource.RLIMIT_RTTIME, (resource.getrlimit(resource.RLIMIT_RTTIME)[1],) * 2)
    nofile = OPTIONS.get("nofile")
    if nofile:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    msg, fds, _, _ = socket.recv_fds(assignment, 4096, 1)
    if not msg or len(fds) != 1:
        os._exit(0)  # retired spare
    assignment.close()
    memory_max = json.loads(msg).get("memory_max")
    conn = socket.socket(fileno=fds[0])
    if memory_max:
        # Address space beyond what the warm template already maps: a runaway
        # allocation fails with MemoryError instead of waking the OOM killer.
        limit = _vm_size() + memory_max
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    frame = recv_frame(conn)
    if frame is None:
        os._exit(3)  # the host gave up on this invocation before it started
    try:
        event = json.loads(frame)
        t0 = time.monotonic()
        result = module.handler(event)
        t1 = time.monotonic()
        reply = {"ok": True, "result": result, "t0": t0, "t1": t1, "cpu": time.process_time()}
        payload = json.dumps(reply).encode()
    except MemoryError:
        payload = json.dumps({"ok": False, "reason": "oom", "error": "MemoryError: memory limit exceeded"}).encode()
    except BaseException as exc:  # the function's own failure, reported as a crash
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3)
        payload = json.dumps({"ok": False, "reason": "crash", "error": f"{type(exc).__name__}: {exc}",
                              "traceback": "".join(tb)[-2000:]}).encode()
    send_frame(conn, payload)
    conn.close()
    os._exit(0)


def _fork_child(module, control: socket.socket) -> tuple[int, int, socket.socket, int | None]:
    """A child waiting on its own assignment socket (ours, returned) for an invocation.

    Returns (worker pid, keeper pid, socket, note fd).  The note fd (None
    without isolation) brings the keeper's EXIT_NOTE when the worker ends.  Without isolation (a zygote not
    started as root) the child is both.  The worker's pid comes back over a
    pipe: only the keeper knows it, and the host admits the worker to the scheduler.
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    rd, wr = os.pipe()
    keeper = os.fork()
    if keeper == 0:
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            control.close()
            ours.close()
            os.close(rd)
            for fd in OPEN_NOTES:
                os.close(fd)
            die_with_parent()
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if OPTIONS.get("isolate"):
                # The next sandbox is made while the current one runs: its setup (namespaces,
                # fork, mounts) must not take CPU from it.  The host restores the worker's nice
                # value when it is offered; the keeper is raised to RT for its exit note.
                os.nice(19)
            worker = enter_invocation_namespaces() if OPTIONS.get("isolate") else 0
            if worker == 0:
                os.close(wr)
                if OPTIONS.get("isolate"):
                    die_with_parent()
                    private_mounts(int(OPTIONS.get("tmp_mib", 64)))
                    drop_capabilities()
                run_child(module, theirs)
            else:
                theirs.close()
                os.write(wr, struct.pack("!i", worker))
                _mirror_exit(worker, wr)
        except BaseException:
            traceback.print_exc(file=sys.stderr)
        finally:
            os._exit(4)
    theirs.close()
    os.close(wr)
    ready, _, _ = select.select([rd], [], [], 5.0)
    data = os.read(rd, 4) if ready else b""
    if not OPTIONS.get("isolate"):
        os.close(rd)
        return keeper, keeper, ours, None
    if len(data) != 4:
        # The keeper failed to make the namespaces or to fork (its exit is reported under its own pid).
        os.close(rd)
        ours.close()
        raise OSError(f"sandbox {keeper} did not start its worker (the tenant's process limit, or no user "
                      "namespaces; see the server's stderr)")
    return struct.unpack("!i", data)[0], keeper, ours, rd


def serve(control: socket.socket, module) -> None:
    """Fork children ahead of need and hand them to the host; reap and report every exit.

    A spare's assignment socket goes to the host with the "spare" message, so
    the host starts an invocation without a round trip through this process;
    it sends "refill" when it used one.  "run" (fork now, assign here) is the
    fallback when the host has no spare.
    """
    rd, wr = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wr)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    prefork = os.environ.get("SFS_FAAS_PREFORK", "1") == "1"
    workers: dict[int, int] = {}  # keeper pid -> worker pid, whose exit the host waits for
    notes = OPEN_NOTES            # note fd -> keeper pid, until the keeper's EXIT_NOTE arrives
    noted: set[int] = set()       # keepers whose worker's exit was already reported from its note

    def adopt(pid: int, keeper: int, note_fd: int | None) -> None:
        workers[keeper] = pid
        if note_fd is not None:
            notes[note_fd] = keeper

    def read_note(fd: int) -> None:
        keeper = notes.pop(fd)
        try:
            data = os.read(fd, EXIT_NOTE.size)
        finally:
            os.close(fd)
        if len(data) == EXIT_NOTE.size:  # else the keeper died first: its own exit is reported when reaped
            status, cpu, t, maxrss = EXIT_NOTE.unpack(data)
            noted.add(keeper)
            send({"type": "exit", "pid": workers.pop(keeper, keeper), "status": status, "cpu": cpu,
                  "maxrss_kb": maxrss, "t": t})

    def send(message: dict, fds=()) -> None:
        data = json.dumps(message).encode()
        if fds:
            socket.send_fds(control, [data], list(fds))
        else:
            control.sendmsg([data])

    def refill() -> None:
        if prefork:
            try:
                pid, keeper, sock, note_fd = _fork_child(module, control)
            except OSError as exc:
                print(f"zygote: {exc}", file=sys.stderr)
                return
            adopt(pid, keeper, note_fd)
            try:
                send({"type": "spare", "pid": pid, "keeper": keeper}, [sock.fileno()])
            finally:
                sock.close()

    send({"type": "ready"})
    refill()
    while True:
        ready, _, _ = select.select([control, rd, *notes], [], [])
        for fd in ready:
            if fd in notes:
                read_note(fd)
        if rd in ready:
            try:
                os.read(rd, 4096)
            except BlockingIOError:
                pass
        while True:  # reap every child that has exited
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in noted:
                noted.discard(pid)
                continue
            send({"type": "exit", "pid": workers.pop(pid, pid), "status": status, "cpu": usage.ru_utime + usage.ru_stime,
                  "maxrss_kb": usage.ru_maxrss, "t": time.monotonic()})
        if control not in ready:
            continue
        msg, fds, _, _ = socket.recv_fds(control, 65536, 4)
        if not msg:
            return  # the host is gone
        request = json.loads(msg)
        kind = request.get("type")
        if kind == "refill":
            refill()
        elif kind == "run" and len(fds) == 1:
            try:
                pid, keeper, sock, note_fd = _fork_child(module, control)
            except OSError as exc:
                send({"type": "forked", "id": request["id"], "pid": 0, "error": str(exc)})
                for fd in fds:
                    os.close(fd)
                continue
            adopt(pid, keeper, note_fd)
            try:
                socket.send_fds(sock, [json.dumps({"memory_max": request.get("memory_max")}).encode()], fds)
            except OSError:
                pass  # the child died meanwhile: its exit report tells the host
            finally:
                sock.close()
            send({"type": "forked", "id": request["id"], "pid": pid})
            # The host asks for "run" only when it has no spare (it died, or a refill failed
            # at the tenant's process limit): make one again for the next call.
            refill()
        for fd in fds:
            os.close(fd)


def main(argv: list[str]) -> int:
    control = socket.socket(fileno=int(argv[0]))
    path = argv[1]
    OPTIONS.update(json.loads(argv[2]))
    try:
        # The host decides when a template ends (SIGKILL, or its own death via
        # PDEATHSIG); a terminal's Ctrl-C to the whole process group is not for us.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        die_with_parent()
        if os.getppid() == 1:
            return 1
        with open(path, "rb") as f:
            source = f.read()
        # The host runs this template under SCHED_FIFO: a template that spins
        # more than 0.5 s of RT time without blocking gets SIGXCPU and dies.
        hard = resource.getrlimit(resource.RLIMIT_RTTIME)[1]
        resource.setrlimit(resource.RLIMIT_RTTIME, (500_000 if hard == resource.RLIM_INFINITY else min(500_000, hard), hard))
        # Functions check their events with this (trusted) module.  Imported now, while
        # still root: the project's source may lie where the sandbox user cannot read.
        import workloads.functions._params  # noqa: F401
        if os.geteuid() == 0:
            OPTIONS["isolate"] = OPTIONS.get("namespaces", True)
            if OPTIONS["isolate"] and not OPTIONS.get("network"):
                _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
            expose_interpreter()
            drop_privileges(int(OPTIONS["uid"]), int(OPTIONS["gid"]))
        os.chdir("/")
        module = load_function(path, source)
        if os.environ.get("SFS_FAAS_WARMUP", "1") == "1" and callable(getattr(module, "make_event", None)):
            # One call in the template pulls in lazy imports (scipy under networkx,
            # codecs, ...) so that children start warm, as in SOCK's import cache.
            module.handler(module.make_event("small"))
    except BaseException as exc:
        control.sendmsg([json.dumps({"type": "error", "error": f"{type(exc).__name__}: {exc}"}).encode()])
        return 1
    serve(control, module)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
