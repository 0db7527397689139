"""A Ray cluster of several nodes on this one machine, all on 127.0.0.1.

Ray's own `ray start --address=...` resolves a loopback head address to the
machine's external address when it joins a node, which fails on a host whose
own address is not reachable; `ray.cluster_utils.Cluster` starts every node
in-process on loopback instead.  Each node is a real raylet with its own
resources; they share this machine's CPUs and cgroup tree (hence one cgroup
parent per node, see `controller.node_parent`).
"""
from __future__ import annotations

import os
import signal
import threading

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # before Ray reads it

# Fast node-death detection: the GCS declares a node dead after 3 missed
# health checks 0.5 s apart (Ray's default takes tens of seconds).
FAST_HEALTH_CHECK = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500,
                     "health_check_failure_threshold": 3, "health_check_timeout_ms": 500}
# A long-lived cluster on a busy machine: 1.5 s of silence happens under a
# load average of 70 and makes a raylet exit ("mistakenly marked as dead");
# `fairshare ray-cluster` tolerates 10 missed checks 1 s apart.
TOLERANT_HEALTH_CHECK = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 1000,
                         "health_check_failure_threshold": 10, "health_check_timeout_ms": 1000}


class LoopbackCluster:
    """`with LoopbackCluster(3) as c: ray.init(address=c.address)`; always shut down."""

    def __init__(self, nodes: int = 3, cpus_per_node: float = 1, port: int | None = None,
                 fast_health_check: bool = True, object_store_bytes: int = 80 << 20,
                 health_check: dict | None = None):
        from ray.cluster_utils import Cluster
        if nodes < 1:
            raise ValueError(f"nodes must be >= 1, got {nodes}")
        head = {"num_cpus": cpus_per_node, "node_ip_address": "127.0.0.1", "include_dashboard": False,
                "object_store_memory": object_store_bytes}
        if port is not None:
            head["gcs_server_port"] = port
        if health_check is not None or fast_health_check:
            head["_system_config"] = health_check if health_check is not None else FAST_HEALTH_CHECK
        self.cpus_per_node, self.object_store_bytes = cpus_per_node, object_store_bytes
        self.cluster = Cluster(initialize_head=True, head_node_args=head)
        try:
            for _ in range(nodes - 1):
                self.add_node()
            self.cluster.wait_for_nodes()
        except BaseException:
            self.cluster.shutdown()
            raise

    @property
    def address(self) -> str:
        return self.cluster.address

    @property
    def worker_nodes(self) -> list:
        return list(self.cluster.worker_nodes)

    def add_node(self):
        return self.cluster.add_node(num_cpus=self.cpus_per_node, node_ip_address="127.0.0.1",
                                     object_store_memory=self.object_store_bytes)

    def remove_node(self, node) -> None:
        """Kill a node without warning (its raylet and workers die)."""
        self.cluster.remove_node(node, allow_graceful=False)

    def shutdown(self) -> None:
        self.cluster.shutdown()

    def __enter__(self) -> "LoopbackCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()


def serve(nodes: int, port: int, cpus_per_node: float = 1, out=print) -> None:
    """Run a loopback cluster in the foreground until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with LoopbackCluster(nodes, cpus_per_node, port=port, health_check=TOLERANT_HEALTH_CHECK) as cluster:
        out(f"ray cluster of {nodes} node(s) x {cpus_per_node:g} CPU at {cluster.address}; Ctrl-C stops it",
            flush=True)
        stop.wait()
