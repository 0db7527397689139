"""CPU placement of SFS tasks between the cpu root and their tenant's group.

The SFS scheduler runs a new invocation SCHED_FIFO for a slice, then demotes
it to SCHED_OTHER.  On cgroup v1 with RT group scheduling, a task can be
SCHED_FIFO only in a cpu group with an RT budget, and tenant groups have
none (an equal budget split would throttle a tenant's FIFO time even on an
idle CPU; see rtbudget.py).  So:

  promoting(pid, tenant)  synchronous, before the task becomes SCHED_FIFO:
                          move it to the cpu root (which owns the RT budget);
  demoted(pid, tenant)    after it became SCHED_OTHER: move it into its
                          tenant's cpu group, so CFS weighs it by the
                          tenant's share.  Done by a worker thread: a pid
                          move costs ~25 us but sometimes ~13 ms (an RCU
                          grace period), too long for the caller's path.

Only the cpu hierarchy moves.  cpuacct and memory keep the task in its
tenant group throughout, so accounting is per tenant at all times.  On v2
(no per-group RT budget) and on v1 without RT group scheduling nothing moves.

Where a tenant's cpu group is comes from the owner of the groups: the node
agent itself (agent.placement), or the FaaS host reading the groups the
agent publishes (sharekit.shares).

Ordering.  Every move of a pid happens under `_lock`.  `promoting` removes
the pid's queued demotion and moves it to the root while holding `_lock`,
so a demotion queued before a promotion can never land after it: either
the worker moved it already (and promoting moves it back), or the worker
finds nothing queued.  A queued move of an exited pid fails with ESRCH and
is dropped.
"""
from __future__ import annotations

import contextlib
import errno
import logging
import threading
from pathlib import Path
from typing import Callable, ContextManager

from .backend import CgroupBackend
from .fs import CgroupError

log = logging.getLogger(__name__)


def moves_needed(backend: CgroupBackend) -> bool:
    """True where FIFO tasks must leave their tenant's cpu group (v1 with RT group scheduling)."""
    return backend.version == 1 and backend.rt_group_scheduling


class CpuPlacement:
    """`cpu_group_of(tenant)` gives the tenant's cpu group directory (KeyError or CgroupError if none);
    `guard()` is held while it is looked up and the task moved there, so the group cannot vanish meanwhile."""

    def __init__(self, backend: CgroupBackend, cpu_group_of: Callable[[str], Path],
                 guard: Callable[[], ContextManager] = contextlib.nullcontext) -> None:
        self.moves = moves_needed(backend)
        self.root_procs = backend.cpu_root / "cgroup.procs"
        self._cpu_group_of = cpu_group_of
        self._guard = guard
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: dict[int, str] = {}
        self._busy = False
        self._closed = False
        self._worker: threading.Thread | None = None

    # -- the two hooks ---------------------------------------------------------
    def promoting(self, pid: int, tenant: str) -> None:
        """Make `pid` able to become SCHED_FIFO (call before sched_setscheduler)."""
        if not self.moves:
            return
        with self._lock:
            self._pending.pop(pid, None)
            self._move(pid, self.root_procs)

    def demoted(self, pid: int, tenant: str) -> None:
        """`pid` runs SCHED_OTHER again: queue its move into `tenant`'s cpu group."""
        if not self.moves:
            return
        with self._lock:
            if self._closed:
                return
            self._pending[pid] = tenant
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="tenant-placement", daemon=True)
                self._worker.start()
            self._wake.notify()

    # -- worker ----------------------------------------------------------------
    def _work(self) -> None:
        with self._lock:
            while True:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                pid, tenant = next(iter(self._pending.items()))
                del self._pending[pid]
                self._busy = True
                try:
                    with self._guard():   # the group cannot be removed under us
                        self._move(pid, self._cpu_group_of(tenant) / "cgroup.procs")
                except KeyError as exc:   # no group for this tenant (yet): it runs unweighted
                    log.debug("pid %d stays in the cpu root: %s", pid, exc)
                except CgroupError as exc:
                    log.warning("pid %d stays in the cpu root: %s", pid, exc)
                finally:
                    self._busy = False
                    self._wake.notify_all()

    @staticmethod
    def _move(pid: int, procs) -> None:
        try:
            procs.write_text(str(pid))
        except ProcessLookupError:
            return
        except OSError as exc:
            if exc.errno == errno.ESRCH:
                return
            raise CgroupError(f"cannot move pid {pid} to {procs.parent}: {exc.strerror}") from exc

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued demotion move is done; False on timeout."""
        with self._lock:
            return self._wake.wait_for(lambda: not self._pending and not self._busy, timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._pending.clear()
            self._wake.notify_all()
        if self._worker is not None:
            self._worker.join()
