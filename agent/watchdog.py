"""Clean-up watchdog: removes a node agent's cgroups when the agent dies.

    python -m agent.watchdog --pid AGENT --parent NAME --lock FILE [--root DIR] [--shares FILE]

Started by the agent (in its own session, so a terminal's Ctrl-C does not
reach it) and waits on a pidfd of the agent.  If the agent says "done" on
stdin first, it exits: the agent cleaned up itself.  If the agent dies
instead (SIGKILL included), the watchdog takes the agent's ownership lock
without blocking, moves every task still in the agent's groups to the
parent's parent (work survives, unmanaged), removes the groups and deletes
the published shares so no reader follows a dead agent.  If the lock is
taken, a new agent already owns the parent and cleans stale groups itself.
"""
from __future__ import annotations

import argparse
import fcntl
import os
import select
import signal
import sys
from pathlib import Path


def clean_up(parent: str, root: Path | None, lock: Path, shares: Path | None) -> bool:
    from sharekit.cgroups import evacuate_parent
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = None
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # a new owner runs; it removes stale groups at start
        evacuate_parent(parent, root)
        if shares is not None:
            try:
                shares.unlink()
            except FileNotFoundError:
                pass
        return True
    finally:
        if fd is not None:
            os.close(fd)


def watch(pid: int, stdin_fd: int = 0) -> bool:
    """Block until agent `pid` dies (True) or says "done" on stdin (False)."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(stdin_fd, select.POLLIN)
    said = b""
    try:
        while True:
            for fd, _ in poller.poll():
                if fd == pidfd:
                    return True
                chunk = os.read(stdin_fd, 64)
                said += chunk
                if b"done" in said:
                    return False
                if not chunk:  # EOF without "done": keep watching the pidfd only
                    poller.unregister(stdin_fd)
    finally:
        os.close(pidfd)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agent.watchdog", description=__doc__.splitlines()[0])
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--parent", required=True)
    ap.add_argument("--lock", type=Path, required=True)
    ap.add_argument("--root", type=Path)
    ap.add_argument("--shares", type=Path)
    args = ap.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if watch(args.pid):
        clean_up(args.parent, args.root, args.lock, args.shares)
    return 0


if __name__ == "__main__":
    sys.exit(main())
