"""Worker side: move the calling thread into a tenant's cgroup on this node, and back.

A tenant's worker (tenant_worker.py) moves in once and stays; `InTenantGroup`
remembers where it came from so that it can leave before its tenant's group
is removed.  On cgroup v1 only the executing thread moves (the
``tasks`` file of the cpu and cpuacct hierarchies): the worker's gRPC and
event-loop threads stay where Ray put them, so the tenant is charged for its
own work only, and threads the task starts inherit the group.  Cgroup v2 has
no per-thread placement in a domain group, so there the whole worker process
moves (``cgroup.procs``); a tenant worker only ever runs its tenant's tasks,
so nothing else is charged by mistake except the worker's idle housekeeping.

Moving costs a few tens of microseconds per write (occasionally milliseconds
while the kernel waits for an RCU grace period), which is why it happens
once per worker, never per task.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable

from sharekit.cgroups import CGROUP_ROOT, CgroupError, TenantCgroup, backend_for


def _own_cgroups(proc_file: str) -> dict[str, str]:
    """controller -> path of the calling thread (v1) or {"": path} (v2)."""
    out: dict[str, str] = {}
    with open(proc_file) as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(","):
                out[controller] = path
    return out


def _write(path: Path, value: int) -> None:
    try:
        path.write_text(str(value))
    except FileNotFoundError:
        raise CgroupError(f"{path.parent} does not exist: the node agent has no group for this "
                          "tenant (not yet, or no longer)") from None
    except OSError as exc:
        raise CgroupError(f"cannot write {value} to {path}: {exc.strerror or exc}") from None


class InTenantGroup:
    """Context manager: the calling thread (v1) or process (v2) runs in `parent/tenant`."""

    def __init__(self, parent: str, tenant: str, root: Path | None = None):
        self.root = root or CGROUP_ROOT
        backend = backend_for(self.root)
        self.version = backend.version
        self.group = TenantCgroup(tenant, parent, backend)  # paths only; the agent owns it
        self._back: list[tuple[Path, Path, int]] = []  # (where it was, hierarchy root, id)

    def __enter__(self) -> "InTenantGroup":
        if self.version == 1:
            tid = threading.get_native_id()
            here = _own_cgroups("/proc/thread-self/cgroup")
            for controller in ("cpu", "cpuacct"):
                target = self.group.dirs[controller] / "tasks"
                _write(target, tid)
                top = self.root / controller
                self._back.append((top / here.get(controller, "/").lstrip("/") / "tasks", top / "tasks", tid))
        else:
            pid = os.getpid()
            here = _own_cgroups("/proc/self/cgroup").get("", "/")
            _write(self.group.dirs["cpu"] / "cgroup.procs", pid)
            base = self.group.dirs["cpu"].parent.parent
            self._back.append((base / here.lstrip("/") / "cgroup.procs", base / "cgroup.procs", pid))
        return self

    def __exit__(self, *exc) -> None:
        # The worker must leave: a tenant group that the agent removes kills
        # whatever is still inside.  If the original group is gone, the
        # hierarchy's root takes the worker instead.
        for path, fallback, ident in self._back:
            try:
                path.write_text(str(ident))
            except OSError:
                try:
                    fallback.write_text(str(ident))
                except OSError:
                    pass
        self._back.clear()

