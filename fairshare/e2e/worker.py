"""One node's FaaS side: per-tenant fork servers feeding one SFS scheduler.

Run as ``python -m fairshare.e2e.worker`` by the node run, which writes one
JSON line on stdin::

    {"node": "node0", "cores": [0], "policy": "sfs-tenant", "shares": "<published shares file>",
     "quiet": false,
     "tenants": {"alice": {"procs": [".../cgroup.procs", ...],
                           "jobs": [{"i": 0, "at": 0.01, "burn": 0.01}, ...]}}}

Each tenant gets its own fork server (:mod:`sfs.forkserver`), moved into the
tenant's cgroup before it forks anything: every invocation it forks is born
in that group, so there is no window in which a function runs outside it and
nothing has to be moved on the arrival path (a v1 cgroup move can take
milliseconds).  The SFS scheduler, confined to the node's cores, admits each
pid as its fork server reports it.

Then it answers ``R`` and waits for ``{"go": t0}``.  Later lines:
``{"add": tenant, "procs": [...], "jobs": [...]}`` starts a tenant that
arrived (job times still count from t0).  A fork server that dies (its
tenant left: the agent removed the group and everything in it) is dropped,
and the others carry on.  ``{"stop": true}``, or end of input, ends the run: it prints one JSON line of completed invocations
``{"records": [[tenant, service_s, arrival_s, end_s, cpu_s], ...]}`` (times
relative to t0) and exits.
"""
from __future__ import annotations

import ctypes
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from sfs.scheduler import Scheduler, SchedulerConfig
from workloads.invocation import Invocation

FORKSERVER_PRIORITY = 45
MAIN_PRIORITY = 30   # above the functions, so this thread never holds the GIL while starved
FALLBACK_POLICY = "sfs"


def choose_policy(wanted: str, shares_path: str | None, quiet: bool = False):
    """(what to hand the Scheduler, its name): `wanted` looked up by name at run time, else
    plain SFS with a note on stderr.  A tenant-aware policy follows the node's published
    shares file, so a new decision reaches it without a restart."""
    try:
        from sfs import policies          # the policy registry, where the scheduler has one
    except ImportError:
        policies = None
    if policies is not None:
        try:
            entry = policies.info(wanted)
        except ValueError:
            entry = None
        if entry is not None and not entry.simulated:
            if entry.tenant_aware:
                from sfs.policies.sfs_tenant import PublishedShares
                return policies.make_policy(wanted, shares=PublishedShares(shares_path)), wanted
            return policies.make_policy(wanted), wanted
    else:
        from sfs.scheduler import POLICIES
        if wanted in POLICIES:
            return wanted, wanted
    if not quiet:
        print(f"note: SFS policy {wanted!r} is not available here; using {FALLBACK_POLICY!r} "
              "(FIFO time is then not split by tenant share)", file=sys.stderr, flush=True)
    return FALLBACK_POLICY, FALLBACK_POLICY


def cpu_placement(cpu_dirs: dict[str, str]):
    """The scheduler's CPU placement hook where the kit has one, else None.

    On cgroup v1 with RT group scheduling, a task can be SCHED_FIFO only in a cpu group
    with an RT budget.  Where the kit keeps tenant cpu groups without one, a promoted
    invocation must sit in the cpu root and join its tenant's cpu group when demoted;
    the placement hook does those moves.  The fork servers (SCHED_FIFO) then stay in
    the cpu root and put each invocation into its tenant's cpu group as it is born, so
    it is weighed by its tenant's share while it waits; cpuacct and memory are per
    tenant from birth.  Returns (hook, whether the fork servers may enter the tenant's
    cpu group).
    """
    try:
        from sharekit.cgroups import backend_for
        from sharekit.cgroups.placement import CpuPlacement, moves_needed
    except ImportError:
        return None, True          # tenant cpu groups carry their own RT budget
    backend = backend_for()
    hook = CpuPlacement(backend, lambda tenant: Path(cpu_dirs[tenant]))
    return hook, not moves_needed(backend)


class _TenantFeed:
    """One tenant's fork server and the bookkeeping of its output."""

    def __init__(self, tenant: str, spec: dict, cores: list[int], priority: int, into_cpu_group: bool) -> None:
        self.tenant = tenant
        self.jobs = spec["jobs"]
        self.invocations = [Invocation(f"{tenant}-{job['i']}", "burn", tenant, job["at"], job["burn"])
                            for job in self.jobs]
        self.pending = b""
        self.server = subprocess.Popen([sys.executable, "-m", "sfs.forkserver"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, bufsize=0, close_fds=True)
        for procs in spec["procs"]:
            if into_cpu_group or Path(procs).parent != Path(spec["cpu"]):
                with open(procs, "w") as f:
                    f.write(str(self.server.pid))
        settings = {"cores": cores, "priority": priority}
        if not into_cpu_group:   # the fork server stays in the cpu root, its invocations do not
            settings["child_cpu_cgroup"] = spec["cpu"]
        lines = [json.dumps(settings)]
        lines += [json.dumps(job) for job in self.jobs]
        lines.append(json.dumps({"end": True}))
        self.server.stdin.write(("\n".join(lines) + "\n").encode())

    def wait_ready(self) -> None:
        ready = self.server.stdout.readline()
        if ready.strip() != b"R":
            raise RuntimeError(f"the fork server of {self.tenant} did not start (said {ready!r})")
        os.set_blocking(self.server.stdout.fileno(), False)

    def go(self, t0: float) -> None:
        self.server.stdin.write((json.dumps({"go": t0}) + "\n").encode())
        self.server.stdin.close()

    def close(self) -> None:
        if self.server.poll() is None:
            self.server.kill()
        self.server.wait()
        self.server.stdout.close()


_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Orphaned invocations (their fork server was killed) become our children, not init's."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap(servers: dict[int, subprocess.Popen], until_none_left_s: float = 0.0) -> None:
    """Reap exited children: the fork servers through their Popen, orphans directly.

    A zombie still pins its cgroup (rmdir says EBUSY), and this machine's init reaps
    orphans only every few seconds, so a tenant's group could not be removed promptly
    after the tenant left.  With `until_none_left_s`, wait up to that long for every
    child to be gone.
    """
    deadline = time.monotonic() + until_none_left_s
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.01)
            continue
        if info.si_pid in servers:
            servers[info.si_pid].poll()
        else:
            try:
                os.waitpid(info.si_pid, 0)
            except ChildProcessError:
                pass


def _read_commands(commands: "queue.Queue[dict]") -> None:
    for line in sys.stdin:
        if line.strip():
            commands.put(json.loads(line))
    commands.put({"stop": True})


def main() -> int:
    become_subreaper()
    spec = json.loads(sys.stdin.readline())
    cores = [int(c) for c in spec["cores"]]
    policy, policy_name = choose_policy(spec.get("policy", FALLBACK_POLICY), spec.get("shares"),
                                        quiet=spec.get("quiet", False))
    records: list = []
    cpu_dirs = {t: ts["cpu"] for t, ts in spec["tenants"].items()}
    placement, into_cpu_group = cpu_placement(cpu_dirs)
    extra = {"placement": placement} if placement is not None else {}
    scheduler = Scheduler(policy, cores, SchedulerConfig(), on_complete=records.append, **extra)
    realtime = scheduler.realtime
    feeds: dict[int, _TenantFeed] = {}
    old_policy = os.sched_getscheduler(0)
    t0 = 0.0
    try:
        scheduler.start()
        for tenant, tenant_spec in spec["tenants"].items():
            feed = _TenantFeed(tenant, tenant_spec, cores, FORKSERVER_PRIORITY if realtime else 0,
                               into_cpu_group)
            feeds[feed.server.stdout.fileno()] = feed
        for feed in feeds.values():
            feed.wait_ready()
        if realtime:
            os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(MAIN_PRIORITY))

        poller = select.epoll()

        def on_output(fd: int) -> bool:
            """Admit each forked pid, pass on rusage CPU times; False at end of output."""
            feed = feeds[fd]
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            feed.pending += chunk
            *lines, feed.pending = feed.pending.split(b"\n")
            for line in lines:
                parts = line.split()
                if parts and parts[0] == b"S":
                    inv = feed.invocations[int(parts[1])]
                    scheduler.admit(int(parts[2]), inv, arrival=t0 + inv.arrival_s, cpu_report=True)
                elif parts and parts[0] == b"E":
                    scheduler.report_cpu(int(parts[2]), float(parts[3]), float(parts[4]))
            return True

        def start_feed(feed: _TenantFeed) -> None:
            fd = feed.server.stdout.fileno()
            feeds[fd] = feed
            poller.register(fd, select.EPOLLIN)
            feed.go(t0)

        sys.stdout.write("R\n")
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line.strip():
            return 1
        t0 = float(json.loads(line)["go"])
        for feed in list(feeds.values()):
            start_feed(feed)
        commands: queue.Queue = queue.Queue()
        threading.Thread(target=_read_commands, args=(commands,), daemon=True).start()
        # This thread reads the fork servers (at MAIN_PRIORITY, above the functions, so an
        # arrival is admitted at once even when functions hold the core under FIFO).
        while True:
            error = getattr(scheduler, "error", None)
            if error is not None:
                raise RuntimeError("the scheduler failed") from error
            for fd, _ in poller.poll(0.05):
                if not on_output(fd):
                    poller.unregister(fd)
            reap({feed.server.pid: feed.server for feed in list(feeds.values())})
            try:
                command = commands.get_nowait()
            except queue.Empty:
                continue
            if "add" not in command:
                break
            cpu_dirs[command["add"]] = command["cpu"]
            feed = _TenantFeed(command["add"], command, cores, FORKSERVER_PRIORITY if realtime else 0,
                               into_cpu_group)
            feed.wait_ready()
            start_feed(feed)
    finally:
        for feed in feeds.values():
            feed.close()
        scheduler.stop()
        if placement is not None:
            placement.close()
        reap({}, until_none_left_s=10.0)
        if realtime and old_policy == os.SCHED_OTHER:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    services = {feed.invocations[k].id: feed.invocations[k].duration_s
                for feed in feeds.values() for k in range(len(feed.invocations))}
    out = [[r.tenant, services.get(r.invocation_id, 0.0), r.arrival_s - t0, r.end_s - t0, r.cpu_s]
           for r in list(records) if r.invocation_id in services]
    sys.stdout.write(json.dumps({"policy": policy_name, "records": out}) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
