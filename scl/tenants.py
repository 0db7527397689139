"""Lock statistics per tenant: threads grouped by the cgroup whose weight they had.

A lock with ``weight_source="cgroup"`` records, for every thread, the cgroup
it read the weight from (the tenant's group of the node agent).  `by_cgroup`
sums a lock's per-thread statistics per group, so lock opportunity and hold
time can be compared with the tenants' shares:

    per = scl.stats(lock).by_cgroup()
    total = sum(t.hold_s for t in per.values())
    {group: t.hold_s / total for group, t in per.items()}

Threads for which no cgroup weight was read (other weight sources) are
looked up in /proc while they live, and grouped under None once gone.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scl._lib import ffi, lib


def thread_cgroup(tid: int) -> str | None:
    """The cgroup path SCL last read a weight from for `tid` of this process, else its cpu group."""
    buf = ffi.new("char[]", 256)
    n = lib.scl_thread_cgroup(tid, buf, 256)
    if n >= 0:
        return ffi.string(buf).decode()
    try:  # a live thread of a lock with another weight source: its cpu group now
        text = Path(f"/proc/self/task/{tid}/cgroup").read_text()
    except OSError:
        return None
    v2 = None
    for line in text.splitlines():
        hierarchy, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):
            return path
        if hierarchy == "0":
            v2 = path
    return v2


@dataclass(frozen=True)
class CgroupLockStats:
    threads: int
    weight: float          # the group's weight as the lock last used it (max over its threads)
    acquisitions: int
    hold_s: float
    wait_s: float
    opportunity_s: float


def by_cgroup(threads) -> dict[str | None, CgroupLockStats]:
    """Per-thread records (ThreadStats with a `cgroup`) summed per cgroup."""
    out: dict[str | None, CgroupLockStats] = {}
    for t in threads:
        prev = out.get(t.cgroup)
        if prev is None:
            out[t.cgroup] = CgroupLockStats(1, t.weight, t.acquisitions, t.hold_s, t.wait_s, t.opportunity_s)
        else:
            out[t.cgroup] = CgroupLockStats(prev.threads + 1, max(prev.weight, t.weight),
                                            prev.acquisitions + t.acquisitions, prev.hold_s + t.hold_s,
                                            prev.wait_s + t.wait_s, prev.opportunity_s + t.opportunity_s)
    return out
