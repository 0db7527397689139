"""Fair share for the tenants of a Ray cluster.

The allocator runs on the driver; every Ray node runs the node agent
(`agent.NodeAgent`, the embedded default's code) in a pinned, detached actor.
Tenants' tasks go through the allocator: each runs on a node its tenant's
allocation gives, inside the tenant's cgroup there.

    import ray, fairshare.ray as fsr
    ray.init(address="127.0.0.1:6379")
    with fsr.start() as kit:                      # or fsr.start(problem=load_problem(...))
        h = fsr.submit("alice", work, 42, retry=True)
        h.result()

    @fsr.tenant("bob")                            # the one-line opt-in for ray.remote code
    @ray.remote
    def g(x): ...
    ray.get(g.remote(1))

Requires the `ray` extra (pinned Ray).  See docs/ray.md.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Mapping

from .controller import Controller, NodeLostError, TaskHandle, TaskLostError, find_agents, stop_agents
from .measure import connect, e2e, status

_current: Controller | None = None
_current_lock = threading.Lock()


def start(problem=None, **options) -> Controller:
    """Start this driver's allocator (one per driver) on the connected cluster."""
    global _current
    with _current_lock:
        if _current is not None and not _current._closing:
            raise RuntimeError("a fairshare.ray controller already runs in this driver; stop() it first")
        _current = Controller(problem, **options)
        return _current


def current() -> Controller:
    if _current is None or _current._closing:
        raise RuntimeError("no fairshare.ray controller runs in this driver: call fairshare.ray.start() first")
    return _current


def stop() -> None:
    global _current
    with _current_lock:
        if _current is not None:
            _current.close()
        _current = None


def submit(tenant: str, fn: Callable, *args, resources: Mapping[str, float] | None = None,
           retry: int | bool = False, **kwargs) -> TaskHandle:
    """Queue fn(*args, **kwargs) for `tenant` through this driver's allocator."""
    return current().submit(tenant, fn, *args, resources=resources, retry=retry, **kwargs)


class TenantFunction:
    """What `@tenant(name)` makes of a function or a `@ray.remote` function:
    `.remote(...)` returns a Ray ObjectRef as before, but the task was placed
    by the allocator and runs inside the tenant's cgroup.  The call waits
    while the tenant has used up its allocation and others wait."""

    def __init__(self, tenant: str, fn: Callable, resources: Mapping[str, float] | None):
        self.tenant, self.fn, self.resources = tenant, fn, resources

    def remote(self, *args, **kwargs):
        return submit(self.tenant, self.fn, *args, resources=self.resources, **kwargs).ref()

    def options(self, *, resources: Mapping[str, float] | None = None) -> "TenantFunction":
        return TenantFunction(self.tenant, self.fn, resources if resources is not None else self.resources)

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


def tenant(name: str, resources: Mapping[str, float] | None = None) -> Callable[[Any], TenantFunction]:
    """Decorator: `@fairshare.ray.tenant("alice")` above (or instead of) `@ray.remote`."""
    def wrap(fn) -> TenantFunction:
        inner = getattr(fn, "_function", fn)       # a ray.remote function: its Python function
        res = resources
        if res is None and hasattr(fn, "_default_options"):
            cpus = fn._default_options.get("num_cpus")
            res = {"cpu": float(cpus)} if cpus is not None else None
        return TenantFunction(name, inner, res)
    return wrap


def run(address: str | None, problem=None, seconds: float = 10.0, out: Callable[[str], None] = print,
        **options) -> dict:
    """`fairshare run --ray`: allocate on the cluster at `address`, start an agent per
    node, run every tenant's CPU-bound workload for `seconds`, print each new
    decision as it reaches the agents, and return the measured shares."""
    def show(snap: dict) -> None:
        out(f"decision v{snap['version']} (cycle {snap['cycles']}, {snap['cycle_seconds'] * 1000:.1f} ms)")
        for nid, node in sorted(snap["nodes"].items(), key=lambda kv: kv[1]["server"]):
            weights = " ".join(f"{t}={w}" for t, w in sorted(node["weights"].items()))
            out(f"  {node['server'][:16]:<16} acked v{node['acked_version']}  weights {weights}")
    return e2e(address, problem, seconds=seconds, warmup=min(4.0, seconds / 2), on_cycle=show, node_seconds=0,
               **options)


__all__ = ["Controller", "NodeLostError", "TaskHandle", "TaskLostError", "TenantFunction", "connect", "current",
           "e2e", "find_agents", "run", "status", "start", "stop", "stop_agents", "submit", "tenant"]
