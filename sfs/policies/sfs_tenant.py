"""sfs-tenant: sfs, with FILTER time apportioned among tenants by their shares.

Each tenant has a virtual time: the FILTER (SCHED_FIFO) CPU time its tasks
used, divided by its share.  When tasks of several tenants wait, the one of
the tenant with the smallest virtual time goes first, so over any busy
stretch FILTER time splits in proportion to the shares; inside a tenant the
sfs order holds (fresh arrivals first come first served, then re-queued
ones; least attained service preemption).  Nothing idles for fairness: a
free core always takes the next queued task, whatever its tenant, so the
split is enforced by this order and never by RT throttling.

- Virtual time counts FILTER time only.  CFS time needs no charging: the
  demoted tasks run in their tenant's cpu group, so CFS already splits what
  FILTER leaves by the same shares, and FILTER time in proportion to the
  shares plus CFS time in proportion to the shares is CPU in proportion to
  the shares.  (Charging a task's CFS time when it ends, as this policy once
  did, charges CPU used seconds earlier under a backlog all at once: a
  tenant's virtual time then jumped by a whole long invocation at a time,
  and after a re-allocation it reflected the old shares for as long as the
  backlog took to drain, ~9 s in the churn run.)
- A tenant more than ``HOLD_SLICES`` of its own slices ahead of the busy
  tenant that is furthest behind (busy: a task queued, in FILTER or
  runnable under CFS) gets no FILTER time until the others catch up; its
  arrivals wait under CFS in its own cpu group, weighed by its share.
  Without this, every arrival gets its slice whenever FILTER is not
  saturated, and FILTER time splits by arrival rate rather than by share
  (measured: 1:2:3 tenants with equal arrival rates got 0.27 / 0.33 / 0.40
  of a core).
- Virtual times are *placed* like a waking entity's vruntime in CFS: a
  tenant that becomes busy again, and every busy tenant when the shares
  change (a tenant arrived or left, or the allocator moved weights), is
  clamped into [floor, floor + its hold window], floor being the smallest
  virtual time among the busy tenants.  So no tenant banks credit for having
  been idle, and none carries a lead built up under the old shares into the
  new ones: the split follows a new decision at once.
- Preemption inside FILTER (least attained service) crosses tenants unless
  the newcomer's tenant is more than its hold window ahead of the running
  task's: within that window the rule bounds FILTER time anyway, and a short
  arrival of a tenant that happens to be slightly ahead should not wait for
  another tenant's long slice.
- A tenant with a fraction f of the busy tenants' shares sees its queue
  served about 1/f times slower than if it were alone, so the overload bypass
  waits ``bypass_factor / f`` x T for it, not ``bypass_factor`` x T.
- Demoted tasks run in their tenant's cpu cgroup when the scheduler has a
  :class:`sfs.placement.Placement` that does that, so CFS weighs them by the
  same shares.

Shares come from a :class:`ShareSource`: the node agent's published file
(:class:`sharekit.shares.SharesWatcher`, re-read live) or fixed weights.
They are normalised to fractions of the listed tenants' total.  A tenant
the source does not list gets the smallest listed share (it is neither
starved nor favoured over a tenant the allocator chose); with nothing
listed every tenant has the same share.  A listed share of 0 counts as
``MIN_SHARE``, so such a tenant runs in FILTER only when nobody else waits.
"""
from __future__ import annotations

import math
import os
import time
from typing import Callable, Iterable, Mapping, Protocol, Sequence, TypeVar

from sfs.decisions import should_bypass
from sfs.policies.sfs import SfsPolicy
from sfs.task import State, Task

MIN_SHARE = 0.01
HOLD_SLICES = 2.0   # how far ahead (in its own slices) a tenant may run before FILTER skips it
T = TypeVar("T")


# ----- the cross-tenant rule, as pure functions -----

def normalise(weights: Mapping[str, float]) -> dict[str, float]:
    """Weights -> fractions of their total (0 stays 0); empty when the total is 0."""
    total = sum(weights.values())
    return {name: w / total for name, w in weights.items()} if total > 0 else {}


def share_of(tenant: str, shares: Mapping[str, float]) -> float:
    """The share `tenant` is charged at, given the listed fractions."""
    if not shares:
        return 1.0
    if tenant in shares:
        return max(shares[tenant], MIN_SHARE)
    return max(min(shares.values()), MIN_SHARE)


def charge(vtime: float, used_s: float, share: float) -> float:
    """A tenant's virtual time after its tasks used `used_s` of FILTER CPU."""
    return vtime + used_s / share


def hold_window(share: float, slice_s: float) -> float:
    """How far (in virtual time) a tenant may run ahead of the floor before FILTER skips it."""
    return HOLD_SLICES * slice_s / share


def place(vtime: float, floor: float, window: float) -> float:
    """`vtime` clamped into [floor, floor + window]: neither credit nor a lead carried over."""
    return min(max(vtime, floor), floor + window)


def catch_up(vtime: float, busy_vtimes: Iterable[float], window: float = math.inf) -> float:
    """Virtual time of a tenant that becomes busy again: no credit for having been idle, and
    (with `window`) no more than `window` ahead of the busy tenant furthest behind."""
    floor = min(busy_vtimes, default=None)
    return vtime if floor is None else place(vtime, floor, window)


def rebase(vtimes: Mapping[str, float], busy: Iterable[str], windows: Mapping[str, float]) -> dict[str, float]:
    """Virtual times after the shares changed: every busy tenant placed within its window of the
    floor (the smallest busy virtual time); tenants not busy keep theirs (placed when they return)."""
    busy = [b for b in busy if b in vtimes]
    out = dict(vtimes)
    if not busy:
        return out
    floor = min(vtimes[b] for b in busy)
    for b in busy:
        out[b] = place(vtimes[b], floor, windows[b])
    return out


def interleave(queues: Mapping[str, Sequence[T]], vtimes: Mapping[str, float],
               shares: Mapping[str, float], cost: Callable[[T], float]) -> list[T]:
    """The order in which queued tasks try for a core.

    Repeatedly the tenant with the smallest virtual time (ties: by name)
    offers its next task; that tenant's virtual time then counts the task's
    expected FILTER time (`cost`, e.g. its budget) divided by its share, so
    several free cores in one round are shared out too.
    """
    provisional = {name: vtimes.get(name, 0.0) for name, q in queues.items() if q}
    position = dict.fromkeys(provisional, 0)
    out: list[T] = []
    while provisional:
        name = min(provisional, key=lambda n: (provisional[n], n))
        task = queues[name][position[name]]
        out.append(task)
        position[name] += 1
        if position[name] == len(queues[name]):
            del provisional[name]
        else:
            provisional[name] = charge(provisional[name], cost(task), shares[name])
    return out


def held_tenants(vtimes: Mapping[str, float], busy: Iterable[str], shares: Mapping[str, float],
                 slice_s: float) -> set[str]:
    """Busy tenants too far ahead of the one furthest behind to be offered FILTER now."""
    busy = list(busy)
    floor = min((vtimes.get(b, 0.0) for b in busy), default=0.0)
    return {b for b in busy if vtimes.get(b, 0.0) > floor + hold_window(share_of(b, shares), slice_s)}


def may_preempt(newcomer_vtime: float, running_vtime: float, window: float = 0.0) -> bool:
    """Preemption across tenants unless the newcomer's tenant is more than `window` ahead."""
    return newcomer_vtime <= running_vtime + window


def bypass_factor(factor: float, share: float, busy_shares: Iterable[float]) -> float:
    """The bypass factor for a tenant holding `share` among the busy tenants' `busy_shares`."""
    total = sum(busy_shares)
    fraction = share / total if total > 0 else 1.0
    return factor / min(1.0, max(fraction, MIN_SHARE))


# ----- where shares come from -----

class ShareSource(Protocol):
    def current(self) -> Mapping[str, float]:
        """Tenant -> share fraction (empty: nothing known, all equal)."""


class FixedShares:
    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = dict(weights)
        self._shares = normalise(self.weights)

    def current(self) -> Mapping[str, float]:
        return self._shares

    def __repr__(self) -> str:
        return ",".join(f"{k}={v:g}" for k, v in self.weights.items())


class PublishedShares:
    """The node agent's published file, followed live (one stat per 0.1 s)."""

    def __init__(self, path: str | os.PathLike) -> None:
        from sharekit.shares import SharesWatcher
        self.watcher = SharesWatcher(path)
        self._version: int | None = None
        self._shares: dict[str, float] = {}

    def current(self) -> Mapping[str, float]:
        published = self.watcher.current()
        if published is None:
            self._version, self._shares = None, {}
        elif published.version != self._version:
            self._version = published.version
            self._shares = normalise(published.shares())
        return self._shares

    def __repr__(self) -> str:
        return str(self.watcher.path)


def parse_shares(text: str) -> ShareSource:
    """``a=1,b=3`` (weights) or the path of a published-shares file; ValueError names the bad item."""
    if "=" not in text:
        if not os.path.isfile(text):
            raise ValueError(f"tenant shares {text!r}: neither NAME=WEIGHT,... nor an existing file")
        from sharekit.shares import read
        read(text)  # fail now, naming the field, rather than later on the scheduler thread
        return PublishedShares(text)
    weights = {}
    for item in text.split(","):
        name, sep, value = item.strip().partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"tenant shares: {item.strip()!r} is not NAME=WEIGHT")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"tenant shares: weight of {name!r} is not a number: {value.strip()!r}") from None
        if not (weight >= 0 and math.isfinite(weight)):
            raise ValueError(f"tenant shares: weight of {name!r} must be a finite number >= 0 (got {value.strip()})")
        if name in weights:
            raise ValueError(f"tenant shares: {name!r} given twice")
        weights[name] = weight
    if not any(weights.values()):
        raise ValueError("tenant shares: every weight is 0")
    return FixedShares(weights)


# ----- the policy -----

class SfsTenantPolicy(SfsPolicy):
    name = "sfs-tenant"

    def __init__(self, shares: ShareSource | None = None) -> None:
        self.source = shares or FixedShares({})
        self.vtime: dict[str, float] = {}
        self._charged: dict[int, float] = {}   # pid -> CPU time charged up to, while on a core
        self._round_busy: set[str] | None = None  # the busy tenants, once per dispatch round
        self._placed_for: Mapping[str, float] | None = None  # the shares the vtimes were placed for

    def shares(self) -> Mapping[str, float]:
        """The current shares; on a change, every busy tenant's virtual time is placed anew."""
        shares = self.source.current()
        if shares is not self._placed_for and shares != self._placed_for:
            if self._placed_for is not None and self.engine is not None:
                t = self.slice.value
                busy = self._busy()
                self.vtime = rebase(self.vtime, busy, {b: hold_window(share_of(b, shares), t) for b in busy})
            self._placed_for = shares
        return shares

    def _busy(self) -> set[str]:
        busy = {t.tenant for t in self.queue if t.state is State.QUEUED}
        busy.update(t.tenant for stack in self.engine.stacks.values() for t in stack)
        live = getattr(self.engine, "live_tasks", None)
        if live is not None:
            busy.update(t.tenant for t in live() if t.state is State.CFS)
        return busy

    def enqueue(self, task: Task, now: float) -> None:
        busy = self._busy()
        if task.tenant not in busy:
            window = hold_window(share_of(task.tenant, self.shares()), self.slice.value)
            self.vtime[task.tenant] = catch_up(self.vtime.get(task.tenant, 0.0),
                                               (self.vtime.get(b, 0.0) for b in busy), window)
        super().enqueue(task, now)

    def order(self, queued: list[Task]) -> list[Task]:
        shares = self.shares()
        per_tenant: dict[str, list[Task]] = {}
        for task in super().order(queued):
            per_tenant.setdefault(task.tenant, []).append(task)
        t = self.slice.value
        return interleave(per_tenant, self.vtime, {n: share_of(n, shares) for n in per_tenant},
                          lambda task: task.remaining if task.remaining is not None else t)

    def dispatch(self, now: float) -> None:
        self._round_busy = None
        held = held_tenants(self.vtime, self._busy(), self.shares(), self.slice.value) if self.queue else set()
        if not held:
            super().dispatch(now)
            return
        waiting = [t for t in self.queue if t.tenant in held]
        self.queue = [t for t in self.queue if t.tenant not in held]
        super().dispatch(now)
        t = self.slice.value
        for task in waiting:   # still SCHED_OTHER in their tenant's group; the bypass rule holds for them too
            if task.state is not State.QUEUED:
                continue
            if should_bypass(time.monotonic(), task.enqueued_at, t, self.bypass_factor(task),
                             aged=task.outcome.aged > 0, resumed=task.remaining is not None):
                self.engine.stats["bypasses"] += 1
                task.outcome.bypassed = True
                self.leave_filter(task, now)
            else:
                self.queue.append(task)

    def bypass_factor(self, task: Task) -> float:
        if self._round_busy is None:  # once per round, not once per queued task
            self._round_busy = self._busy()
        shares = self.shares()
        return bypass_factor(self.config.bypass_factor, share_of(task.tenant, shares),
                             (share_of(b, shares) for b in self._round_busy | {task.tenant}))

    def may_preempt(self, newcomer: Task, running: Task) -> bool:
        window = hold_window(share_of(newcomer.tenant, self.shares()), self.slice.value)
        return may_preempt(self.vtime.get(newcomer.tenant, 0.0), self.vtime.get(running.tenant, 0.0), window)

    # charging FILTER time as it is used

    def _charge(self, task: Task, cpu: float | None) -> None:
        if cpu is None:
            return
        used = cpu - self._charged.get(task.pid, task.slice_cpu0)
        if used > 0:
            self.vtime[task.tenant] = charge(self.vtime.get(task.tenant, 0.0), used,
                                             share_of(task.tenant, self.shares()))
        self._charged[task.pid] = cpu

    def running(self, task: Task) -> None:
        self._charged[task.pid] = task.slice_cpu0

    def tick(self, task: Task, now: float, cpu: float) -> None:
        self._charge(task, cpu)
        super().tick(task, now, cpu)

    def stopping(self, task: Task, cpu: float | None) -> None:
        self._charge(task, cpu)
        self._charged.pop(task.pid, None)
