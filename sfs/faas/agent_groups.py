"""Where the node agent wants a tenant's CPU: the `cgroup` of its published shares.

When the node agent publishes shares (`sharekit.shares`), each tenant's
entry names the group the agent owns and weights, relative to every
controller hierarchy.  The host then puts the tenant's templates (and so all
their sandboxes, born there) in that group's `cpu` and `cpuacct` hierarchies,
so the agent's weights apply to them; the agent's shares take precedence
over the tenants file's `weight`.  The host never creates, changes or
removes the agent's groups: a group that is not there is skipped, and the
tenant keeps the host's own placement.

Only cgroup v1 is handled, where `cpu` and `cpuacct` are hierarchies of their
own and the host's memory and pids groups stay as they are.  On a unified
(v2) tree a process is in one group for every controller, and moving it
into the agent's would drop the host's memory and pids limits: there the
shares are read for the weight only.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from sharekit.shares import SharesWatcher

log = logging.getLogger(__name__)
_GROUP = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
CPU_HIERARCHIES = ("cpu", "cpuacct")


class AgentGroups:
    def __init__(self, shares_path: str | os.PathLike, root: Path | None = None, cpu: bool = True):
        self.watcher = SharesWatcher(shares_path)
        self.root = root or Path(os.environ.get("SHAREKIT_CGROUP_ROOT", "/sys/fs/cgroup"))
        self.cpu = cpu   # may templates join the agent's cpu group? (not where FIFO needs the cpu root)

    def weight(self, tenant: str) -> int | None:
        """The agent's cpu weight (v2 scale) for `tenant`, or None when it publishes none."""
        current = self.watcher.current()
        entry = current.tenants.get(tenant) if current else None
        return entry.weight if entry else None

    def groups(self, tenant: str) -> list[Path]:
        """The agent's cpu and cpuacct groups of `tenant` that exist (v1); [] when there are none."""
        current = self.watcher.current()
        entry = current.tenants.get(tenant) if current else None
        if entry is None or not entry.cgroup:
            return []
        relative = entry.cgroup.strip("/")
        if not _GROUP.match(relative) or ".." in relative.split("/"):
            log.warning("shares of tenant %s: ignoring cgroup %r (not a plain relative path)", tenant, entry.cgroup)
            return []
        found = [self.root / h / relative for h in CPU_HIERARCHIES if (self.root / h / "tasks").exists()]
        return [g for g in found if (g / "cgroup.procs").exists()]

    def cpu_group(self, tenant: str) -> Path:
        """The agent's cpu group of `tenant` (for CpuPlacement); KeyError when it publishes none."""
        found = [g for g in self.groups(tenant) if self.root / "cpu" in g.parents]
        if not found:
            raise KeyError(f"the node agent publishes no cpu group for tenant {tenant!r}")
        return found[0]

    def place(self, tenant: str, pid: int) -> bool:
        """Move `pid` into the agent's groups of `tenant`; True when the agent has any.

        Without `cpu` (see __init__) only into the accounting group: on v1
        with RT group scheduling a task that may run SCHED_FIFO stays in the
        cpu root, and the scheduler's placement moves it into the tenant's cpu
        group when it is demoted (sharekit.cgroups.placement).
        """
        groups = self.groups(tenant)
        for group in groups:
            if self.cpu or self.root / "cpu" not in group.parents:
                (group / "cgroup.procs").write_text(str(pid))
        return bool(groups)
