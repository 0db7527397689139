"""scl.Condition: a condition variable bound to an scl.Mutex.

Waiting releases the mutex and re-acquires it through the normal SCL path,
so a woken thread still waits out its ban and other threads' slices.
"""
from __future__ import annotations

import errno
import os
import threading
import time
from typing import Callable, TypeVar

from scl._lib import lib
from scl._memory import LockMemory
from scl.errors import OwnerDied, check
from scl.locks import Mutex, _deadline

T = TypeVar("T")


class Condition:
    """Like threading.Condition, on an scl.Mutex (a new one when none is given)."""

    def __init__(self, lock: Mutex | None = None):
        if lock is None:
            lock = Mutex()
        if not isinstance(lock, Mutex):
            raise TypeError(f"scl.Condition needs an scl.Mutex, got {type(lock).__name__}")
        self._lock = lock
        self._mem = LockMemory("scl_cond_t", lock.shared)
        self._ptr = self._mem.ptr
        self._creator_pid = os.getpid()
        check(lib.scl_cond_init(self._ptr, int(lock.shared)), "scl_cond_init")
        self._initialised = True
        self.acquire, self.release = lock.acquire, lock.release

    def __enter__(self):
        return self._lock.__enter__()

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)

    def _require_owner(self, what: str) -> None:
        if not self._lock.held_by_me():
            raise RuntimeError(f"cannot {what} on un-acquired lock")

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, sleep until notified or timeout, re-acquire.
        Returns False when the timeout expired."""
        self._require_owner("wait")
        if timeout is not None and timeout < 0:
            timeout = 0.0
        lock, me = self._lock, threading.get_ident()
        lock._owner = None
        try:
            if timeout is None:
                rc = lib.scl_cond_wait(self._ptr, lock._ptr)
            else:
                rc = lib.scl_cond_clockwait(self._ptr, lock._ptr, lib.CLOCK_MONOTONIC,
                                            _deadline(timeout))
        finally:
            # Whatever happened, the C call returns with the mutex held again
            # (as pthread_cond_wait does), except for EPERM which never released it.
            lock._owner = me
        if rc == errno.ETIMEDOUT:
            return False
        if rc == errno.EOWNERDEAD:
            raise OwnerDied(lock, "scl_cond_wait")
        check(rc, "scl_cond_wait")
        return True

    def wait_for(self, predicate: Callable[[], T], timeout: float | None = None) -> T:
        """Wait until predicate() is true or the timeout expires; its last value."""
        end = None if timeout is None else time.monotonic() + timeout
        result = predicate()
        while not result:
            if end is not None:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    break
                self.wait(remaining)
            else:
                self.wait()
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to n waiters."""
        self._require_owner("notify")
        for _ in range(n):
            check(lib.scl_cond_signal(self._ptr), "scl_cond_signal")

    def notify_all(self) -> None:
        self._require_owner("notify")
        check(lib.scl_cond_broadcast(self._ptr), "scl_cond_broadcast")

    def __del__(self):
        if getattr(self, "_initialised", False) and os.getpid() == self._creator_pid:
            try:
                lib.scl_cond_destroy(self._ptr)
            except Exception:   # interpreter shutdown may have torn `lib` down
                pass
