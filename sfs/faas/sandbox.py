"""Host side of the sandboxes: one zygote per function, one child per invocation.

`SandboxManager.invoke()` is the whole life of an invocation: ask the
function's zygote for a child, move the child into its tenant cgroup, hand it
to the scheduling policy, send the event (which lets it start), then wait for
its answer and its exit status under a wall-clock timeout.  The outcome is an
`Outcome` whose `reason` is None, "crash", "oom" or "timeout".

The timeout is enforced here, outside the sandbox and its template: one
deadline covers getting a child, running it and answering.  The host kills
the worker through its pidfd (which takes its whole pid namespace along) and
learns of the exit from the pidfd too, so a template that is stopped or
wedged cannot hold a request past its deadline.  A template whose exit
report does not come within EXIT_GRACE_S of a worker's death, or that is
found stopped by `watch()`, is killed and replaced.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sfs.faas.functions import FunctionSpec
from sfs.faas.tenants import TenantGroups
from sfs.faas.zygote import FRAME

log = logging.getLogger(__name__)
MAX_RESULT_BYTES = 16 << 20
MOVE_THREADS = 2
EXIT_GRACE_S = 1.0          # a worker is dead, its template has this long to report it
WATCH_INTERVAL_S = 0.25     # how often templates are checked for being stopped


def _rt_thread(priority: int) -> None:
    if priority > 0:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(priority))
        except OSError:
            pass


class SandboxError(RuntimeError):
    pass


class ForkRefused(SandboxError):
    """The template is fine but could not start a child (the tenant's pids limit, most often)."""


@dataclass
class Outcome:
    ok: bool
    result: object = None
    reason: str | None = None       # crash | oom | timeout
    error: str | None = None
    pid: int = 0
    cpu_s: float = 0.0
    exec_start: float = 0.0         # monotonic, handler start/end inside the child
    exec_end: float = 0.0
    released: float = 0.0           # event sent (child may run)
    exited: float = 0.0             # host had what it needs to answer (the result, or the exit)
    maxrss_kb: int = 0
    ended: float = 0.0              # monotonic exit time from the reaper (0 until known)
    timings: dict = field(default_factory=dict)
    completion: asyncio.Future | None = None  # set when the answer came before the exit
    admitted: bool = False          # handed to the scheduler, which then sends a record


class Zygote:
    """One function's template process and its control channel."""

    def __init__(self, spec: FunctionSpec, options: dict, rt_priority: int, env: dict[str, str]):
        self.spec, self.options, self.rt_priority, self.env = spec, options, rt_priority, env
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self._forked: dict[str, asyncio.Future] = {}
        self._exits: dict[int, asyncio.Future] = {}
        self._early_exits: dict[int, dict] = {}
        self._ready: asyncio.Future | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.spares: deque[tuple[int, socket.socket]] = deque()  # (pid, assignment socket)
        # Called with the template's pid before it runs anything: its children are
        # then born in the function's tenant cgroup and need no move of their own.
        self.place_template = None

    async def start(self, timeout: float = 60.0) -> None:
        self._loop = asyncio.get_running_loop()
        host_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sfs.faas.zygote", str(zygote_end.fileno()), str(self.spec.path),
             json.dumps(self.options)],
            pass_fds=[zygote_end.fileno()], env=self.env, stdin=subprocess.DEVNULL)
        zygote_end.close()
        if self.place_template is not None:
            try:
                self.place_template(self.proc.pid)
            except Exception:
                self.proc.kill()
                self.proc.wait()
                host_end.close()
                raise
        host_end.setblocking(False)
        self.sock = host_end
        self._ready = self._loop.create_future()
        self._loop.add_reader(host_end.fileno(), self._on_message)
        try:
            await asyncio.wait_for(self._ready, timeout)
        except BaseException:
            self.close()
            raise
        self._raise_priority()

    def _raise_priority(self) -> None:
        """The fork path is on the arrival path: run it above the functions."""
        if self.rt_priority <= 0 or self.proc is None:
            return
        try:
            os.sched_setscheduler(self.proc.pid, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK,
                                  os.sched_param(self.rt_priority))
        except (PermissionError, ProcessLookupError) as exc:
            log.warning("zygote %s stays under SCHED_OTHER: %s", self.spec.name, exc)

    def stopped(self) -> bool:
        """The template is stopped (SIGSTOP, or a ptrace stop): it forks and reports nothing."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError, AttributeError):
            return False
        return state in ("T", "t")

    def _raise_keeper(self, keeper: int) -> None:
        """A keeper runs at the template's RT priority (reset-on-fork, its worker already forked).

        Its one job after setup is to pass its worker's exit on, and the
        record (so the response) waits for that: under SCHED_OTHER on a busy
        machine the wake-up alone took milliseconds.  It spins no longer than
        the template's RLIMIT_RTTIME allows.
        """
        if self.rt_priority <= 0:
            return
        try:
            os.sched_setscheduler(keeper, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(self.rt_priority))
        except OSError:
            pass  # gone already, or RT not permitted: it still works, only later

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self.sock is not None

    def _on_message(self) -> None:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self.sock, 65536, 4)
            except BlockingIOError:
                return
            except OSError:
                data, fds = b"", []
            if not data:
                for fd in fds:
                    os.close(fd)
                self._fail_all(SandboxError(f"the template of {self.spec.name} exited"))
                return
            msg = json.loads(data)
            kind = msg.get("type")
            if kind == "ready" and not self._ready.done():
                self._ready.set_result(None)
            elif kind == "error" and not self._ready.done():
                self._ready.set_exception(SandboxError(f"{self.spec.name}: {msg['error']}"))
            elif kind == "spare" and len(fds) == 1:
                keeper = msg.get("keeper")
                if keeper and keeper != msg["pid"]:
                    self._raise_keeper(keeper)
                    try:  # made at nice 19 so as not to slow the running sandbox; back to normal
                        os.setpriority(os.PRIO_PROCESS, msg["pid"], 0)
                    except OSError:
                        pass
                self.spares.append((msg["pid"], socket.socket(fileno=fds[0])))
                fds = []
            elif kind == "forked":
                fut = self._forked.pop(msg["id"], None)
                if fut is not None and not fut.done():
                    if msg.get("pid"):
                        fut.set_result(msg["pid"])
                    else:
                        fut.set_exception(ForkRefused(f"{self.spec.name}: cannot start a sandbox: "
                                                      f"{msg.get('error', 'fork failed')}"))
            elif kind == "exit":
                pid = msg["pid"]
                fut = self._exits.pop(pid, None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
                elif not self._drop_spare(pid):
                    self._early_exits[pid] = msg  # "forked" was just seen; its waiter comes next
            for fd in fds:
                os.close(fd)

    def _drop_spare(self, pid: int) -> bool:
        """A spare that died unused (True), forgotten along with its placement."""
        for entry in list(self.spares):
            if entry[0] == pid:
                self.spares.remove(entry)
                entry[1].close()
                return True
        return False

    def _fail_all(self, exc: Exception) -> None:
        if self._loop is not None and self.sock is not None:
            try:
                self._loop.remove_reader(self.sock.fileno())
            except (ValueError, OSError):
                pass
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(exc)
        for fut in list(self._forked.values()) + list(self._exits.values()):
            if not fut.done():
                fut.set_exception(exc)
        self._forked.clear()
        self._exits.clear()
        while self.spares:
            self.spares.popleft()[1].close()
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    async def fork(self, invocation_id: str, child_end: socket.socket, memory_max: int | None) -> int:
        """A child running this invocation: a spare if there is one, else a fresh fork."""
        if not self.alive:
            raise SandboxError(f"the template of {self.spec.name} is not running")
        assignment = json.dumps({"memory_max": memory_max}).encode()
        while self.spares:
            pid, sock = self.spares.popleft()
            try:
                socket.send_fds(sock, [assignment], [child_end.fileno()])
            except OSError:
                continue  # died unused; its exit report is dropped
            finally:
                sock.close()
                try:
                    self.sock.sendmsg([b'{"type": "refill"}'])
                except BlockingIOError:
                    pass  # a template that reads nothing: the next request falls back to "run"
            return pid
        fut = self._loop.create_future()
        self._forked[invocation_id] = fut
        msg = json.dumps({"type": "run", "id": invocation_id, "memory_max": memory_max}).encode()
        socket.send_fds(self.sock, [msg], [child_end.fileno()])
        return await fut

    def exit_future(self, pid: int) -> asyncio.Future:
        fut = self._loop.create_future()
        early = self._early_exits.pop(pid, None)
        if early is not None:
            fut.set_result(early)
        else:
            self._exits[pid] = fut
        return fut

    def close(self) -> None:
        self._fail_all(SandboxError("shutting down"))
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # PR_SET_PDEATHSIG takes its children with it
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass


async def _read_frame(reader: asyncio.StreamReader) -> bytes | None:
    try:
        header = await reader.readexactly(FRAME.size)
        (length,) = FRAME.unpack(header)
        if length > MAX_RESULT_BYTES:
            raise SandboxError(f"result of {length} bytes exceeds {MAX_RESULT_BYTES}")
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return None


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return f"killed by signal {signal.Signals(sig).name}"
    return f"exited with status {os.WEXITSTATUS(status)}"


class SandboxManager:
    """Zygotes for every function; runs invocations in fresh children."""

    def __init__(self, specs: dict[str, FunctionSpec], tenants: TenantGroups, policy, *,
                 identities=None, pids=None, agent=None, rt_priority: int = 0, memory_max: int = 512 << 20,
                 timeout_s: float = 30.0, nofile: int = 256, tmp_mib: int = 64, namespaces: bool = True):
        self.specs, self.tenants, self.policy = specs, tenants, policy
        # identities(tenant) -> (uid, gid) of that tenant's templates and sandboxes.
        self.identities = identities or (lambda tenant: (65534, 65534))
        self.pids = pids  # sfs.faas.containment.TenantPids, or None
        self.agent = agent  # sfs.faas.agent_groups.AgentGroups, or None
        self.rt_priority = rt_priority
        self.memory_max, self.timeout_s = memory_max, timeout_s
        self.nofile, self.tmp_mib, self.namespaces = nofile, tmp_mib, namespaces
        self.replaced = 0  # templates killed because they were stopped or wedged
        self.zygotes: dict[str, Zygote] = {}
        # cgroup moves block for up to an RCU grace period: keep them off the event
        # loop, on threads that run above the functions like the loop itself.
        self._executor = ThreadPoolExecutor(max_workers=MOVE_THREADS, thread_name_prefix="cgroup-move",
                                            initializer=_rt_thread, initargs=(rt_priority,))
        # Start them all now: RT threads appearing mid-run look like leaks to RT hygiene checks.
        barrier = threading.Barrier(MOVE_THREADS)
        for _ in range(MOVE_THREADS):
            self._executor.submit(barrier.wait, 10)
        self._starting: dict[str, asyncio.Task] = {}
        self.env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH")}
        # One thread per sandbox: each invocation is one schedulable process.
        self.env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                        HOME="/nonexistent", PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0")

    async def warm(self, names=None) -> dict[str, str]:
        """Start templates (all functions by default); returns name -> error for failures."""
        names = list(self.specs) if names is None else names
        results = await asyncio.gather(*(self._zygote(n) for n in names), return_exceptions=True)
        return {n: str(r) for n, r in zip(names, results) if isinstance(r, BaseException)}

    def _place_template(self, spec: FunctionSpec):
        group = self.tenants.get(spec.tenant)
        pids, agent = self.pids, self.agent

        def place(pid: int) -> None:
            if pids is not None:
                pids.add(spec.tenant, pid)
            if group is not None:
                group.add(pid)
            if agent is not None:
                agent.place(spec.tenant, pid)  # after ours: the agent's cpu placement wins
        return place if (group is not None or pids is not None or agent is not None) else None

    async def _zygote(self, name: str) -> Zygote:
        zygote = self.zygotes.get(name)
        if zygote is not None and zygote.alive:
            return zygote
        task = self._starting.get(name)
        if task is None:
            spec = self.specs[name]
            uid, gid = self.identities(spec.tenant)
            options = {"uid": uid, "gid": gid, "network": spec.network, "nofile": self.nofile,
                       "tmp_mib": self.tmp_mib, "namespaces": self.namespaces}
            zygote = Zygote(spec, options, self.rt_priority, self.env)
            zygote.place_template = self._place_template(spec)
            task = asyncio.ensure_future(zygote.start())
            self._starting[name] = task
            try:
                await task
                self.zygotes[name] = zygote
                return zygote
            finally:
                self._starting.pop(name, None)
        await task
        return self.zygotes[name]

    def replace(self, zygote: Zygote, why: str) -> None:
        """Kill a template that cannot be trusted to fork or report; the next call starts a new one."""
        if self.zygotes.get(zygote.spec.name) is zygote:
            del self.zygotes[zygote.spec.name]
        if zygote.proc is not None and zygote.proc.poll() is None:
            log.warning("template of %s %s: replacing it", zygote.spec.name, why)
            self.replaced += 1
        zygote.close()

    async def watch(self) -> None:
        """Replace stopped templates (runs for the life of the server)."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            for zygote in list(self.zygotes.values()):
                if zygote.alive and zygote.stopped():
                    self.replace(zygote, "is stopped")

    async def _place(self, zygote: "Zygote", pid: int, tenant: str) -> None:
        """Make sure `pid` is in `tenant`'s cgroup.

        Children inherit the template's cgroup, which is their function's
        tenant: the usual call needs no move.  A tenant chosen by X-Tenant does,
        off the event loop: a cgroup v1 move waits for an RCU grace period,
        which functions holding the cores under SCHED_FIFO can stretch a lot.
        """
        if tenant == zygote.spec.tenant and zygote.place_template is not None:
            return
        group = self.tenants.get(tenant)
        if group is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, group.add, pid)

    async def _child(self, spec: FunctionSpec, invocation, child_end: socket.socket,
                     deadline: float) -> tuple[Zygote, int]:
        """A child of `spec`'s template before `deadline`; a template that fails is replaced once."""
        for attempt in (1, 2):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise asyncio.TimeoutError
            zygote = await asyncio.wait_for(self._zygote(spec.name), remaining)
            try:
                pid = await asyncio.wait_for(zygote.fork(str(invocation.id), child_end, self.memory_max),
                                             max(0.0, deadline - time.monotonic()))
                return zygote, pid
            except asyncio.TimeoutError:
                self.replace(zygote, "did not fork before the deadline")
                raise
            except ForkRefused:
                raise  # not the template's fault: replacing it would only kill its running sandboxes
            except SandboxError:
                self.replace(zygote, "failed")
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def invoke(self, invocation, event_bytes: bytes, arrival: float) -> Outcome:
        """Run one invocation to completion (never raises for the function's own failures)."""
        spec = self.specs[invocation.function]
        timings = {"t_accept": time.monotonic()}
        deadline = timings["t_accept"] + self.timeout_s
        group = self.tenants.get(invocation.tenant)
        host_end, child_end = socket.socketpair()
        try:
            zygote, pid = await self._child(spec, invocation, child_end, deadline)
        except asyncio.TimeoutError:
            host_end.close()
            return Outcome(False, reason="timeout", timings=timings,
                           error=f"wall-clock timeout of {self.timeout_s:g} s exceeded before the sandbox started")
        except BaseException:
            host_end.close()
            raise
        finally:
            child_end.close()
        timings["t_forked"] = time.monotonic()
        exit_fut = zygote.exit_future(pid)
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            host_end.close()
            raise SandboxError(f"sandbox {pid} of {spec.name} died before it was used") from None
        writer = None
        admitted = False
        try:
            if group is not None:
                try:
                    await self._place(zygote, pid, invocation.tenant)
                except Exception as exc:  # the child waits for its event: kill it, report it
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                    await self._await_exit(zygote, exit_fut, pidfd, grace=EXIT_GRACE_S)
                    return Outcome(False, reason="crash", error=f"cannot place sandbox in tenant cgroup: {exc}",
                                   pid=pid)
            timings["t_placed"] = time.monotonic()
            self.policy.admit(pid, invocation, arrival)
            admitted = True
            timings["t_admitted"] = time.monotonic()
            reader, writer = await asyncio.open_unix_connection(sock=host_end)
            writer.write(FRAME.pack(len(event_bytes)) + event_bytes)
            released = time.monotonic()
            timings["t_released"] = released
            oom_before = group.oom_kills() if group is not None else 0
            killed_by_timeout = False
            answer = None
            try:
                answer = await asyncio.wait_for(_read_frame(reader), max(0.0, deadline - released))
            except asyncio.TimeoutError:
                killed_by_timeout = True
                _kill(pidfd)
            answered = time.monotonic()
            reply = json.loads(answer) if answer is not None else None
            if reply is not None and reply.get("ok"):
                # Answer now; the exit (CPU time for the record and the scheduler)
                # is collected in the background and the record waits for it.
                out = Outcome(True, result=reply["result"], pid=pid, cpu_s=float(reply.get("cpu", 0.0)),
                              exec_start=reply["t0"], exec_end=reply["t1"], released=released,
                              exited=answered, timings=timings, admitted=admitted)
                out.completion = asyncio.ensure_future(self._collect_exit(zygote, out, exit_fut, pidfd))
                pidfd = -1  # owned by the completion now
                return out
            status_msg = await self._await_exit(zygote, exit_fut, pidfd, grace=EXIT_GRACE_S)
            cpu = float(status_msg["cpu"])
            self.policy.report_cpu(pid, cpu, status_msg["t"])
            out = Outcome(False, pid=pid, cpu_s=cpu, released=released, exited=time.monotonic(),
                          maxrss_kb=status_msg.get("maxrss_kb", 0), ended=status_msg["t"], timings=timings,
                          admitted=admitted)
            if killed_by_timeout:
                out.reason, out.error = "timeout", f"wall-clock timeout of {self.timeout_s:g} s exceeded; killed"
                return out
            if answer is None:
                status = status_msg["status"]
                # A SIGKILL we did not send, while the tenant's OOM-kill count rose: the
                # cgroup limit (the per-invocation RLIMIT_AS shows up as MemoryError instead).
                sigkill = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
                if sigkill and group is not None and group.oom_kills() > oom_before:
                    out.reason, out.error = "oom", f"memory limit exceeded ({_describe_status(status)})"
                else:
                    out.reason, out.error = "crash", f"sandbox {_describe_status(status)} without a result"
                return out
            out.reason, out.error = reply.get("reason", "crash"), reply.get("error", "unknown error")
            return out
        finally:
            if pidfd >= 0:
                os.close(pidfd)
            if writer is not None:
                writer.close()
            else:
                host_end.close()

    async def _await_exit(self, zygote: Zygote, exit_fut: asyncio.Future, pidfd: int,
                          grace: float = 10.0) -> dict:
        """The template's exit report of a worker; a worker that lingers `grace` s is killed.

        The worker's death itself is seen on its pidfd, whatever its template
        does.  A template that has not reported a dead worker EXIT_GRACE_S
        later is stopped or wedged: it is replaced, and the exit is reported
        without its CPU time.
        """
        if not exit_fut.done():
            try:
                await _pidfd_exit(pidfd, grace)
            except SandboxError:  # still running after answering, or past its deadline
                _kill(pidfd)
                await _pidfd_exit(pidfd)
        try:
            return await asyncio.wait_for(asyncio.shield(exit_fut), EXIT_GRACE_S)
        except (asyncio.TimeoutError, SandboxError):
            if not exit_fut.done():
                exit_fut.cancel()
            self.replace(zygote, "did not report the exit of a sandbox")
            return {"status": signal.SIGKILL, "cpu": 0.0, "maxrss_kb": 0, "t": time.monotonic()}

    async def _collect_exit(self, zygote: Zygote, out: Outcome, exit_fut: asyncio.Future, pidfd: int) -> None:
        try:
            status_msg = await self._await_exit(zygote, exit_fut, pidfd)
            out.cpu_s = float(status_msg["cpu"]) or out.cpu_s
            out.maxrss_kb = status_msg.get("maxrss_kb", 0)
            out.ended = status_msg["t"]
            self.policy.report_cpu(out.pid, out.cpu_s, status_msg["t"])
        finally:
            os.close(pidfd)

    def close(self) -> None:
        for zygote in self.zygotes.values():
            zygote.close()
        self.zygotes.clear()
        self._executor.shutdown(wait=True, cancel_futures=True)


def _kill(pidfd: int) -> None:
    """SIGKILL a worker: as the init of its pid namespace, everything it started goes with it."""
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except ProcessLookupError:
        pass


async def _pidfd_exit(pidfd: int, timeout: float = 10.0) -> None:
    """Wait until the process behind `pidfd` has exited (a pidfd polls readable then); SandboxError after `timeout`."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def readable() -> None:
        if not fut.done():
            fut.set_result(None)
    loop.add_reader(pidfd, readable)
    try:
        await asyncio.wait_for(fut, timeout)
    except asyncio.TimeoutError:
        raise SandboxError(f"sandbox still running after {timeout:g} s") from None
    finally:
        loop.remove_reader(pidfd)
