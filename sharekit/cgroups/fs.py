"""Small file operations on a cgroup tree (real cgroupfs or a fake tree in a directory)."""
from __future__ import annotations

import errno
import os
import re
import signal
import time
from pathlib import Path

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class CgroupError(RuntimeError):
    """A cgroup operation failed; the message names the file involved."""


def check_name(label: str, value: str) -> None:
    if not isinstance(value, str) or not NAME.match(value):
        raise CgroupError(f"invalid {label} {value!r}: use 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'")


def write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as exc:
        raise CgroupError(f"cannot write {value!r} to {path}: {exc.strerror or exc}") from exc


def read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise CgroupError(f"cannot read {path}: {exc.strerror or exc}") from exc


def mkdir(path: Path) -> bool:
    """Create one group directory; False when it existed already."""
    try:
        path.mkdir()
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        raise CgroupError(f"cannot create {path}: {exc.strerror or exc}") from exc


def keyed(text: str) -> dict[str, int]:
    """`key value` lines (cpu.stat, memory.events, memory.oom_control) as a dict."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def pids_in(procs: Path) -> list[int]:
    try:
        return [int(p) for p in procs.read_text().split()]
    except (OSError, ValueError):
        return []


def kill_all(procs_files: list[Path], deadline_s: float = 2.0) -> None:
    """SIGKILL every process listed in `procs_files` until none is left (or
    the deadline passes), except the caller itself: the group then stays
    busy and its removal fails with an error instead of killing the caller."""
    end = time.monotonic() + deadline_s
    me = os.getpid()
    while True:
        pids = {pid for procs in procs_files for pid in pids_in(procs)} - {me}
        if not pids or time.monotonic() > end:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)


def rmdir(path: Path, attempts: int = 50) -> None:
    """Remove one group directory.

    cgroupfs removes a group with its control files in one rmdir and answers
    EBUSY while a dying task is still being torn down.  A fake tree (a plain
    directory used by tests) answers ENOTEMPTY because its "control files"
    are regular files: unlink those and retry.  On cgroupfs ENOTEMPTY means a
    child group, and unlinking a control file fails, so nothing is lost.
    """
    for _ in range(attempts):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno == errno.ENOTEMPTY:
                _unlink_fake_files(path, exc)
                continue
            if exc.errno != errno.EBUSY:
                raise CgroupError(f"cannot remove {path}: {exc.strerror}") from exc
            time.sleep(0.02)  # a killed task is still being torn down
    try:
        path.rmdir()  # the last unlink or the last sleep may have freed it
        return
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CgroupError(f"cannot remove {path}: {exc.strerror}") from None


def _unlink_fake_files(path: Path, exc: OSError) -> None:
    entries = list(path.iterdir())
    if any(p.is_dir() for p in entries):
        raise CgroupError(f"cannot remove {path}: it has child groups") from exc
    for p in entries:
        try:
            p.unlink()
        except OSError:
            raise CgroupError(f"cannot remove {path}: {exc.strerror}") from exc
