"""Process lifetime: children that never outlive the process that started them.

Every launcher in the kit (the replayer's fork server, the FaaS host's
sandbox templates, the node-level runs) forks helpers that must die with it,
even when it is SIGKILLed: PR_SET_PDEATHSIG asks the kernel to send SIGKILL
to the caller when its parent thread exits.  It survives exec, and is reset
by fork, so each generation sets it for itself.
"""
from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> None:
    """prctl(2) with one argument; OSError naming the option on failure."""
    if _libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")


# The pid of the process that last forked, as the child sees it.  A parent
# that dies between fork() and the child's prctl() sends no death signal:
# the child has already been re-parented.  Comparing getppid() with the pid
# recorded just before the fork closes that window (Python's fork paths,
# including subprocess with a preexec_fn, run the at-fork hooks).
_forked_by: int | None = None


def _record_forker() -> None:
    global _forked_by
    _forked_by = os.getpid()


os.register_at_fork(before=_record_forker)


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (call in the child, before exec if any).

    Also when the parent died before this call: then the kernel will send
    nothing, so the child kills itself now."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if _forked_by is not None and os.getppid() != _forked_by:
        os.kill(os.getpid(), signal.SIGKILL)


__all__ = ["PR_SET_PDEATHSIG", "prctl", "die_with_parent"]
