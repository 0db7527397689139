"""Exceptions for errors the C library reports as errno values."""
from __future__ import annotations

import errno as _errno
import os


class LockError(RuntimeError):
    """A lock call failed; `errno` holds the C library's error code."""

    def __init__(self, err: int, operation: str, detail: str = ""):
        self.errno = err
        self.operation = operation
        name = _errno.errorcode.get(err, str(err))
        msg = f"{operation}: {os.strerror(err)} ({name})"
        super().__init__(msg + (f": {detail}" if detail else ""))


class NotOwnerError(LockError):
    """Releasing (or waiting on) a lock the calling thread does not hold."""


class OwnerDied(LockError):
    """A robust, process-shared lock's previous owner died while holding it.

    The calling thread now HOLDS the lock.  Repair the protected state, then
    call `exc.lock.consistent()` and go on; releasing without that makes the
    lock permanently unusable (`NotRecoverable` for everybody after).
    """

    def __init__(self, lock, operation: str):
        self.lock = lock
        super().__init__(_errno.EOWNERDEAD, operation,
                         "the lock is now held by the caller; call .consistent() after repairing state")


class NotRecoverable(LockError):
    """The lock was released after an owner death without being made consistent."""


def check(rc: int, operation: str) -> None:
    """Raise the exception matching a nonzero C return code."""
    if rc == 0:
        return
    if rc < 0:          # stats calls return -errno
        rc = -rc
    if rc == _errno.EPERM:
        raise NotOwnerError(rc, operation, "the calling thread does not hold this lock")
    if rc == _errno.ENOTRECOVERABLE:
        raise NotRecoverable(rc, operation)
    if rc == _errno.EINVAL:
        raise ValueError(f"{operation}: invalid argument (EINVAL)")
    raise LockError(rc, operation)
