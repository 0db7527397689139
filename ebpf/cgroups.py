"""Resolving a cgroup path for the tracers' --cgroup filter."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CgroupTarget:
    path: Path
    version: int       # 1 or 2
    mount: Path
    level: int         # depth below the hierarchy's root (root = 0)
    cgroup_id: int     # v2: the directory's inode number, which is the kernel's cgroup id


def _mounts():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            fstype = right.split()[0] if right else ""
            yield Path(fields[4].replace("\\040", " ")), fstype


def resolve(path: str) -> CgroupTarget:
    """ValueError with a readable message when `path` is not a cgroup directory."""
    p = Path(path)
    if not p.is_absolute():
        raise ValueError(f"cgroup path must be absolute (e.g. /sys/fs/cgroup/unified/mygroup), got {path!r}")
    p = Path(os.path.realpath(p))
    if not p.is_dir():
        raise ValueError(f"cgroup {path}: no such directory")
    best = None
    for mount, fstype in _mounts():
        if fstype not in ("cgroup", "cgroup2"):
            continue
        if p == mount or mount in p.parents:
            if best is None or len(mount.parts) > len(best[0].parts):
                best = (mount, fstype)
    if best is None:
        raise ValueError(f"cgroup {path}: not inside a mounted cgroup hierarchy")
    mount, fstype = best
    level = len(p.relative_to(mount).parts)
    return CgroupTarget(p, 2 if fstype == "cgroup2" else 1, mount, level, os.stat(p).st_ino)


def v1_member_tgids(target: CgroupTarget) -> set[int]:
    """Processes in a cgroup-v1 directory and its descendants (read now)."""
    tgids: set[int] = set()
    for root, _dirs, files in os.walk(target.path):
        if "cgroup.procs" not in files:
            continue
        try:
            with open(os.path.join(root, "cgroup.procs")) as f:
                tgids.update(int(line) for line in f if line.strip())
        except OSError:
            continue
    return tgids
