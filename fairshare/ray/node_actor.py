"""The node agent as a Ray actor: one per Ray node, pinned to it.

The actor runs `agent.NodeAgent`, the same code the embedded default runs
on a single machine: only the launcher differs.  It is detached and named
(``sharekit-agent-<node id>`` in the ``sharekit`` namespace), so it outlives
the driver that runs the allocator: when that driver (the head of the
allocation) dies, the agent keeps enforcing the last decision it got, and
after `head_timeout_s` without hearing from any allocator it restores the
default weight (100) for every tenant, so no stale decision outlives its
author for long.  A new allocator finds the agents by name and takes over.

Locking: Ray runs the actor's methods one at a time on its main thread, but
the watchdog is a second thread, so every use of the NodeAgent and of the
bookkeeping below holds `_lock`.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any

from agent import NodeAgent
from agent.node import DEFAULT_WEIGHT
from sharekit import shares
from sharekit.cgroups import detect_version, remove_empty_parent

NAMESPACE = "sharekit"
NAME_PREFIX = "sharekit-agent-"


def actor_name(node_id: str) -> str:
    return NAME_PREFIX + node_id


class NodeAgentActor:
    def __init__(self, node_id: str, parent: str, head_timeout_s: float = 10.0,
                 publish: bool = True):
        self.node_id = node_id
        self.parent = parent
        self.head_timeout_s = float(head_timeout_s)
        self.agent = NodeAgent(node_id, parent=parent)
        self.cgroup_version = detect_version()
        self.version = -1                    # decision version last applied
        self.decision: dict[str, dict[str, float]] = {}
        self.applied_at = 0.0
        self.last_contact = time.monotonic()
        self.orphaned = False                # default weights restored after the head went quiet
        self.apply_seconds = 0.0
        self._publish_path = shares.default_path(node_id) if publish else None
        self._lock = threading.Lock()
        self._workload: threading.Thread | None = None
        self._workload_result: dict | None = None
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="head-watchdog", daemon=True)
        self._watchdog.start()

    # -- called by the allocator ------------------------------------------------
    def apply(self, version: int, tenants: dict[str, dict[str, float]]) -> dict[str, Any]:
        """Apply this node's slice of decision `version`; doubles as the heartbeat."""
        with self._lock:
            self.last_contact = time.monotonic()
            if tenants == self.decision and not self.orphaned:
                # Unchanged slice (versions of an earlier allocator may repeat): a heartbeat.
                self.version = version
                return {"version": version, "weights": self.agent.weights(), "apply_seconds": 0.0}
            start = time.perf_counter()
            weights = self.agent.apply({self.node_id: tenants})
            self.apply_seconds = time.perf_counter() - start
            self.version, self.decision, self.orphaned = version, tenants, False
            self.applied_at = time.time()
            self._publish(weights)
            return {"version": version, "weights": weights, "apply_seconds": self.apply_seconds}

    def set_head_timeout(self, seconds: float) -> None:
        with self._lock:
            self.head_timeout_s = float(seconds)
            self.last_contact = time.monotonic()

    def state(self) -> dict[str, Any]:
        with self._lock:
            usage = {}
            for tenant in self.agent.weights():
                usage[tenant] = self.agent.group(tenant).usage().cpu_seconds
            import ray
            return {"node": self.node_id, "runs_on": ray.get_runtime_context().get_node_id(),
                    "parent": self.parent, "pid": os.getpid(),
                    "cgroup_version": self.cgroup_version, "version": self.version,
                    "decision": self.decision, "weights": self.agent.weights(), "cpu_seconds": usage,
                    "applied_at": self.applied_at, "apply_seconds": self.apply_seconds,
                    "head_silent_s": time.monotonic() - self.last_contact,
                    "head_timeout_s": self.head_timeout_s, "orphaned": self.orphaned,
                    "time": time.time()}

    def start_node_workload(self, tenants: dict[str, dict[str, float]], ordinal: int, seconds: float,
                            peers: int = 1, **options) -> bool:
        """Start the embedded e2e's node workload (SFS invocations and the shared
        lock program, see node_workload.py) for this node's slice `tenants`, on
        a thread: the actor keeps answering the allocator meanwhile.  `ordinal`:
        this node's place among the `peers` nodes on its machine."""
        from .node_workload import run_node_workload
        with self._lock:
            if self._workload is not None and self._workload.is_alive():
                raise RuntimeError("a node workload already runs on this node")
            cores = max(1, round(float(self._ray_cpus())))
            self._workload_result = None

            def work():
                try:
                    result = run_node_workload(self.node_id[:16], tenants, ordinal, cores, seconds, peers,
                                               **options)
                except BaseException as exc:  # reported by node_workload_result()
                    result = {"error": f"{type(exc).__name__}: {exc}"}
                self._workload_result = result
            self._workload = threading.Thread(target=work, name="node-workload", daemon=True)
            self._workload.start()
        return True

    def node_workload_result(self) -> dict | None:
        """The workload's rows once it finished (None while it runs)."""
        if self._workload is None or self._workload.is_alive():
            return None
        return self._workload_result

    def _ray_cpus(self) -> float:
        import ray
        nid = ray.get_runtime_context().get_node_id()
        return next((n["Resources"].get("CPU", 1.0) for n in ray.nodes() if n["NodeID"] == nid), 1.0)

    def shutdown(self) -> bool:
        """Remove every tenant group and the published file; the caller then kills the actor."""
        self._stop.set()
        if self._workload is not None:
            self._workload.join()      # it removes its own groups and processes when it ends
        with self._lock:
            self.agent.close()
            remove_empty_parent(self.parent)
            if self._publish_path is not None:
                try:
                    self._publish_path.unlink()
                except FileNotFoundError:
                    pass
        return True

    # -- internals --------------------------------------------------------------
    def _publish(self, weights: dict[str, int]) -> None:
        if self._publish_path is None:
            return
        total = 0.0 if self.orphaned else sum(float(r.get("cpu", 0.0)) for r in self.decision.values())
        entries = {t: shares.TenantShare(w, (float(self.decision.get(t, {}).get("cpu", 0.0)) / total
                                             if total > 0 else 1.0 / len(weights)),
                                         f"{self.parent}/{t}")
                   for t, w in weights.items()}
        shares.publish(self._publish_path, shares.PublishedShares(
            self.node_id, max(0, self.version), time.time(), entries, self.cgroup_version, self.parent))

    def _watch(self) -> None:
        while not self._stop.wait(min(1.0, max(0.05, self.head_timeout_s / 4))):
            with self._lock:
                if self.orphaned or time.monotonic() - self.last_contact < self.head_timeout_s:
                    continue
                # The allocator is gone: keep the groups (work runs in them) but
                # stop favouring anyone on a decision nobody stands behind.
                for tenant in self.agent.weights():
                    self.agent.group(tenant).set_cpu_weight(DEFAULT_WEIGHT)
                self.orphaned = True
                self._publish(self.agent.weights())
