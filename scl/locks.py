"""scl.Mutex (u-SCL) and scl.RWLock (RW-SCL) for Python threads.

Every blocking call goes through cffi's API mode, which releases the GIL for
the duration of the C call, so a thread waiting for an SCL lock never stops
the other Python threads.
"""
from __future__ import annotations

import errno
import math
import os
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from scl._lib import ffi, lib
from scl._memory import LockMemory
from scl.errors import LockError, OwnerDied, check

WEIGHT_SOURCES = {"nice": 0, "explicit": 1, "cgroup": 2}


def _ns(value_ms: float, name: str, *, allow_zero: bool = False) -> int:
    try:
        v = float(value_ms)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of milliseconds, got {value_ms!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number of milliseconds > 0, got {value_ms!r}")
    return int(round(v * 1e6))


def _deadline(timeout: float):
    """Absolute CLOCK_MONOTONIC timespec `timeout` seconds from now."""
    ts = ffi.new("struct timespec *")
    when = time.clock_gettime_ns(time.CLOCK_MONOTONIC) + int(timeout * 1e9)
    ts.tv_sec, ts.tv_nsec = divmod(when, 1_000_000_000)
    return ts


def _check_timeout(blocking: bool, timeout) -> float | None:
    """threading.Lock's rules: None or -1 means forever; other negatives are errors."""
    if timeout is None or timeout == -1:
        return None
    if not blocking:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if timeout < 0:
        raise ValueError("timeout value must be a non-negative number")
    return float(timeout)


class Mutex:
    """A u-SCL mutex: lock opportunity in proportion to thread weight.

    slice_ms       lock slice: the owner re-acquires freely within it
    idle_ms        a thread idle this long stops counting in the total weight
    weight_source  "nice" (CFS weight of the thread's nice value), "explicit"
                   (scl.set_thread_weight, falling back to nice) or "cgroup"
    credit_cap_ms  bound on credit banked while idle (default: one slice)
    shared         place the lock in shared memory for fork()ed children;
                   shared locks are robust unless robust=False (an owner's
                   death then raises scl.OwnerDied in the next acquirer)
    """

    def __init__(self, slice_ms: float = 2.0, idle_ms: float = 100.0,
                 weight_source: str = "nice", credit_cap_ms: float | None = None,
                 *, shared: bool = False, robust: bool | None = None):
        if weight_source not in WEIGHT_SOURCES:
            raise ValueError(f"weight_source must be one of {', '.join(WEIGHT_SOURCES)}, "
                             f"got {weight_source!r}")
        attr = ffi.new("scl_mutexattr_t *")
        lib.scl_mutexattr_init(attr)
        attr.slice_ns = _ns(slice_ms, "slice_ms")
        attr.idle_ns = _ns(idle_ms, "idle_ms")
        if credit_cap_ms is not None:
            attr.credit_cap_ns = _ns(credit_cap_ms, "credit_cap_ms", allow_zero=True)
        attr.weight_source = WEIGHT_SOURCES[weight_source]
        attr.pshared = int(bool(shared))
        attr.robust = int(bool(shared if robust is None else robust))
        self._mem = LockMemory("scl_mutex_t", shared)
        self._ptr = self._mem.ptr
        self._creator_pid = os.getpid()
        self._owner: int | None = None   # threading ident of the holder, in this process
        self.slice_ms, self.weight_source, self.shared = float(slice_ms), weight_source, shared
        check(lib.scl_mutex_init(self._ptr, attr), "scl_mutex_init")
        self._initialised = True

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock; False when non-blocking and busy, or on timeout."""
        wait = _check_timeout(blocking, timeout)
        if not blocking:
            rc = lib.scl_mutex_trylock(self._ptr)
            op = "scl_mutex_trylock"
        elif wait is None:
            rc = lib.scl_mutex_lock(self._ptr)
            op = "scl_mutex_lock"
        else:
            rc = lib.scl_mutex_clocklock(self._ptr, lib.CLOCK_MONOTONIC, _deadline(wait))
            op = "scl_mutex_clocklock"
        if rc in (errno.EBUSY, errno.ETIMEDOUT):
            return False
        if rc == errno.EOWNERDEAD:
            self._owner = threading.get_ident()
            raise OwnerDied(self, op)
        if rc == errno.EDEADLK:
            raise LockError(rc, op, "the calling thread already holds this lock")
        check(rc, op)
        self._owner = threading.get_ident()
        return True

    def release(self) -> None:
        """Release the lock; scl.NotOwnerError (a RuntimeError) when not held."""
        me = threading.get_ident()
        mine = self._owner == me
        if mine:
            # Cleared before the C unlock: afterwards another thread may
            # already own the lock and have recorded itself.
            self._owner = None
        rc = lib.scl_mutex_unlock(self._ptr)
        if rc != 0 and mine:
            self._owner = me
        check(rc, "scl_mutex_unlock")

    def consistent(self) -> None:
        """After scl.OwnerDied: declare the protected state repaired."""
        check(lib.scl_mutex_consistent(self._ptr), "scl_mutex_consistent")

    def locked(self) -> bool:
        """Whether a thread of this process holds the lock (per the binding's record)."""
        return self._owner is not None

    def held_by_me(self) -> bool:
        return self._owner == threading.get_ident()

    def set_slice(self, slice_ms: float) -> None:
        """Change the slice length; only while nobody uses the lock."""
        check(lib.scl_mutex_set_slice(self._ptr, _ns(slice_ms, "slice_ms")), "scl_mutex_set_slice")
        self.slice_ms = float(slice_ms)

    __enter__ = acquire

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "locked" if self.locked() else "unlocked"
        return f"<scl.Mutex {state} slice_ms={self.slice_ms:g} weights={self.weight_source}>"

    def __del__(self):
        # A fork()ed child must not destroy the parent's shared lock.
        if getattr(self, "_initialised", False) and os.getpid() == self._creator_pid:
            try:
                lib.scl_mutex_destroy(self._ptr)
            except Exception:   # interpreter shutdown may have torn `lib` down
                pass


class RWLock:
    """An RW-SCL reader-writer lock: read and write phases alternate in
    slices of `period_ms` split read_weight : write_weight; readers share the
    read phase and neither class can starve the other."""

    def __init__(self, period_ms: float = 20.0, read_weight: float = 1.0,
                 write_weight: float = 1.0, *, shared: bool = False):
        attr = ffi.new("scl_rwlockattr_t *")
        lib.scl_rwlockattr_init(attr)
        attr.period_ns = _ns(period_ms, "period_ms")
        for name, w in (("read_weight", read_weight), ("write_weight", write_weight)):
            if not isinstance(w, (int, float)) or not math.isfinite(w) or w <= 0:
                raise ValueError(f"{name} must be finite and > 0, got {w!r}")
        attr.read_weight, attr.write_weight = float(read_weight), float(write_weight)
        attr.pshared = int(bool(shared))
        self._mem = LockMemory("scl_rwlock_t", shared)
        self._ptr = self._mem.ptr
        self._creator_pid = os.getpid()
        check(lib.scl_rwlock_init(self._ptr, attr), "scl_rwlock_init")
        self._initialised = True

    def _acquire(self, write: bool, blocking: bool, timeout: float) -> bool:
        wait = _check_timeout(blocking, timeout)
        kind = "wr" if write else "rd"
        if not blocking:
            fn, args = getattr(lib, f"scl_rwlock_try{kind}lock"), ()
        elif wait is None:
            fn, args = getattr(lib, f"scl_rwlock_{kind}lock"), ()
        else:
            fn = getattr(lib, f"scl_rwlock_clock{kind}lock")
            args = (lib.CLOCK_MONOTONIC, _deadline(wait))
        rc = fn(self._ptr, *args)
        if rc in (errno.EBUSY, errno.ETIMEDOUT):
            return False
        if rc == errno.EDEADLK:
            raise LockError(rc, f"scl_rwlock_{kind}lock", "the calling thread already holds this lock")
        check(rc, f"scl_rwlock_{kind}lock")
        return True

    def acquire_read(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._acquire(False, blocking, timeout)

    def acquire_write(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._acquire(True, blocking, timeout)

    def release(self) -> None:
        check(lib.scl_rwlock_unlock(self._ptr), "scl_rwlock_unlock")

    @contextmanager
    def read(self, timeout: float = -1) -> Iterator[None]:
        if not self.acquire_read(timeout=timeout):
            raise TimeoutError(f"read lock not acquired within {timeout} s")
        try:
            yield
        finally:
            self.release()

    @contextmanager
    def write(self, timeout: float = -1) -> Iterator[None]:
        if not self.acquire_write(timeout=timeout):
            raise TimeoutError(f"write lock not acquired within {timeout} s")
        try:
            yield
        finally:
            self.release()

    def __del__(self):
        if getattr(self, "_initialised", False) and os.getpid() == self._creator_pid:
            try:
                lib.scl_rwlock_destroy(self._ptr)
            except Exception:   # interpreter shutdown may have torn `lib` down
                pass
