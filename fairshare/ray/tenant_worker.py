"""A tenant's worker on one Ray node: a process that lives in the tenant's group.

Moving a thread between cgroups on every task costs more than a short task
itself (two writes per v1 hierarchy each way; usually tens of microseconds,
but a v1 migration sometimes waits ~13 ms for an RCU grace period).  So the
kit never moves per task: each (node, tenant) pair has a small pool of these
actors, and each actor moves its executing thread into ``<parent>/<tenant>``
once, on its first task, and stays there for life.  Every task it runs after
that is the tenant's, so nothing else is ever charged to or weighed as the
tenant.

The actors are sync actors with ``num_cpus=0``: one task at a time per
actor, so a pool of k actors runs at most k of the tenant's tasks on the
node at once, however many are queued at them.  The controller sizes the
pool from the tenant's allocation there (``slots``), and tasks queued
beyond a pool's size only wait (pipelining), they never run beside it.
The CPU a task requests is the kit's to enforce (Ray sees none): Ray's
plain tasks still share the node, at the CPU weight of Ray's own group.

Lifetime: when its tenant departs, or the controller stops, an actor is
told to `retire`: it moves back where it came from and exits after the
tasks queued before.  Removing a tenant group (the agent does, once the
tenant is gone) kills anything still inside, so a worker that did not
leave in time never outlives its tenant's group either.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from .tenant_group import InTenantGroup


class TenantWorker:
    def __init__(self, parent: str, tenant: str):
        self.parent, self.tenant = parent, tenant
        self._inside: dict[int, InTenantGroup] = {}   # native thread id -> its placement

    def run(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        # Ray runs a sync actor's tasks on one thread; placement is per thread
        # (cgroup v1), so it is looked up by the thread that runs this task.
        tid = threading.get_native_id()
        if tid not in self._inside:
            self._inside[tid] = InTenantGroup(self.parent, self.tenant).__enter__()  # no __exit__ per task
        return fn(*args, **kwargs)

    def leave(self) -> None:
        """Move every placed thread back where it came from."""
        for placement in self._inside.values():
            placement.__exit__(None, None, None)
        self._inside.clear()

    def retire(self) -> None:
        """Leave the tenant's group and end this actor (after the tasks queued before)."""
        self.leave()
        import ray
        ray.actor.exit_actor()
