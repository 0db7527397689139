"""One node of a local run: its agent, its FaaS worker, its shared lock program.

The node's agent (:class:`agent.NodeAgent`, parent group unique to this run)
owns the tenant groups; everything the node runs for a tenant lives in that
tenant's group: the tenant's fork server and every invocation it forks, and
the tenant's thread of the shared lock program.  Measured CPU comes from the
groups' kernel accounting (``cpuacct.usage`` / ``cpu.stat usage_usec``).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from agent import NodeAgent
from agent.node import plan_weights

from sharekit.process import die_with_parent

from .lockload import SharedLockProgram, thread_placement_supported
from .workload import LoadConfig, offered_cores, tenant_jobs


def node_shares(decision: dict, node: str) -> dict[str, float]:
    """Each tenant's fraction of the node, from the weights the agent writes."""
    if not decision.get(node):
        return {}
    weights = plan_weights(decision, node)
    total = sum(weights.values())
    return {t: w / total for t, w in weights.items()}


class NodeRun:
    def __init__(self, name: str, cpus: set[int], run_id: str, all_tenants: list[str], seconds: float,
                 load: LoadConfig, sfs_policy: str, locks: bool, stats_dir: Path,
                 capacity: float | None = None) -> None:
        self.name = name
        self.cpus = set(cpus)
        # CPUs' worth the node has: fewer than len(cpus) when other nodes share them
        self.capacity = float(len(self.cpus)) if capacity is None else capacity
        self.seconds = seconds
        self.load = load
        self.sfs_policy = sfs_policy
        self.agent = NodeAgent(name, parent=f"sharekit-e2e-{run_id}-{name}")
        self.all_tenants = list(all_tenants)
        self.want_locks = locks
        self.stats_dir = stats_dir
        self.shares_path = stats_dir / f"shares-{name}.json"
        self._pending: threading.Thread | None = None
        self.decision: dict = {}
        self._pending_error: BaseException | None = None
        self.version = 0
        self.tenants: list[str] = []         # tenants with a group here now
        self.lock: SharedLockProgram | None = None
        self.lock_note = ""
        self.worker: subprocess.Popen | None = None
        self.samples_cpu: list = []
        self.samples_lock: list = []
        self.lock_file_ages: list[float | None] = []   # per lock sample; None: file unreadable
        self.targets: list[tuple[float, dict[str, float]]] = []   # (time, shares) per applied decision
        self.largest_shares: dict[str, float] = {}   # each tenant's largest share here over the run
        self.records: list = []
        self.seen: dict[str, dict[int, str]] = {}   # tenant -> {pid: start time} of every process seen
        self.policy_used = ""

    # -- set-up ---------------------------------------------------------------
    def start(self, decision: dict, quiet: bool = False) -> None:
        """Apply the first decision, start the worker and the lock program (not yet running)."""
        shares = node_shares(decision, self.name)
        self._apply(decision)
        self.tenants = sorted(shares)
        self.targets.append((0.0, shares))
        spec = {"node": self.name, "cores": sorted(self.cpus), "policy": self.sfs_policy,
                "shares": str(self.shares_path), "quiet": quiet, "tenants": {t: self._tenant_spec(t, shares, 0.0) for t in self.tenants}}
        cpus = set(self.cpus)

        def worker_setup() -> None:
            die_with_parent()
            # The node's scheduler thread and fork servers stay on the node's CPUs, so one
            # node's machinery never preempts another node's functions.
            os.sched_setaffinity(0, cpus)

        self.worker = subprocess.Popen([sys.executable, "-m", "fairshare.e2e.worker"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, bufsize=1, preexec_fn=worker_setup)
        self.worker.stdin.write(json.dumps(spec) + "\n")
        if self.want_locks and self.tenants:
            if thread_placement_supported(self.agent, self.tenants[0]):
                self.lock = SharedLockProgram(self.agent, self.all_tenants, self.tenants, self.cpus,
                                              self.stats_dir / f"lockstats-{self.name}.json")
            else:
                self.lock_note = "lock share not measured: per-thread cgroup placement needs cgroup v1"

    def wait_ready(self) -> None:
        line = self.worker.stdout.readline()
        if line.strip() != "R":
            raise RuntimeError(f"node {self.name}: the FaaS worker did not start (said {line.strip()!r})")

    def go(self, t0: float) -> None:
        self.t0 = t0
        self.worker.stdin.write(json.dumps({"go": t0}) + "\n")
        if self.lock is not None:
            for tenant in self.tenants:
                self.lock.start(tenant)

    def _tenant_spec(self, tenant: str, shares: dict[str, float], since: float) -> dict:
        group = self.agent.group(tenant)
        procs = [str(d / "cgroup.procs") for d in dict.fromkeys(group.dirs.values())]
        offered = offered_cores(tenant, shares, self.capacity, self.load, self.largest_shares)
        jobs = tenant_jobs(self.name, tenant, offered, self.seconds - since, self.load)
        for job in jobs:
            job["at"] = round(job["at"] + since, 6)
        return {"procs": procs, "cpu": str(group.dirs["cpu"]), "jobs": jobs}

    def _apply(self, decision: dict) -> dict[str, int]:
        """Apply on the agent and publish what it applied, for the node's scheduler."""
        from sharekit.shares import PublishedShares, TenantShare, publish
        weights = self.agent.apply(decision)
        self.decision = decision
        total = sum(weights.values()) or 1
        self.version += 1
        tenants = {t: TenantShare(w, w / total, f"{self.agent.parent}/{t}") for t, w in weights.items()}
        version = self.agent.group(next(iter(weights))).version if weights else None
        publish(self.shares_path, PublishedShares(self.name, self.version, time.time(), tenants, version,
                                                  self.agent.parent))
        return weights

    # -- while running --------------------------------------------------------
    def apply(self, decision: dict, now: float) -> None:
        """A new decision: re-weigh at once, retire the tenants that lose this node, start new ones.

        Removing a group is slow (every process in it must be killed, exit and be reaped
        before rmdir succeeds: up to a second or more for a backlog of a hundred invocations
        on a busy machine), and NodeAgent.apply removes before it re-weighs.  So the new
        weights go first, with each leaving tenant's processes killed, and the removal
        (after the tenant's lock thread has left its group) runs on a thread while
        sampling goes on.
        """
        self.settle()
        shares = node_shares(decision, self.name)
        leaving = [t for t in self.tenants if t not in shares]
        arriving = [t for t in sorted(shares) if t not in self.tenants]
        if leaving:
            # The leavers keep their old amount (not the minimum weight): a killed process
            # still needs CPU to exit, and at weight 1 it would take seconds to get it.
            before = self.decision.get(self.name, {})
            interim = {self.name: {**decision.get(self.name, {}), **{t: before.get(t, {}) for t in leaving}}}
            self._apply(interim)
            spare = {self.lock.proc.pid} if self.lock is not None else set()
            for tenant in leaving:
                for pid in set(self.agent.group(tenant).pids()) - spare:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        self.tenants = sorted(shares)
        self.targets.append((now, shares))

        def retire_and_start() -> None:
            for tenant in leaving:
                if self.lock is not None:
                    self.lock.leave(tenant)     # before its group (and so the program) is killed
                drain(self.agent.group(tenant), self.seen.get(tenant, {}))
            self._apply(decision)
            for tenant in arriving:
                self.worker.stdin.write(json.dumps({"add": tenant, **self._tenant_spec(tenant, shares, now)}) + "\n")
                if self.lock is not None:
                    self.lock.place(tenant)
                    self.lock.start(tenant)

        if leaving:
            self._pending = threading.Thread(target=self._guard(retire_and_start), name=f"{self.name}-apply")
            self._pending.start()
        else:
            retire_and_start()

    def _guard(self, fn):
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # reported by settle() on the main thread
                self._pending_error = exc
        return run

    def settle(self) -> None:
        """Wait for a background apply to finish; re-raise what it failed with."""
        if self._pending is not None:
            self._pending.join()
            self._pending = None
        if self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            raise RuntimeError(f"node {self.name}: applying a decision failed: {error}") from error

    @property
    def busy(self) -> bool:
        return self._pending is not None and self._pending.is_alive()

    def reapply(self, decision: dict) -> None:
        """The agent's cycle: apply the current decision again (a no-op unless something drifted)."""
        if not self.busy:
            self.settle()
            self._apply(decision)

    def check(self) -> None:
        """Raise if the node's FaaS worker or lock program died during the run."""
        if self.worker is not None and self.worker.poll() is not None:
            raise RuntimeError(f"node {self.name}: the FaaS worker exited early (status {self.worker.returncode})")
        if self.lock is not None and self.lock.proc.poll() is not None:
            raise RuntimeError(f"node {self.name}: the shared lock program exited early "
                               f"(status {self.lock.proc.returncode})")

    def sample(self, now: float) -> None:
        cpu = {}
        for tenant in self.tenants:
            try:
                group = self.agent.group(tenant)
            except KeyError:
                continue                # arriving: its group comes with the background apply
            cpu[tenant] = group.usage().cpu_seconds
            seen = self.seen.setdefault(tenant, {})
            for pid in group.pids():
                if pid not in seen and not (self.lock is not None and pid == self.lock.proc.pid):
                    seen[pid] = process_start(pid)
        self.samples_cpu.append((now, cpu))
        if self.lock is not None:
            # Hold times are as of the program's snapshot, which may be older than
            # `now` when the program was kept off the CPU: place them at that time.
            stamp, hold = self.lock.snapshot()
            at = now if stamp is None else min(now, stamp - self.t0)
            if self.samples_lock:
                at = max(at, self.samples_lock[-1][0])
            self.samples_lock.append((at, {t: v for t, v in hold.items() if t in self.tenants}))
            self.lock_file_ages.append(None if stamp is None else now - at)

    # -- the end --------------------------------------------------------------
    def finish(self) -> None:
        """Stop the worker (collecting its records) and the lock program."""
        self.settle()
        if self.worker is not None and self.worker.poll() is None:
            try:
                out, _ = self.worker.communicate(json.dumps({"stop": True}) + "\n", timeout=30)
                data = json.loads(out.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"node {self.name}: the FaaS worker did not stop within 30 s") from None
            except (ValueError, IndexError):
                raise RuntimeError(f"node {self.name}: the FaaS worker ended without its records "
                                   f"(status {self.worker.returncode})") from None
            self.records = data["records"]
            self.policy_used = data["policy"]
        self.close()

    def close(self) -> None:
        """Everything down, every group removed; safe to call twice."""
        if self._pending is not None:
            self._pending.join()
            self._pending = None
        if self.lock is not None:
            self.lock.close()
            self.lock = None
        if self.worker is not None and self.worker.poll() is None:
            self.worker.kill()
            self.worker.wait()
        for tenant in self.tenants:
            try:
                drain(self.agent.group(tenant), self.seen.get(tenant, {}))
            except KeyError:
                pass
        self.agent.close()


def drain(group, members: dict[int, str], timeout_s: float = 30.0) -> None:
    """Kill everything in `group` and wait until its processes are reaped, not just dead.

    An unreaped (zombie) task still pins its cgroup, so rmdir fails with EBUSY although
    the group lists no task.  The killed invocations are orphans, reaped by init, and
    after a backlog of a hundred of them on a busy machine that takes longer than the
    second the group's own removal waits.  `members` ({pid: start time}) are the
    processes seen in the group; one is gone when no process with its pid and start
    time exists any more.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        left = [pid for pid, started in members.items() if started and process_start(pid, zombies=True) == started]
        if not left and not group.pids():
            return
        for pid in group.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def process_start(pid: int, zombies: bool = False) -> str:
    """The process's start time in clock ticks since boot ('' once it is gone, or a zombie
    unless `zombies`): with the pid, it names one process, whatever pid reuse happens later."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return ""
    return "" if fields[0] in "ZX" and not zombies else fields[19]


def node_cpus(n_nodes: int) -> list[set[int]]:
    """node i -> {CPU i} when there are enough CPUs, else every node shares all of them."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= n_nodes:
        return [{cpus[i]} for i in range(n_nodes)]
    return [set(cpus) for _ in range(n_nodes)]
