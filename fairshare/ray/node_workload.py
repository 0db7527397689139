"""The embedded e2e's node workload, run on one Ray node by its agent actor.

Ray tasks show the CPU split, but not how a node's scheduler treats short
functions nor how a shared lock is split.  For those the agent actor runs,
on its own node, exactly what one node of the embedded e2e runs
(`fairshare.e2e.node_run.NodeRun`): an SFS FaaS host with each tenant's
open-loop short/long invocations in the tenant's group, and one unmodified
lock-heavy pthread program under the interposer (cgroup weight source) with
one thread per tenant in that tenant's group.  The tenants' groups are
weighted from the node's slice of the allocator's current decision, with
the same agent code (`agent.NodeAgent`) and the same weight plan.

The figures have the embedded e2e's definitions (`fairshare.e2e.report`):
lock share = each tenant's share of the lock hold time, short p50 slowdown
= median turnaround / CPU time of its short invocations, both over the
steady window after `warmup_s`.

CPUs: a Ray node says how many CPUs it has, not which; the run uses
`cores` CPUs of this machine starting at `ordinal x cores` (modulo the
machine's CPUs), `ordinal` counting the nodes on the same machine, so nodes
of a loopback cluster spread over the cores instead of all starting on CPU
0.  When the machine's nodes together claim more CPUs than it has (three
one-CPU nodes on two cores), a CPU shared by k nodes gives each 1/k of it,
and each tenant's offered load is scaled to what its node really has: the
workload's overload is relative to the node's CPU, and offering it against
a whole core on a shared one tripled the overload there, so a small tenant's
short invocations queued behind its own long ones for longer than the
measurement window (seen as a missing short-task slowdown).
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

from ..e2e.node_run import NodeRun
from ..e2e.report import phases
from ..e2e.run import RunConfig, RunResult, sweep_stale
from ..e2e.workload import LoadConfig


def node_cpu_set(ordinal: int, cores: int) -> set[int]:
    cpus = sorted(os.sched_getaffinity(0))
    cores = max(1, min(cores, len(cpus)))
    return {cpus[(ordinal * cores + i) % len(cpus)] for i in range(cores)}


def node_capacity(ordinal: int, cores: int, peers: int) -> float:
    """CPUs' worth node `ordinal` of `peers` nodes of `cores` CPUs each on this machine
    has: each CPU is split evenly among the nodes whose CPU sets hold it."""
    if not 0 <= ordinal < peers:
        raise ValueError(f"need 0 <= ordinal < peers, got ordinal={ordinal}, peers={peers}")
    sets = [node_cpu_set(i, cores) for i in range(peers)]
    return sum(1.0 / sum(cpu in s for s in sets) for cpu in sets[ordinal])


def run_node_workload(name: str, tenants: Mapping[str, Mapping[str, float]], ordinal: int, cores: int,
                      seconds: float, peers: int = 1, warmup_s: float = 2.0, interval_s: float = 0.25,
                      sfs_policy: str = "sfs-tenant", locks: bool = True,
                      overload: float = 1.5) -> dict[str, Any]:
    """Run the node workload for `seconds` with the tenants that get CPU in `tenants`
    ({tenant: {resource: amount}}, the node's slice), as node `ordinal` of the `peers`
    nodes on this machine; the embedded e2e's rows."""
    if not seconds > warmup_s >= 0:
        raise ValueError(f"need seconds > warmup_s >= 0, got seconds={seconds}, warmup_s={warmup_s}")
    present = {t: dict(r) for t, r in tenants.items() if float(r.get("cpu", 0.0)) > 0}
    if not present:
        return {"node": name, "tenants": [], "note": "no tenant has CPU on this node"}
    decision = {name: present}
    config = RunConfig(seconds=seconds, sfs_policy=sfs_policy, interval_s=interval_s, cycle_s=1.0,
                       warmup_s=warmup_s, locks=locks, load=LoadConfig(overload=overload))
    sweep_stale()
    with tempfile.TemporaryDirectory(prefix="sharekit-e2e-") as tmp:
        node = NodeRun(name, node_cpu_set(ordinal, cores), str(os.getpid()), sorted(present), seconds,
                       config.load, sfs_policy, locks, Path(tmp), capacity=node_capacity(ordinal, cores, peers))
        try:
            node.start(decision, quiet=True)
            node.wait_ready()
            t0 = time.monotonic() + 0.05
            node.go(t0)
            step = 0
            while True:
                step += 1
                time.sleep(max(0.0, t0 + step * interval_s - time.monotonic()))
                now = time.monotonic() - t0
                node.check()
                node.sample(now)
                if now >= seconds:
                    break
            node.finish()
        finally:
            node.close()
    run = RunResult(config, [node], [], [(0.0, decision)])
    rows = phases(node, run)[0].rows if node.targets else []
    out = {"node": name, "tenants": [row.to_json() for row in rows], "sfs_policy": node.policy_used}
    if node.lock_note:
        out["note"] = node.lock_note
    if node.samples_lock and any(row["measured_lock_share"] is None for row in out["tenants"]):
        # No lock share although the lock program ran: keep what was read, to tell a
        # statistics file that stopped being rewritten from lock threads that stopped.
        out["lock_samples"] = [{"t": round(t, 3), "hold_s": {k: round(v, 6) for k, v in hold.items()},
                                "file_age_s": None if age is None else round(age, 3)}
                               for (t, hold), age in zip(node.samples_lock, node.lock_file_ages)]
    return out
