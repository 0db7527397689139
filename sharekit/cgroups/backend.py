"""One interface over the two cgroup layouts; `backend_for(root)` picks one.

A backend knows where a group's directories are in each hierarchy and how to
read and write CPU weight, memory limit and usage there.  It knows nothing
about tenants, parents or RT budgets (see tenant.py and rtbudget.py).

Layouts.  A pure v2 host (``<root>/cgroup.controllers``) uses ``cpu.weight``
and ``memory.max``.  A v1 host uses the ``cpu`` (``cpu.shares``), ``cpuacct``
and ``memory`` hierarchies.  A hybrid host uses whichever hierarchy has the
cpu controller: a v2 tree at ``<root>/unified`` is used only when it has cpu
and memory; with v1 ``cpu`` mounted beside it (as on this kit's test
machines, where the unified tree carries only hugetlb) v1 wins.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from .fs import CgroupError, keyed, mkdir, read, write

CONTROLLERS = ("cpu", "cpuacct", "memory")
CGROUP_ROOT = Path(os.environ.get("SHAREKIT_CGROUP_ROOT", "/sys/fs/cgroup"))


@dataclass(frozen=True)
class CgroupUsage:
    cpu_seconds: float
    memory_bytes: int
    oom_kills: int


def weight_to_shares(weight: int) -> int:
    """v2 weight (1..10000, default 100) to v1 shares (default 1024)."""
    return max(2, round(weight * 1024 / 100))


def detect_version(root: Path | None = None) -> int:
    """2 for a usable v2 tree, 1 for v1 cpu/cpuacct/memory; CgroupError when neither."""
    root = Path(root or CGROUP_ROOT)
    if (root / "cgroup.controllers").exists():
        return 2
    if (root / "cpu" / "cpu.shares").exists() and (root / "memory").is_dir():
        return 1
    unified = root / "unified" / "cgroup.controllers"
    if unified.exists() and {"cpu", "memory"} <= set(unified.read_text().split()):
        return 2
    raise CgroupError(f"no usable cgroup hierarchy under {root} (need v2 with cpu+memory, or v1 cpu+memory)")


class CgroupBackend(ABC):
    """Where groups live and how their knobs are spelled, for one layout."""

    version: int

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @abstractmethod
    def hierarchies(self, cpu: bool = True) -> dict[str, Path]:
        """Controller -> root directory of its hierarchy (v2: one tree for all)."""

    def dirs(self, relative: str, cpu: bool = True) -> dict[str, Path]:
        """Controller -> the directory of group `relative` (e.g. "parent/tenant")."""
        return {c: top / relative for c, top in self.hierarchies(cpu).items()}

    def prepare_parent(self, parent: str, cpu: bool = True) -> list[Path]:
        """Make the parent group in every hierarchy; return the directories created."""
        created = []
        for directory in dict.fromkeys(self.dirs(parent, cpu).values()):
            if mkdir(directory):
                created.append(directory)
        return created

    def prepare_group(self, dirs: dict[str, Path]) -> None:
        """Settings a fresh group needs before use (none by default)."""

    @property
    def cpu_root(self) -> Path:
        return self.hierarchies()["cpu"]

    @property
    def rt_group_scheduling(self) -> bool:
        """True when cpu groups have their own RT budget (v1 with CONFIG_RT_GROUP_SCHED)."""
        return False

    @abstractmethod
    def set_cpu_weight(self, cpu_dir: Path, weight: int) -> None: ...

    @abstractmethod
    def cpu_weight(self, cpu_dir: Path) -> int: ...

    @abstractmethod
    def set_memory_max(self, memory_dir: Path, limit_bytes: int | None) -> None: ...

    @abstractmethod
    def memory_max(self, memory_dir: Path) -> int | None: ...

    @abstractmethod
    def usage(self, dirs: dict[str, Path]) -> CgroupUsage: ...

    def cgroup_path(self, directory: Path) -> str:
        """A group's path relative to its hierarchy root ("/parent/tenant")."""
        for top in self.hierarchies().values():
            try:
                return "/" + str(directory.relative_to(top))
            except ValueError:
                continue
        raise CgroupError(f"{directory} is not inside {self.root}")


class CgroupV1(CgroupBackend):
    version = 1

    def hierarchies(self, cpu: bool = True) -> dict[str, Path]:
        return {c: self.root / c for c in CONTROLLERS if cpu or c != "cpu"}

    def prepare_group(self, dirs: dict[str, Path]) -> None:
        if (dirs["memory"] / "memory.oom_control").exists():
            # Kill on OOM rather than pausing the group (the v1 default is already
            # to kill; make it explicit in case the parent was set otherwise).
            write(dirs["memory"] / "memory.oom_control", "0")

    @property
    def rt_group_scheduling(self) -> bool:
        return (self.root / "cpu" / "cpu.rt_runtime_us").exists()

    def set_cpu_weight(self, cpu_dir: Path, weight: int) -> None:
        write(cpu_dir / "cpu.shares", str(weight_to_shares(weight)))

    def cpu_weight(self, cpu_dir: Path) -> int:
        return round(int(read(cpu_dir / "cpu.shares")) * 100 / 1024)

    def set_memory_max(self, memory_dir: Path, limit_bytes: int | None) -> None:
        value = str(limit_bytes) if limit_bytes is not None else "-1"
        memsw = memory_dir / "memory.memsw.limit_in_bytes"
        # memsw must stay >= the limit: lower the limit first, raise memsw first.
        if limit_bytes is not None:
            write(memory_dir / "memory.limit_in_bytes", value)
            if memsw.exists():  # no escaping the limit into swap
                write(memsw, value)
        else:
            if memsw.exists():
                write(memsw, value)
            write(memory_dir / "memory.limit_in_bytes", value)

    def memory_max(self, memory_dir: Path) -> int | None:
        value = int(read(memory_dir / "memory.limit_in_bytes"))
        return None if value < 0 or value >= 1 << 62 else value

    def usage(self, dirs: dict[str, Path]) -> CgroupUsage:
        cpu_ns = int(read(dirs["cpuacct"] / "cpuacct.usage"))
        memory = int(read(dirs["memory"] / "memory.usage_in_bytes"))
        oom = keyed(read(dirs["memory"] / "memory.oom_control")).get("oom_kill", 0)
        return CgroupUsage(cpu_ns / 1e9, memory, oom)


class CgroupV2(CgroupBackend):
    version = 2

    @property
    def base(self) -> Path:
        return self.root if (self.root / "cgroup.controllers").exists() else self.root / "unified"

    def hierarchies(self, cpu: bool = True) -> dict[str, Path]:
        # One tree: the "cpuacct" role is cpu.stat of the same directory.
        return {c: self.base for c in CONTROLLERS}

    def prepare_parent(self, parent: str, cpu: bool = True) -> list[Path]:
        created = super().prepare_parent(parent, cpu)
        for level in (self.base, self.base / parent):
            write(level / "cgroup.subtree_control", "+cpu +memory")
        return created

    def set_cpu_weight(self, cpu_dir: Path, weight: int) -> None:
        write(cpu_dir / "cpu.weight", str(weight))

    def cpu_weight(self, cpu_dir: Path) -> int:
        return int(read(cpu_dir / "cpu.weight"))

    def set_memory_max(self, memory_dir: Path, limit_bytes: int | None) -> None:
        write(memory_dir / "memory.max", str(limit_bytes) if limit_bytes is not None else "max")
        swap = memory_dir / "memory.swap.max"
        if swap.exists():
            write(swap, "0" if limit_bytes is not None else "max")

    def memory_max(self, memory_dir: Path) -> int | None:
        text = read(memory_dir / "memory.max").strip()
        return None if text == "max" else int(text)

    def usage(self, dirs: dict[str, Path]) -> CgroupUsage:
        stat = keyed(read(dirs["cpu"] / "cpu.stat"))
        memory = int(read(dirs["memory"] / "memory.current"))
        oom = keyed(read(dirs["memory"] / "memory.events")).get("oom_kill", 0)
        return CgroupUsage(stat.get("usage_usec", 0) / 1e6, memory, oom)


def backend_for(root: Path | None = None) -> CgroupBackend:
    root = Path(root or CGROUP_ROOT)
    return CgroupV1(root) if detect_version(root) == 1 else CgroupV2(root)
