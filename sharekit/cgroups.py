"""Per-tenant cgroups: CPU weight, memory limit, usage, on cgroup v1 or v2.

    group = TenantCgroup.create("alice", cpu_weight=200, memory_max=512 << 20)
    group.add(pid)
    group.usage()            # CgroupUsage(cpu_seconds=..., memory_bytes=..., oom_kills=...)
    group.set_cpu_weight(50)
    group.remove()           # kills what is left inside, removes every directory it made

Groups live under one parent directory per user of this module (default
``sharekit``), so nothing is created at the top level beyond that parent, and
the parent is removed with its last tenant.

Layouts.  A pure v2 host (``/sys/fs/cgroup/cgroup.controllers`` exists) uses
``cpu.weight`` / ``memory.max``.  A v1 host uses the ``cpu`` (``cpu.shares``),
``cpuacct`` and ``memory`` (``memory.limit_in_bytes``) hierarchies.  A hybrid
host whose v2 tree (``/sys/fs/cgroup/unified``) carries no controllers is
treated as v1, since v2 could neither weigh nor limit there.

Real-time bandwidth.  With CONFIG_RT_GROUP_SCHED a v1 cpu cgroup starts with
``cpu.rt_runtime_us = 0`` and refuses SCHED_FIFO for its tasks, which would
make SFS unusable for anything in a tenant group.  So on v1 the parent gets a
real-time budget and the tenants split it equally (rebalanced under a file
lock whenever one is created or removed, shrinking before growing so the
kernel's "children never exceed the parent" check always holds).  Tenant
groups use a 100 ms RT period so that a tenant that exhausts its share stalls
for at most tens of milliseconds, not most of a second.  Cgroup v2 has no
per-group RT budget; there SCHED_FIFO in a non-root cgroup may fail with EPERM
and callers must treat that as "runs under CFS".
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path(os.environ.get("SHAREKIT_CGROUP_ROOT", "/sys/fs/cgroup"))
DEFAULT_PARENT = "sharekit"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TENANT_RT_PERIOD_US = 100_000
# Leave this much of the host RT budget to real-time groups made by others.
_PARENT_RT_FRACTION = 0.9


class CgroupError(RuntimeError):
    """A cgroup operation failed; the message names the file involved."""


@dataclass(frozen=True)
class CgroupUsage:
    cpu_seconds: float
    memory_bytes: int
    oom_kills: int


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as exc:
        raise CgroupError(f"cannot write {value!r} to {path}: {exc.strerror or exc}") from exc


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise CgroupError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _keyed(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def detect_version(root: Path = CGROUP_ROOT) -> int:
    """2 for a usable v2 tree, 1 for v1 cpu/cpuacct/memory; CgroupError when neither."""
    if (root / "cgroup.controllers").exists():
        return 2
    if (root / "cpu" / "cpu.shares").exists() and (root / "memory").is_dir():
        return 1
    unified = root / "unified" / "cgroup.controllers"
    if unified.exists() and {"cpu", "memory"} <= set(unified.read_text().split()):
        return 2
    raise CgroupError(f"no usable cgroup hierarchy under {root} (need v2 with cpu+memory, or v1 cpu+memory)")


def _v2_root(root: Path) -> Path:
    return root if (root / "cgroup.controllers").exists() else root / "unified"


def _v1_dirs(root: Path, relative: str) -> dict[str, Path]:
    return {c: root / c / relative for c in ("cpu", "cpuacct", "memory")}


def weight_to_shares(weight: int) -> int:
    """v2 weight (1..10000, default 100) to v1 shares (default 1024)."""
    return max(2, round(weight * 1024 / 100))


def _kill_all(procs_files: list[Path], deadline_s: float = 2.0) -> None:
    end = time.monotonic() + deadline_s
    while True:
        pids = set()
        for procs in procs_files:
            try:
                pids.update(int(p) for p in procs.read_text().split())
            except OSError:
                pass
        if not pids or time.monotonic() > end:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)


def _rmdir(path: Path, attempts: int = 50) -> None:
    for _ in range(attempts):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise CgroupError(f"cannot remove {path}: {exc.strerror}") from exc
            time.sleep(0.02)  # a killed task is still being torn down
    raise CgroupError(f"cannot remove {path}: still busy")


class _RtBudget:
    """Splits the v1 RT budget of the parent equally among its tenant groups."""

    def __init__(self, parent_cpu_dir: Path) -> None:
        self.parent = parent_cpu_dir

    def available(self) -> bool:
        return (self.parent / "cpu.rt_runtime_us").exists()

    def _lock(self):
        fd = os.open(self.parent, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def grant_parent(self) -> None:
        root = self.parent.parent
        root_period = int(_read(root / "cpu.rt_period_us"))
        root_runtime = int(_read(root / "cpu.rt_runtime_us"))
        if root_runtime < 0:  # -1 means unlimited
            root_runtime = root_period
        taken = 0.0
        for sibling in root.iterdir():
            if sibling.is_dir() and sibling != self.parent and (sibling / "cpu.rt_runtime_us").exists():
                taken += int((sibling / "cpu.rt_runtime_us").read_text()) / int((sibling / "cpu.rt_period_us").read_text())
        ratio = max(0.0, min(root_runtime / root_period * _PARENT_RT_FRACTION, root_runtime / root_period - taken))
        period = int(_read(self.parent / "cpu.rt_period_us"))
        # The kernel also counts bandwidth we cannot see from here (deadline
        # servers, groups of other hierarchies): take the largest grant it accepts.
        low, high = 0, int(ratio * period)
        while high - low > period // 200:
            mid = (low + high) // 2
            try:
                (self.parent / "cpu.rt_runtime_us").write_text(str(mid))
                low = mid
            except OSError:
                high = mid
        try:
            (self.parent / "cpu.rt_runtime_us").write_text(str(high))
        except OSError:
            _write(self.parent / "cpu.rt_runtime_us", str(low))

    def rebalance(self, joining: Path | None = None) -> None:
        """Give every tenant group (plus `joining`) an equal share, shrinking first."""
        fd = self._lock()
        try:
            parent_ratio = int(_read(self.parent / "cpu.rt_runtime_us")) / int(_read(self.parent / "cpu.rt_period_us"))
            groups = [p for p in self.parent.iterdir() if p.is_dir() and p != joining]
            members = groups + ([joining] if joining is not None else [])
            if not members:
                return
            # 1% margin: the kernel compares fixed-point ratios that truncate differently per period.
            share = int(parent_ratio / len(members) * TENANT_RT_PERIOD_US * 0.99)
            for group in groups:  # shrink the existing ones before anyone grows
                current = int(_read(group / "cpu.rt_runtime_us"))
                if current > share:
                    _write(group / "cpu.rt_runtime_us", str(share))
            for group in members:
                if int(_read(group / "cpu.rt_period_us")) != TENANT_RT_PERIOD_US:
                    _write(group / "cpu.rt_runtime_us", "0")
                    _write(group / "cpu.rt_period_us", str(TENANT_RT_PERIOD_US))
                try:
                    (group / "cpu.rt_runtime_us").write_text(str(share))
                except OSError:
                    if group == joining:
                        raise CgroupError(f"cannot grant {share} us of RT runtime to {group}: "
                                          "the parent's budget is taken") from None
                    # Growing an existing group is best effort: keep its smaller share.
        finally:
            os.close(fd)


class TenantCgroup:
    """One tenant's cgroup(s).  Build with `create`; always `remove` (or use `with`)."""

    def __init__(self, name: str, parent: str, version: int, root: Path, cpu_controller: bool = True):
        self.name = name
        self.parent = parent
        self.version = version
        self.root = root
        self.removed = False
        if version == 1:
            self.dirs = _v1_dirs(root, f"{parent}/{name}")
            if not cpu_controller:
                del self.dirs["cpu"]
        else:
            self.dirs = {"cpu": _v2_root(root) / parent / name}
            self.dirs["cpuacct"] = self.dirs["memory"] = self.dirs["cpu"]

    # -- construction --------------------------------------------------------
    @classmethod
    def create(cls, name: str, cpu_weight: int = 100, memory_max: int | None = None,
               parent: str = DEFAULT_PARENT, root: Path | None = None,
               cpu_controller: bool = True) -> "TenantCgroup":
        """Create (or adopt, if it exists) the tenant group `parent/name`.

        cpu_controller=False (v1 only) leaves the tenant's processes in their
        current cpu cgroup: accounting (cpuacct) and memory stay per tenant, but
        there is no weight, and no cap on the tenant's SCHED_FIFO time (with RT
        group scheduling every tenant cpu group gets only its share of the
        parent's RT budget, enforced per CPU).
        """
        for label, value in (("tenant name", name), ("parent name", parent)):
            if not _NAME.match(value):
                raise CgroupError(f"invalid {label} {value!r}: use 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'")
        if not 1 <= cpu_weight <= 10000:
            raise CgroupError(f"cpu_weight {cpu_weight} out of range 1..10000")
        root = root or CGROUP_ROOT
        version = detect_version(root)
        created: list[Path] = []
        if version == 1:
            for controller, directory in _v1_dirs(root, parent).items():
                if controller == "cpu" and not cpu_controller:
                    continue
                if not directory.is_dir():
                    directory.mkdir()
                    created.append(directory)
        else:
            base = _v2_root(root)
            parent_dir = base / parent
            if not parent_dir.is_dir():
                parent_dir.mkdir()
                created.append(parent_dir)
            for level in (base, parent_dir):
                _write(level / "cgroup.subtree_control", "+cpu +memory")
        group = cls(name, parent, version, root, cpu_controller)
        use_cpu = "cpu" in group.dirs
        try:
            if version == 1 and use_cpu:
                budget = _RtBudget(root / "cpu" / parent)
                if budget.available() and (root / "cpu" / parent in created
                                           or int(_read(root / "cpu" / parent / "cpu.rt_runtime_us")) == 0):
                    budget.grant_parent()
            for directory in dict.fromkeys(group.dirs.values()):
                directory.mkdir(exist_ok=True)
            if version == 1:
                budget = _RtBudget(root / "cpu" / parent)
                if use_cpu and budget.available():
                    budget.rebalance(joining=group.dirs["cpu"])
                if (group.dirs["memory"] / "memory.oom_control").exists():
                    # Kill on OOM rather than pausing the group (the v1 default is already
                    # to kill; make it explicit in case the parent was set otherwise).
                    _write(group.dirs["memory"] / "memory.oom_control", "0")
            if use_cpu:
                group.set_cpu_weight(cpu_weight)
            if memory_max is not None:
                group.set_memory_max(memory_max)
        except BaseException:
            group.remove()
            raise
        return group

    def __enter__(self) -> "TenantCgroup":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    # -- knobs ---------------------------------------------------------------
    def _cpu_dir(self) -> Path:
        if "cpu" not in self.dirs:
            raise CgroupError(f"{self} was created without the cpu controller: it has no weight")
        return self.dirs["cpu"]

    def set_cpu_weight(self, weight: int) -> None:
        self._cpu_dir()
        if not 1 <= weight <= 10000:
            raise CgroupError(f"cpu_weight {weight} out of range 1..10000")
        if self.version == 1:
            _write(self.dirs["cpu"] / "cpu.shares", str(weight_to_shares(weight)))
        else:
            _write(self.dirs["cpu"] / "cpu.weight", str(weight))

    def cpu_weight(self) -> int:
        self._cpu_dir()
        if self.version == 1:
            return round(int(_read(self.dirs["cpu"] / "cpu.shares")) * 100 / 1024)
        return int(_read(self.dirs["cpu"] / "cpu.weight"))

    def set_memory_max(self, limit_bytes: int | None) -> None:
        """Hard memory limit for the whole group; None lifts it."""
        memory = self.dirs["memory"]
        if self.version == 1:
            value = str(limit_bytes) if limit_bytes is not None else "-1"
            memsw = memory / "memory.memsw.limit_in_bytes"
            if limit_bytes is not None:
                _write(memory / "memory.limit_in_bytes", value)
                if memsw.exists():  # no escaping the limit into swap (memsw must stay >= limit)
                    _write(memsw, value)
            else:
                if memsw.exists():
                    _write(memsw, value)
                _write(memory / "memory.limit_in_bytes", value)
        else:
            _write(memory / "memory.max", str(limit_bytes) if limit_bytes is not None else "max")
            swap = memory / "memory.swap.max"
            if swap.exists():
                _write(swap, "0" if limit_bytes is not None else "max")

    def memory_max(self) -> int | None:
        if self.version == 1:
            value = int(_read(self.dirs["memory"] / "memory.limit_in_bytes"))
            return None if value >= 1 << 62 else value
        text = _read(self.dirs["memory"] / "memory.max").strip()
        return None if text == "max" else int(text)

    # -- membership and usage -----------------------------------------------
    def _procs_files(self) -> list[Path]:
        return [d / "cgroup.procs" for d in dict.fromkeys(self.dirs.values())]

    def add(self, pid: int) -> None:
        """Move a process (all its threads) into the group."""
        for procs in self._procs_files():
            _write(procs, str(pid))

    def pids(self) -> list[int]:
        found: set[int] = set()
        for procs in self._procs_files():
            try:
                found.update(int(p) for p in procs.read_text().split())
            except OSError:
                pass
        return sorted(found)

    def usage(self) -> CgroupUsage:
        if self.version == 1:
            cpu_ns = int(_read(self.dirs["cpuacct"] / "cpuacct.usage"))
            memory = int(_read(self.dirs["memory"] / "memory.usage_in_bytes"))
            oom = _keyed(_read(self.dirs["memory"] / "memory.oom_control")).get("oom_kill", 0)
            return CgroupUsage(cpu_ns / 1e9, memory, oom)
        stat = _keyed(_read(self.dirs["cpu"] / "cpu.stat"))
        memory = int(_read(self.dirs["memory"] / "memory.current"))
        oom = _keyed(_read(self.dirs["memory"] / "memory.events")).get("oom_kill", 0)
        return CgroupUsage(stat.get("usage_usec", 0) / 1e6, memory, oom)

    def remove(self) -> None:
        """Kill anything still inside and remove every directory this object made."""
        if self.removed:
            return
        self.removed = True
        existing = [d for d in dict.fromkeys(self.dirs.values()) if d.is_dir()]
        _kill_all([d / "cgroup.procs" for d in existing])
        rt_file = self.dirs["cpu"] / "cpu.rt_runtime_us" if "cpu" in self.dirs else None
        if self.version == 1 and rt_file is not None and rt_file.exists():
            # Release the RT budget now: rmdir frees it only when the kernel
            # gets round to destroying the group, and siblings grow right away.
            try:
                rt_file.write_text("0")
            except OSError:
                pass
        for directory in existing:
            _rmdir(directory)
        if self.version == 1 and "cpu" in self.dirs:
            budget = _RtBudget(self.root / "cpu" / self.parent)
            if budget.available() and (self.root / "cpu" / self.parent).is_dir():
                budget.rebalance()
        # The shared parent goes with its last tenant, whoever created it.
        parents = (_v1_dirs(self.root, self.parent).values() if self.version == 1
                   else [_v2_root(self.root) / self.parent])
        for parent_dir in parents:
            if parent_dir.is_dir() and not any(p.is_dir() for p in parent_dir.iterdir()):
                try:
                    if (parent_dir / "cpu.rt_runtime_us").exists():
                        (parent_dir / "cpu.rt_runtime_us").write_text("0")  # see above
                    parent_dir.rmdir()
                except OSError:
                    pass  # a sibling tenant was created meanwhile; its remove() cleans up

    def __repr__(self) -> str:
        return f"TenantCgroup({self.parent}/{self.name}, v{self.version})"


def remove_empty_parent(parent: str, root: Path | None = None) -> bool:
    """Remove `parent` and its tenant groups in every hierarchy if no task is left in them.

    For groups whose owner died without removing them (SIGKILL); True when
    nothing of `parent` remains.
    """
    if not _NAME.match(parent):
        raise CgroupError(f"invalid parent name {parent!r}")
    root = root or CGROUP_ROOT
    try:
        version = detect_version(root)
    except CgroupError:
        return True
    tops = list(_v1_dirs(root, parent).values()) if version == 1 else [_v2_root(root) / parent]
    clean = True
    for top in tops:
        if not top.is_dir():
            continue
        for group in [p for p in top.iterdir() if p.is_dir()] + [top]:
            rt = group / "cpu.rt_runtime_us"
            try:
                if (group / "cgroup.procs").read_text().strip():
                    clean = False
                    continue
                if rt.exists() and group != top:
                    rt.write_text("0")
                group.rmdir()
            except OSError:
                clean = False
    return clean
