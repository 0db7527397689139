"""One owner per tenant parent, and no groups left behind when the owner dies.

`ParentGuard.acquire()` takes an flock on ``<run dir>/agents/cgroup-<parent>.lock``
(so two agents never fight over one parent), removes what a dead previous
owner left (tasks moved up, groups removed), and starts the clean-up
watchdog (agent/watchdog.py).  `release()` tells the watchdog the owner
cleaned up itself, then drops the lock.

The lock is an flock on an open file description: the kernel drops it when
the owner dies, whatever the signal.  A child made with a bare fork() shares
that description and keeps the lock alive as long as it lives; the watchdog
then leaves clean-up to the next owner's start.
"""
from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
from pathlib import Path

from sharekit.cgroups import CgroupError, evacuate_parent
from sharekit.invocation_registry import run_dir

log = logging.getLogger(__name__)


def lock_path(parent: str) -> Path:
    return run_dir() / "agents" / f"cgroup-{parent}.lock"


class ParentGuard:
    def __init__(self, parent: str, root: Path | None = None, shares_path: Path | None = None) -> None:
        self.parent, self.root, self.shares_path = parent, root, shares_path
        self.lock = lock_path(parent)
        self._fd: int | None = None
        self._watchdog: subprocess.Popen | None = None

    def acquire(self) -> list[int]:
        """Own the parent; returns the pids a dead previous owner left in its groups."""
        try:
            self.lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise CgroupError(f"cannot open the ownership lock {self.lock}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise CgroupError(f"cgroup parent {self.parent!r} is owned by another running agent "
                              f"(lock {self.lock})") from None
        self._fd = fd
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        survivors = evacuate_parent(self.parent, self.root)
        if survivors:
            log.warning("cgroup parent %s: a previous owner died; moved %d task(s) out of its groups",
                        self.parent, len(survivors))
        cmd = [sys.executable, "-m", "agent.watchdog", "--pid", str(os.getpid()),
               "--parent", self.parent, "--lock", str(self.lock)]
        if self.root is not None:
            cmd += ["--root", str(self.root)]
        if self.shares_path is not None:
            cmd += ["--shares", str(self.shares_path)]
        self._watchdog = subprocess.Popen(cmd, stdin=subprocess.PIPE, start_new_session=True,
                                          env={**os.environ, "PYTHONPATH": _import_path()})
        return survivors

    @property
    def watchdog_pid(self) -> int | None:
        return self._watchdog.pid if self._watchdog else None

    def release(self) -> None:
        """Call after the owner removed its groups itself."""
        if self._watchdog is not None:
            try:  # communicate() writes, closes stdin (a dead reader is fine) and waits
                self._watchdog.communicate(b"done\n", timeout=5)
            except subprocess.TimeoutExpired:
                self._watchdog.kill()
                self._watchdog.wait()
            self._watchdog = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _import_path() -> str:
    """PYTHONPATH that finds this package in the watchdog, installed or not."""
    here = str(Path(__file__).resolve().parent.parent)
    rest = os.environ.get("PYTHONPATH")
    return here + (os.pathsep + rest if rest else "")
