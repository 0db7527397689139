"""The node agent: apply one server's allocation as per-tenant cgroup weights."""
from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Mapping

from sharekit.cgroups import TenantCgroup, backend_for
from sharekit.shares import PublishedShares, TenantShare

from .guard import ParentGuard

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

    The agent owns its parent group (see guard.py): a second agent on the
    same parent is refused, groups a killed predecessor left are cleaned at
    the first apply, and a watchdog removes this agent's groups if it is
    killed.  ``guard=False`` skips all that (one-shot tools that clean up
    in the same process).
    """

    def __init__(self, server: str, resource: str = "cpu", parent: str = "sharekit-tenants",
                 memory_max: int | None = None, root: Path | None = None, guard: bool = True,
                 shares_path: Path | None = None):
        self.server = server
        self.resource = resource
        self.parent = parent
        self.memory_max = memory_max
        self.root = root
        self.backend = backend_for(root)
        self.guard = ParentGuard(parent, root, shares_path) if guard else None
        # Held while groups change, so readers (TenantPlacement) never see a half-applied set.
        self.lock = threading.RLock()
        self._owned = False
        self._groups: dict[str, TenantCgroup] = {}

    def _own(self) -> None:
        if self.guard is not None and not self._owned:
            self.guard.acquire()
            self._owned = True

    def apply(self, decision: Decision) -> dict[str, int]:
        """Apply this server's part of `decision`; returns {tenant: weight}."""
        return self.set_weights(plan_weights(decision, self.server, self.resource))

    def set_weights(self, weights: Mapping[str, int]) -> dict[str, int]:
        """Make the tenant groups exactly `weights`: create, reweigh, remove."""
        with self.lock:
            return self._set_weights(weights)

    def _set_weights(self, weights: Mapping[str, int]) -> dict[str, int]:
        self._own()
        for tenant in list(self._groups):
            if tenant not in weights:
                self._groups.pop(tenant).remove()
        for tenant, weight in weights.items():
            group = self._groups.get(tenant)
            if group is None:
                self._groups[tenant] = TenantCgroup.create(tenant, cpu_weight=weight, memory_max=self.memory_max,
                                                           parent=self.parent, root=self.root)
            elif group.cpu_weight() != weight:
                group.set_cpu_weight(weight)
        return dict(weights)

    def group(self, tenant: str) -> TenantCgroup:
        try:
            return self._groups[tenant]
        except KeyError:
            raise KeyError(f"no tenant {tenant!r} on {self.server!r}") from None

    def tenants(self) -> list[str]:
        return sorted(self._groups)

    def weights(self) -> dict[str, int]:
        return {tenant: group.cpu_weight() for tenant, group in self._groups.items()}

    def snapshot(self, version: int) -> PublishedShares:
        """What the agent applied, in the published-shares format.

        A tenant's share is its weight over the node's total: the split CFS
        enforces among always-busy tenants (weights are the decision's
        amounts rounded to integers, so it matches the decision to ~1%).
        """
        weights = self.weights()
        total = sum(weights.values())
        tenants = {t: TenantShare(w, w / total if total else 0.0, f"{self.parent}/{t}") for t, w in weights.items()}
        return PublishedShares(self.server, version, time.time(), tenants, self.backend.version, self.parent)

    def close(self) -> None:
        with self.lock:
            while self._groups:
                self._groups.popitem()[1].remove()
        if self.guard is not None and self._owned:
            self.guard.release()
            self._owned = False

    def __enter__(self) -> "NodeAgent":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
