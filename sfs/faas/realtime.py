"""RT priority for the arrival path (gateway, load client), with a way back.

The gateway and the load generator must not be starved by functions that
hold every core under SCHED_FIFO, so they run at an RT priority above the
functions.  Three guards keep that from outliving its purpose:
SCHED_RESET_ON_FORK (children start under SCHED_OTHER), RLIMIT_RTTIME (a
thread that spins without blocking gets SIGXCPU, on which we drop to
SCHED_OTHER) and `normal()` in finally blocks.
"""
from __future__ import annotations

import logging
import os
import resource
import signal

log = logging.getLogger(__name__)
RTTIME_SOFT_US = 2_000_000


_tripped = False


def _on_sigxcpu(signum, frame) -> None:
    global _tripped
    _tripped = True
    normal()
    log.error("RT time limit hit: the arrival path now runs under SCHED_OTHER")


def raise_to(priority: int) -> bool:
    """This thread to SCHED_FIFO `priority` (with reset-on-fork); False when not permitted."""
    if priority <= 0:
        return False
    try:
        # Soft limit only: children inherit the rlimit, and a hard limit could
        # never be raised again by the unprivileged sandboxes that need it gone.
        hard = resource.getrlimit(resource.RLIMIT_RTTIME)[1]
        resource.setrlimit(resource.RLIMIT_RTTIME, (RTTIME_SOFT_US if hard == resource.RLIM_INFINITY else min(RTTIME_SOFT_US, hard), hard))
        signal.signal(signal.SIGXCPU, _on_sigxcpu)
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(priority))
        return True
    except (PermissionError, OSError, ValueError) as exc:
        log.warning("cannot run at SCHED_FIFO %d (%s): staying under SCHED_OTHER", priority, exc)
        return False


def normal() -> None:
    try:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except OSError:
        pass


def ensure(priority: int, pid: int = 0) -> bool:
    """Put `pid` (0: this thread) back at SCHED_FIFO `priority` if something demoted it.

    On a shared machine other tools demote RT tasks they did not start (RT
    hygiene checks); a demoted arrival path would be starved by the functions
    and measure its own delay.  Returns True when it had to act.  Never undoes
    our own SIGXCPU guard.
    """
    if priority <= 0 or (pid == 0 and _tripped):
        return False
    try:
        if os.sched_getscheduler(pid) & ~os.SCHED_RESET_ON_FORK == os.SCHED_FIFO:
            return False
        os.sched_setscheduler(pid, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(priority))
        return True
    except OSError:
        return False
