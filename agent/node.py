"""The node agent: apply one server's allocation as per-tenant cgroup weights."""
from __future__ import annotations

import math
from typing import Mapping

from sharekit.cgroups import TenantCgroup

# cgroup v2 cpu.weight bounds; v1 cpu.shares are derived from them.
MIN_WEIGHT, DEFAULT_WEIGHT, MAX_WEIGHT = 1, 100, 10000

Decision = Mapping[str, Mapping[str, Mapping[str, float]]]  # server -> tenant -> resource -> amount


def plan_weights(decision: Decision, server: str, resource: str = "cpu",
                 keep: tuple[str, ...] = ()) -> dict[str, int]:
    """Cgroup weight per tenant on `server`, proportional to its `resource` amount.

    Weights are scaled so that an even split gives every tenant the default
    weight (100): with n tenants, weight = 100 * n * amount / total.  Only
    ratios matter to CFS, and staying near the default keeps the tenants'
    groups comparable with groups the agent does not manage.  Tenants in
    `keep` that got nothing here still get a group at the minimum weight, so
    their running work is throttled rather than left unmanaged.
    """
    if server not in decision:
        raise KeyError(f"the decision has no server {server!r} (servers: {', '.join(sorted(decision)) or 'none'})")
    amounts: dict[str, float] = {}
    for tenant, resources in decision[server].items():
        amount = float(resources.get(resource, 0.0))
        if amount < 0 or not math.isfinite(amount):
            raise ValueError(f"tenant {tenant!r} on {server!r}: invalid {resource} amount {amount!r}")
        amounts[tenant] = amount
    total = sum(amounts.values())
    weights = {}
    for tenant, amount in amounts.items():
        raw = DEFAULT_WEIGHT * len(amounts) * amount / total if total > 0 else DEFAULT_WEIGHT
        weights[tenant] = min(MAX_WEIGHT, max(MIN_WEIGHT, round(raw)))
    for tenant in keep:
        weights.setdefault(tenant, MIN_WEIGHT)
    return weights


class NodeAgent:
    """Keeps one cgroup per tenant on this node in step with the latest decision.

        with NodeAgent("s1") as node:
            node.apply(allocation.per_server())   # {tenant: weight}
            node.group("alice").add(pid)

    Tenants that disappear from the decision lose their group (and whatever
    still runs inside it is killed by the group's removal), so a stale tenant
    never keeps a share it no longer has.  `close()` removes every group.
    """

    def __init__(self, server: str, resource: str = "cpu", parent: str = "sharekit-tenants",
                 memory_max: int | None = None):
        self.server = server
        self.resource = resource
        self.parent = parent
        self.memory_max = memory_max
        self._groups: dict[str, TenantCgroup] = {}

    def apply(self, decision: Decision) -> dict[str, int]:
        weights = plan_weights(decision, self.server, self.resource)
        for tenant in list(self._groups):
            if tenant not in weights:
                self._groups.pop(tenant).remove()
        for tenant, weight in weights.items():
            group = self._groups.get(tenant)
            if group is None:
                self._groups[tenant] = TenantCgroup.create(tenant, cpu_weight=weight,
                                                           memory_max=self.memory_max, parent=self.parent)
            elif group.cpu_weight() != weight:
                group.set_cpu_weight(weight)
        return weights

    def group(self, tenant: str) -> TenantCgroup:
        try:
            return self._groups[tenant]
        except KeyError:
            raise KeyError(f"no tenant {tenant!r} on {self.server!r}") from None

    def weights(self) -> dict[str, int]:
        return {tenant: group.cpu_weight() for tenant, group in self._groups.items()}

    def close(self) -> None:
        while self._groups:
            self._groups.popitem()[1].remove()

    def __enter__(self) -> "NodeAgent":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
