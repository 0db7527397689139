"""One node of a local run: its agent, its FaaS worker, its shared lock program.

The node's agent (:class:`agent.NodeAgent`, parent group unique to this run)
owns the tenant groups; everything the node runs for a tenant lives in that
tenant's group: the tenant's fork server and every invocation it forks, and
the tenant's thread of the shared lock program.  Measured CPU comes from the
groups' kernel accounting (``cpuacct.usage`` / ``cpu.stat usage_usec``).
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agent import NodeAgent
from agent.node import plan_weights

from .lockload import SharedLockProgram, thread_placement_supported
from .workload import LoadConfig, offered_cores, tenant_jobs


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG


def node_shares(decision: dict, node: str) -> dict[str, float]:
    """Each tenant's fraction of the node, from the weights the agent writes."""
    if not decision.get(node):
        return {}
    weights = plan_weights(decision, node)
    total = sum(weights.values())
    return {t: w / total for t, w in weights.items()}


class NodeRun:
    def __init__(self, name: str, cpus: set[int], run_id: str, all_tenants: list[str], seconds: float,
                 load: LoadConfig, sfs_policy: str, locks: bool, stats_dir: Path) -> None:
        self.name = name
        self.cpus = set(cpus)
        self.seconds = seconds
        self.load = load
        self.sfs_policy = sfs_policy
        self.agent = NodeAgent(name, parent=f"sharekit-e2e-{run_id}-{name}")
        self.all_tenants = list(all_tenants)
        self.want_locks = locks
        self.stats_dir = stats_dir
        self.shares_path = stats_dir / f"shares-{name}.json"
        self.version = 0
        self.tenants: list[str] = []         # tenants with a group here now
        self.lock: SharedLockProgram | None = None
        self.lock_note = ""
        self.worker: subprocess.Popen | None = None
        self.samples_cpu: list = []
        self.samples_lock: list = []
        self.targets: list[tuple[float, dict[str, float]]] = []   # (time, shares) per applied decision
        self.records: list = []
        self.seen: dict[int, str] = {}      # pid -> start time, of every process seen in a tenant group
        self.policy_used = ""

    # -- set-up ---------------------------------------------------------------
    def start(self, decision: dict) -> None:
        """Apply the first decision, start the worker and the lock program (not yet running)."""
        shares = node_shares(decision, self.name)
        self._apply(decision)
        self.tenants = sorted(shares)
        self.targets.append((0.0, shares))
        spec = {"node": self.name, "cores": sorted(self.cpus), "policy": self.sfs_policy,
                "shares": str(self.shares_path), "tenants": {t: self._tenant_spec(t, shares, 0.0) for t in self.tenants}}
        self.worker = subprocess.Popen([sys.executable, "-m", "fairshare.e2e.worker"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, bufsize=1,
                                       preexec_fn=_die_with_parent)
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
        offered = offered_cores(shares, len(self.cpus), self.load)
        jobs = tenant_jobs(self.name, tenant, offered, self.seconds - since, self.load)
        for job in jobs:
            job["at"] = round(job["at"] + since, 6)
        return {"procs": procs, "jobs": jobs}

    def _apply(self, decision: dict) -> dict[str, int]:
        """Apply on the agent and publish what it applied, for the node's scheduler."""
        from sharekit.shares import PublishedShares, TenantShare, publish
        weights = self.agent.apply(decision)
        total = sum(weights.values()) or 1
        self.version += 1
        tenants = {t: TenantShare(w, w / total, f"{self.agent.parent}/{t}") for t, w in weights.items()}
        version = self.agent.group(next(iter(weights))).version if weights else None
        publish(self.shares_path, PublishedShares(self.name, self.version, time.time(), tenants, version,
                                                  self.agent.parent))
        return weights

    # -- while running --------------------------------------------------------
    def apply(self, decision: dict, now: float) -> None:
        """A new decision: stop the tenants that lose this node, re-weigh, start the new ones."""
        shares = node_shares(decision, self.name)
        leaving = [t for t in self.tenants if t not in shares]
        arriving = [t for t in sorted(shares) if t not in self.tenants]
        for tenant in leaving:
            if self.lock is not None:
                self.lock.leave(tenant)     # before its group (and so the program) is killed
        self._apply(decision)
        self.tenants = sorted(shares)
        self.targets.append((now, shares))
        for tenant in arriving:
            self.worker.stdin.write(json.dumps({"add": tenant, **self._tenant_spec(tenant, shares, now)}) + "\n")
            if self.lock is not None:
                self.lock.place(tenant)
                self.lock.start(tenant)

    def sample(self, now: float) -> None:
        cpu = {}
        for tenant in self.tenants:
            group = self.agent.group(tenant)
            cpu[tenant] = group.usage().cpu_seconds
            for pid in group.pids():
                if pid not in self.seen:
                    self.seen[pid] = process_start(pid)
        self.samples_cpu.append((now, cpu))
        if self.lock is not None:
            hold = self.lock.hold_seconds()
            self.samples_lock.append((now, {t: v for t, v in hold.items() if t in self.tenants}))

    # -- the end --------------------------------------------------------------
    def finish(self) -> None:
        """Stop the worker (collecting its records) and the lock program."""
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
        if self.lock is not None:
            self.lock.close()
            self.lock = None
        if self.worker is not None and self.worker.poll() is None:
            self.worker.kill()
            self.worker.wait()
        self.agent.close()


def process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot ('' once it is gone or a zombie):
    with the pid, it names one process, whatever pid reuse happens later."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return ""
    return "" if fields[0] in "ZX" else fields[19]


def node_cpus(n_nodes: int) -> list[set[int]]:
    """node i -> {CPU i} when there are enough CPUs, else every node shares all of them."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= n_nodes:
        return [{cpus[i]} for i in range(n_nodes)]
    return [set(cpus) for _ in range(n_nodes)]
