"""Real-time bandwidth of v1 cpu groups (CONFIG_RT_GROUP_SCHED).

With RT group scheduling every v1 cpu group starts with ``cpu.rt_runtime_us
= 0``, and the kernel refuses SCHED_FIFO for tasks inside such a group
(EPERM at sched_setscheduler, EINVAL when an RT task is moved in).  There
are two ways to live with that:

* keep FIFO tasks out of budget-less groups: the node agent's
  ``TenantPlacement`` moves a task to the cpu root before it is promoted and
  back into its tenant group after demotion, so tenant groups need no RT
  budget and their CPU weights are safe to use (the default);
* give the groups a budget (``RtBudget``, opt-in with ``rt_budget=True``):
  the parent takes most of the host's budget and its tenant groups split it
  equally.  That split is not work-conserving: a tenant that used its share
  of a CPU's RT time is throttled even when the CPU is otherwise idle, so a
  short function of a busy tenant stalls in its FIFO slice.

Everything about budgets lives in this module; the backends only say whether
the hierarchy has per-group RT bandwidth (``rt_group_scheduling``).
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .fs import CgroupError, read, write

TENANT_RT_PERIOD_US = 100_000
# Leave this much of the host RT budget to real-time groups made by others.
PARENT_RT_FRACTION = 0.9


def has_rt_budget_files(cpu_dir: Path) -> bool:
    return (cpu_dir / "cpu.rt_runtime_us").exists()


def release(cpu_dir: Path) -> None:
    """Give a group's RT budget back now (best effort).

    rmdir frees it only when the kernel gets round to destroying the group,
    and siblings may want to grow right away.
    """
    rt = cpu_dir / "cpu.rt_runtime_us"
    if rt.exists():
        try:
            rt.write_text("0")
        except OSError:
            pass


class RtBudget:
    """Splits the v1 RT budget of a parent cpu group equally among its tenant groups.

    Invariant: sum(children runtime/period) <= parent runtime/period at every
    write, as the kernel checks; so shrink before growing, and serialise
    rebalancing with an flock on the parent directory (several processes may
    share one parent).  Tenant groups use a 100 ms period so that a tenant
    that exhausts its share stalls for at most tens of milliseconds.
    """

    def __init__(self, parent_cpu_dir: Path) -> None:
        self.parent = parent_cpu_dir

    def available(self) -> bool:
        return has_rt_budget_files(self.parent)

    def _lock(self) -> int:
        fd = os.open(self.parent, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def grant_parent(self) -> None:
        root = self.parent.parent
        root_period = int(read(root / "cpu.rt_period_us"))
        root_runtime = int(read(root / "cpu.rt_runtime_us"))
        if root_runtime < 0:  # -1 means unlimited
            root_runtime = root_period
        taken = 0.0
        for sibling in root.iterdir():
            if sibling.is_dir() and sibling != self.parent and has_rt_budget_files(sibling):
                taken += int((sibling / "cpu.rt_runtime_us").read_text()) / int((sibling / "cpu.rt_period_us").read_text())
        ratio = max(0.0, min(root_runtime / root_period * PARENT_RT_FRACTION, root_runtime / root_period - taken))
        period = int(read(self.parent / "cpu.rt_period_us"))
        # The kernel also counts bandwidth we cannot see from here (deadline
        # servers, groups of other hierarchies): take the largest grant it accepts.
        low, high = 0, int(ratio * period)
        while high - low > period // 200:
            mid = (low + high) // 2
            try:
                (self.parent / "cpu.rt_runtime_us").write_text(str(mid))
                low = mid
            except OSError:
                high = mid
        try:
            (self.parent / "cpu.rt_runtime_us").write_text(str(high))
        except OSError:
            write(self.parent / "cpu.rt_runtime_us", str(low))

    def ensure_parent(self, created: bool) -> None:
        if self.available() and (created or int(read(self.parent / "cpu.rt_runtime_us")) == 0):
            self.grant_parent()

    def rebalance(self, joining: Path | None = None) -> None:
        """Give every tenant group (plus `joining`) an equal share, shrinking first."""
        fd = self._lock()
        try:
            parent_ratio = int(read(self.parent / "cpu.rt_runtime_us")) / int(read(self.parent / "cpu.rt_period_us"))
            groups = [p for p in self.parent.iterdir() if p.is_dir() and p != joining]
            members = groups + ([joining] if joining is not None else [])
            if not members:
                return
            # 1% margin: the kernel compares fixed-point ratios that truncate differently per period.
            share = int(parent_ratio / len(members) * TENANT_RT_PERIOD_US * 0.99)
            for group in groups:  # shrink the existing ones before anyone grows
                current = int(read(group / "cpu.rt_runtime_us"))
                if current > share:
                    write(group / "cpu.rt_runtime_us", str(share))
            for group in members:
                if int(read(group / "cpu.rt_period_us")) != TENANT_RT_PERIOD_US:
                    write(group / "cpu.rt_runtime_us", "0")
                    write(group / "cpu.rt_period_us", str(TENANT_RT_PERIOD_US))
                try:
                    (group / "cpu.rt_runtime_us").write_text(str(share))
                except OSError:
                    if group == joining:
                        raise CgroupError(f"cannot grant {share} us of RT runtime to {group}: "
                                          "the parent's budget is taken") from None
                    # Growing an existing group is best effort: keep its smaller share.
        finally:
            os.close(fd)
