"""Per-lock statistics from the C library, as dataclasses."""
from __future__ import annotations

from dataclasses import dataclass, field

from scl._lib import ffi, lib
from scl.errors import check
from scl.tenants import thread_cgroup
from sharekit.fairness import jain as jain_weighted  # noqa: F401  (re-exported as scl.jain_weighted)


@dataclass(frozen=True)
class ThreadStats:
    tid: int
    weight: float          # last weight the lock used for this thread
    active: bool           # False once the thread left (exited or idle)
    acquisitions: int
    hold_s: float          # time holding the lock
    wait_s: float          # time blocked in lock calls
    opportunity_s: float   # hold + time the lock was free or in this thread's slice
    role: str = "thread"   # RW-SCL keeps one record per class: "readers", "writers"
    cgroup: str | None = None  # the tenant group its weight came from (see scl.tenants)


@dataclass(frozen=True)
class LockStats:
    elapsed_s: float       # since init or the last reset_stats
    hold_s: float          # summed over threads
    slices: int            # slice hand-overs
    jain_opportunity: float
    jain_hold: float
    threads: list[ThreadStats] = field(default_factory=list)

    def by_cgroup(self):
        """Statistics summed per tenant cgroup: {path: scl.tenants.CgroupLockStats}."""
        from scl.tenants import by_cgroup
        return by_cgroup(self.threads)

    @property
    def utilisation(self) -> float:
        return self.hold_s / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _reader(lock):
    from scl.locks import Mutex, RWLock
    if isinstance(lock, Mutex):
        return lib.scl_mutex_stats, "scl_mutex_stats"
    if isinstance(lock, RWLock):
        return lib.scl_rwlock_stats, "scl_rwlock_stats"
    raise TypeError(f"scl.stats needs an scl.Mutex or scl.RWLock, got {type(lock).__name__}")


def stats(lock) -> LockStats:
    """Snapshot of a lock's statistics.  For an RWLock the records are per
    class (role "readers" and "writers", tid 0), not per thread."""
    read, name = _reader(lock)
    from scl.locks import RWLock
    roles = ("readers", "writers") if isinstance(lock, RWLock) else None
    cap = 64
    while True:
        out = ffi.new("scl_lock_stats_t *")
        records = ffi.new("scl_thread_stats_t[]", cap)
        n = read(lock._ptr, out, records, cap)
        if n < 0:
            check(n, name)
        if n <= cap:
            break
        cap = n + 16     # threads registered between the calls
    threads = [ThreadStats(tid=int(r.tid), weight=float(r.weight), active=bool(r.active),
                           acquisitions=int(r.acquisitions), hold_s=r.hold_ns / 1e9,
                           wait_s=r.wait_ns / 1e9, opportunity_s=r.opportunity_ns / 1e9,
                           role=roles[i] if roles else "thread",
                           cgroup=None if roles else thread_cgroup(int(r.tid)))
               for i, r in enumerate(records[0:n])]
    return LockStats(elapsed_s=out.elapsed_ns / 1e9, hold_s=out.hold_ns / 1e9,
                     slices=int(out.slices), jain_opportunity=float(out.jain_opportunity),
                     jain_hold=float(out.jain_hold), threads=threads)


def reset_stats(lock) -> None:
    """Zero a mutex's statistics (elapsed time restarts now)."""
    from scl.locks import Mutex
    if not isinstance(lock, Mutex):
        raise TypeError("scl.reset_stats supports scl.Mutex only (the C API has no RW-SCL reset)")
    check(lib.scl_mutex_stats_reset(lock._ptr), "scl_mutex_stats_reset")
