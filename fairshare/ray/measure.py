"""Running tenants' work on a Ray cluster and measuring who got what.

`e2e()` is the acceptance measurement on Ray: every tenant keeps CPU-bound
tasks waiting (overload), the allocator places them, and each node's share
per tenant is read from the kernel's cgroup accounting (cpuacct.usage or
cpu.stat usage_usec of the tenant groups the node agents own), never from
the kit's own bookkeeping.  `status()` reads the same from a separate
process: the agents are named actors, so any driver can find them.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable

from ..model import Framework, Problem
from .controller import Controller, find_agents

DEFAULT_TENANTS = (("alice", 1.0), ("bob", 2.0), ("carol", 3.0))


def connect(address: str | None):
    """Join the cluster at `address` (host:port) as a driver; returns the ray module."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray
    if not ray.is_initialized():
        ray.init(address=address, namespace="sharekit", log_to_driver=False, logging_level="WARNING")
    return ray


def spin(cpu_seconds: float) -> float:
    """CPU-bound task body: burn `cpu_seconds` of this thread's CPU time."""
    end = time.thread_time() + cpu_seconds
    x = 0
    while time.thread_time() < end:
        for _ in range(2000):
            x += 1
    return cpu_seconds


def default_problem_tenants(task_cpu: float) -> list[Framework]:
    return [Framework(name, {"cpu": task_cpu}, weight) for name, weight in DEFAULT_TENANTS]


def _shares(amounts: dict[str, float]) -> dict[str, float]:
    total = sum(amounts.values())
    return {t: (v / total if total > 0 else 0.0) for t, v in amounts.items()}


def measure_nodes(before: dict, after: dict, decision: dict,
                  server_of: Callable[[str], str] = lambda n: n) -> list[dict]:
    """Per node: allocated vs measured CPU share from two agent state samples."""
    nodes = []
    for nid in sorted(after, key=server_of):
        a, b = after[nid], before.get(nid)
        if "error" in a or b is None or "error" in b:
            continue
        used = {t: max(0.0, a["cpu_seconds"].get(t, 0.0) - b["cpu_seconds"].get(t, 0.0))
                for t in a["cpu_seconds"]}
        allocated = _shares({t: float(r.get("cpu", 0.0)) for t, r in decision.get(nid, {}).items()})
        measured = _shares(used)
        tenants = [{"tenant": t, "allocated_share": round(allocated.get(t, 0.0), 4),
                    "measured_cpu_share": round(measured.get(t, 0.0), 4),
                    "measured_lock_share": None, "short_p50_slowdown": None}
                   for t in sorted(set(allocated) | set(used))
                   if allocated.get(t, 0.0) > 0 or measured.get(t, 0.0) > 0.005]
        nodes.append({"node": server_of(nid), "tenants": tenants})
    return nodes


def _all_started(kit: Controller) -> bool:
    """Has every tenant used CPU in its group on every node that allocates it CPU?"""
    decision = kit.snapshot()["decision"]
    states = kit.agent_states()
    for nid, tenants in decision.items():
        used = states.get(nid, {}).get("cpu_seconds", {})
        if any(r.get("cpu", 0.0) > 0 and used.get(t, 0.0) <= 0 for t, r in tenants.items()):
            return False
    return True


class Workload:
    """Keeps `backlog` CPU-bound tasks waiting per tenant (overload) until stopped."""

    def __init__(self, kit: Controller, tenants: list[str], task_seconds: float, backlog: int):
        self.kit, self.tenants, self.task_seconds, self.backlog = kit, tenants, task_seconds, backlog
        self.handles: dict[str, list] = {t: [] for t in tenants}

    def top_up(self) -> None:
        for t in self.tenants:
            live = [h for h in self.handles[t] if not h.done()]
            for h in self.handles[t]:
                if h.done() and not h.cancelled() and h.exception() is not None:
                    raise RuntimeError(f"a task of tenant {t!r} failed: {h.exception()}")
            self.handles[t] = live
            for _ in range(self.backlog - len(live)):
                self.handles[t].append(self.kit.submit(t, spin, self.task_seconds))

    def run_for(self, seconds: float, every: float = 0.05, on_tick: Callable[[], None] | None = None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.top_up()
            if on_tick is not None:
                on_tick()
            time.sleep(every)

    def drain(self, timeout: float = 60.0) -> None:
        for t in self.tenants:
            self.kit.depart(t)
        deadline = time.monotonic() + timeout
        for hs in self.handles.values():
            for h in hs:
                if not h.cancelled():
                    h.exception(timeout=max(0.1, deadline - time.monotonic()))


def e2e(address: str | None = None, problem: Problem | None = None, seconds: float = 6.0,
        warmup: float = 4.0, cycle_s: float = 1.0, task_cpu: float = 0.25, task_seconds: float = 0.2,
        policy: str = "drf", on_cycle: Callable[[dict], None] | None = None,
        keep_agents: bool = False, warmup_limit: float = 120.0,
        node_seconds: float = 8.0, node_options: dict | None = None) -> dict[str, Any]:
    """Measure allocated vs measured CPU share per node and tenant with Ray tasks,
    then (unless `node_seconds` is 0) run the embedded e2e's node workload on
    every node for the lock share and the short-task slowdown; the embedded
    e2e's JSON."""
    ray = connect(address)
    if problem is None:
        frameworks = default_problem_tenants(task_cpu)
    else:
        frameworks = list(problem.frameworks)
        if "cpu" not in problem.resources:
            raise ValueError("the problem file must declare a 'cpu' resource for tasks on Ray")
    # depth 1: exactly the allocated tasks are in flight, so Ray's node runs
    # each tenant's allocated number of tasks at once (with deeper pipelines
    # Ray's own queue order decides who runs, and a tenant may not run at all).
    kit = Controller(problem, policy=policy, cycle_s=cycle_s, stop_agents=not keep_agents, depth=1)
    try:
        for f in frameworks:
            kit.register(f.name, f.weight, dict(f.demand))
        alive = sum(1 for n in ray.nodes() if n.get("Alive"))
        kit.wait_ready(alive if problem is None else min(alive, problem.n_servers), timeout=120)
        slots = sum(n["Resources"].get("CPU", 0.0) for n in ray.nodes() if n.get("Alive"))
        backlog = max(4, int(2 * slots / min(float(f.demand.get("cpu", 1.0)) or 1.0 for f in frameworks)))
        work = Workload(kit, [f.name for f in frameworks], task_seconds, backlog)
        last_version = [-1]

        def tick():
            snap = kit.snapshot()
            acked = all(n["acked_version"] == snap["version"] for n in snap["nodes"].values())
            if on_cycle is not None and acked and snap["version"] != last_version[0]:
                last_version[0] = snap["version"]
                on_cycle(snap)
        # Warm-up: Ray starts a node's workers one at a time, so wait until every
        # tenant has run on every node that allocates it something.
        work.run_for(warmup, on_tick=tick)
        deadline = time.monotonic() + warmup_limit
        while not _all_started(kit) and time.monotonic() < deadline:
            work.run_for(0.5, on_tick=tick)
        before = kit.agent_states()
        version = kit.snapshot()["version"]
        work.run_for(seconds, on_tick=tick)
        after = kit.agent_states()
        snap = kit.snapshot()
        work.drain()
        by_node = node_workloads(kit, snap, node_seconds, **(node_options or {})) if node_seconds > 0 else {}
    finally:
        kit.close()
    servers = {nid: info["server"] for nid, info in snap["nodes"].items()}
    result = {"nodes": measure_nodes(before, after, snap["decision"], lambda n: servers.get(n, n))}
    nid_of = {servers.get(n, n): n for n in after}
    for entry in result["nodes"]:
        merge_node_workload(entry, by_node.get(nid_of[entry["node"]]))
    if snap["version"] != version:
        result["note"] = f"the decision changed during the measurement (v{version} -> v{snap['version']})"
    return result


def node_workloads(kit: Controller, snap: dict, seconds: float, timeout: float = 120.0,
                   **options) -> dict[str, dict]:
    """Run the embedded e2e's node workload on every node at once, each with its
    slice of `snap`'s decision, started by the node's agent actor; rows per node id.
    Nodes at one address share a machine: each learns its place among them, so
    they spread over the machine's CPUs and load only what they get of them."""
    ray = kit._ray
    agents = find_agents(ray)
    order = sorted(snap["nodes"], key=lambda n: snap["nodes"][n]["server"])
    machines: dict[str, list[str]] = {}
    for nid in order:
        machines.setdefault(snap["nodes"][nid].get("address", ""), []).append(nid)
    started = {}
    for nid in order:
        if nid in agents:
            peers = machines[snap["nodes"][nid].get("address", "")]
            started[nid] = agents[nid].start_node_workload.remote(snap["decision"].get(nid, {}), peers.index(nid),
                                                                  seconds, len(peers), **options)
    for nid, ref in started.items():
        ray.get(ref, timeout=60)
    out: dict[str, dict] = {}
    deadline = time.monotonic() + seconds + timeout
    while len(out) < len(started):
        if time.monotonic() > deadline:
            raise TimeoutError(f"node workloads did not finish within {seconds + timeout:.0f} s")
        time.sleep(0.5)
        for nid in set(started) - set(out):
            result = ray.get(agents[nid].node_workload_result.remote(), timeout=30)
            if result is not None:
                out[nid] = result
    return out


def merge_node_workload(entry: dict, workload: dict | None) -> None:
    """Fill a node entry's lock share and short-task slowdown from its node workload."""
    if workload is None:
        return
    if "error" in workload:
        entry["note"] = f"node workload failed: {workload['error']}"
        return
    rows = {row["tenant"]: row for row in workload["tenants"]}
    for tenant in entry["tenants"]:
        row = rows.get(tenant["tenant"])
        if row is not None:
            tenant["measured_lock_share"] = row["measured_lock_share"]
            tenant["short_p50_slowdown"] = row["short_p50_slowdown"]
            tenant["node_workload_cpu_share"] = row["measured_cpu_share"]
    if "note" in workload:
        entry["note"] = workload["note"]


def status(address: str | None = None, interval: float = 1.0) -> dict[str, Any]:
    """Each node agent's decision, applied weights and measured shares over `interval` seconds."""
    ray = connect(address)
    agents = find_agents(ray)
    before = {nid: ray.get(a.state.remote(), timeout=30) for nid, a in agents.items()}
    time.sleep(interval)
    after = {nid: ray.get(a.state.remote(), timeout=30) for nid, a in agents.items()}
    nodes = []
    for nid in sorted(after):
        a = after[nid]
        decision = {nid: a["decision"]}
        measured = {e["tenant"]: e for e in measure_nodes(before, {nid: a}, decision)[0]["tenants"]} \
            if nid in before else {}
        nodes.append({"node": nid, "version": a["version"], "orphaned": a["orphaned"],
                      "head_silent_s": round(a["head_silent_s"], 3), "cgroup_version": a["cgroup_version"],
                      "parent": a["parent"],
                      "tenants": [{"tenant": t, "allocated": a["decision"].get(t, {}),
                                   "weight": w,
                                   "allocated_share": measured.get(t, {}).get("allocated_share"),
                                   "measured_cpu_share": measured.get(t, {}).get("measured_cpu_share", 0.0)}
                                  for t, w in sorted(a["weights"].items())]})
    return {"nodes": nodes, "interval_s": interval}
