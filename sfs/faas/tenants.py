"""Per-tenant cgroups for the sandboxes, made on first use and removed at shutdown."""
from __future__ import annotations

import logging
import threading

from sharekit.cgroups import CgroupError, TenantCgroup

log = logging.getLogger(__name__)


class TenantGroup:
    def __init__(self, cgroup: TenantCgroup):
        self.cgroup = cgroup

    def add(self, pid: int) -> None:
        self.cgroup.add(pid)

    def oom_kills(self) -> int:
        try:
            return self.cgroup.usage().oom_kills
        except CgroupError:
            return 0


class TenantGroups:
    """tenant name -> cgroup under one parent; `enabled=False` (or no cgroups) places nothing."""

    def __init__(self, parent: str, memory_max: int | None, cpu_weight: int = 100, enabled: bool = True,
                 cpu_groups: bool = False, weights: dict[str, int] | None = None, agent=None):
        self.parent, self.memory_max, self.cpu_weight = parent, memory_max, cpu_weight
        # Per-tenant weights of the tenants file; the node agent's published weight wins over them.
        self.weights = weights or {}
        self.agent = agent
        # Per-tenant cpu groups give weights but, on v1 with RT group scheduling, also
        # cap each tenant's SCHED_FIFO time at its share of the RT budget per CPU:
        # a short function of a busy tenant would then stall in its SFS filter.
        self.cpu_groups = cpu_groups
        self.enabled = enabled
        self.groups: dict[str, TenantGroup] = {}
        self._lock = threading.Lock()
        self.disabled_reason = None if enabled else "disabled by option"

    @staticmethod
    def remove_stale(prefix: str = "sharekit-faas-") -> list[str]:
        """Remove the tenant groups of servers that died without cleaning up (SIGKILL)."""
        from sharekit.cgroups import remove_empty_parent, stale_parents
        removed = []
        for name in stale_parents(prefix):
            try:
                if remove_empty_parent(name):
                    removed.append(name)
            except CgroupError as exc:
                log.warning("stale cgroup parent %s not removed: %s", name, exc)
        return removed

    def get(self, tenant: str) -> TenantGroup | None:
        if not self.enabled:
            return None
        with self._lock:
            group = self.groups.get(tenant)
            if group is None:
                try:
                    group = TenantGroup(TenantCgroup.create(tenant, cpu_weight=self.weight_of(tenant),
                                                            memory_max=self.memory_max, parent=self.parent,
                                                            cpu_controller=self.cpu_groups,
                                                            rt_budget=self.cpu_groups))
                except (CgroupError, OSError) as exc:
                    # No cgroups (not root, or none mounted): keep serving, say so once.
                    self.enabled, self.disabled_reason = False, str(exc)
                    log.warning("tenant cgroups disabled: %s", exc)
                    return None
                self.groups[tenant] = group
            return group

    def weight_of(self, tenant: str) -> int:
        """cpu weight (v2 scale) of `tenant`: the node agent's if it publishes one, else the tenants file's."""
        published = self.agent.weight(tenant) if self.agent is not None else None
        return published if published is not None else self.weights.get(tenant, self.cpu_weight)

    def usage(self) -> dict[str, object]:
        out = {}
        for name, group in list(self.groups.items()):
            try:
                out[name] = group.cgroup.usage()
            except CgroupError:
                pass
        return out

    def close(self) -> None:
        with self._lock:
            for name, group in self.groups.items():
                try:
                    group.cgroup.remove()
                except CgroupError as exc:
                    log.warning("could not remove the cgroup of tenant %s: %s", name, exc)
            self.groups.clear()
