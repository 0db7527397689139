"""CPU placement of the node agent's tenants for the SFS scheduler.

The mechanism (why FIFO tasks leave their tenant's cpu group on cgroup v1
with RT group scheduling, and the ordering argument) is
:mod:`sharekit.cgroups.placement`; here the tenant's group is the agent's own.
"""
from __future__ import annotations

from sharekit.cgroups.placement import CpuPlacement


class TenantPlacement(CpuPlacement):
    def __init__(self, agent) -> None:
        self.node = getattr(agent, "node", agent)   # a NodeAgent or an AgentLoop
        super().__init__(self.node.backend, lambda tenant: self.node.group(tenant).dirs["cpu"],
                         guard=lambda: self.node.lock)


__all__ = ["TenantPlacement"]
