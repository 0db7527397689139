"""Per-tenant cgroups: CPU weight, memory limit, usage, on cgroup v1 or v2.

    group = TenantCgroup.create("alice", cpu_weight=200, memory_max=512 << 20)
    group.add(pid)
    group.usage()            # CgroupUsage(cpu_seconds=..., memory_bytes=..., oom_kills=...)
    group.set_cpu_weight(50)
    group.remove()           # kills what is left inside, removes every directory it made

Groups live under one parent directory per user of this module (default
``sharekit``), so nothing is created at the top level beyond that parent, and
the parent is removed with its last tenant.  The layout (v1 or v2) is the
backend's business (backend.py); RT budgets are rtbudget.py's.

SCHED_FIFO and tenant groups.  On v1 with RT group scheduling a new cpu
group has no RT budget, so a task inside it cannot be SCHED_FIFO.  By default
tenant groups stay that way and FIFO tasks are kept at the cpu root while
they are FIFO (the node agent's TenantPlacement does the moving; cpuacct and
memory keep the task in its tenant group throughout, so accounting is
unaffected).  ``rt_budget=True`` instead splits an RT budget equally among
the parent's tenant groups, which caps each tenant's FIFO time per CPU and
is not work-conserving.  Cgroup v2 has no per-group RT budget: SCHED_FIFO in
a non-root group may fail with EPERM and callers treat that as "runs under
CFS".
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from .backend import CGROUP_ROOT, CgroupBackend, CgroupUsage, backend_for
from .fs import NAME, CgroupError, check_name, kill_all, mkdir, pids_in, rmdir, write
from .rtbudget import RtBudget, has_rt_budget_files, release

DEFAULT_PARENT = "sharekit"


class TenantCgroup:
    """One tenant's cgroup(s).  Build with `create`; always `remove` (or use `with`)."""

    def __init__(self, name: str, parent: str, backend: CgroupBackend, cpu_controller: bool = True,
                 rt_budget: bool = False):
        self.name = name
        self.parent = parent
        self.backend = backend
        self.version = backend.version
        self.root = backend.root
        self.rt_budget = rt_budget and backend.rt_group_scheduling
        self.removed = False
        self.dirs = backend.dirs(f"{parent}/{name}", cpu=cpu_controller)

    # -- construction --------------------------------------------------------
    @classmethod
    def create(cls, name: str, cpu_weight: int = 100, memory_max: int | None = None,
               parent: str = DEFAULT_PARENT, root: Path | None = None,
               cpu_controller: bool = True, rt_budget: bool = False) -> "TenantCgroup":
        """Create (or adopt, if it exists) the tenant group `parent/name`.

        cpu_controller=False (v1 only) leaves the tenant's processes in their
        current cpu cgroup: accounting (cpuacct) and memory stay per tenant,
        but there is no weight.  rt_budget=True (v1 with RT group scheduling)
        gives the group an equal share of the parent's RT budget; see the
        module docstring for why the default is no budget.
        """
        check_name("tenant name", name)
        check_name("parent name", parent)
        if not 1 <= cpu_weight <= 10000:
            raise CgroupError(f"cpu_weight {cpu_weight} out of range 1..10000")
        backend = backend_for(root)
        created = backend.prepare_parent(parent, cpu=cpu_controller)
        group = cls(name, parent, backend, cpu_controller, rt_budget)
        try:
            budget = RtBudget(backend.cpu_root / parent) if group.rt_budget and "cpu" in group.dirs else None
            if budget is not None:
                budget.ensure_parent(created=budget.parent in created)
            for directory in dict.fromkeys(group.dirs.values()):
                mkdir(directory)
            if budget is not None:
                budget.rebalance(joining=group.dirs["cpu"])
            backend.prepare_group(group.dirs)
            if "cpu" in group.dirs:
                group.set_cpu_weight(cpu_weight)
            if memory_max is not None:
                group.set_memory_max(memory_max)
        except BaseException:
            try:
                group.remove()
            except CgroupError:
                pass  # best effort: the error that made create() fail is the one to report
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
        cpu_dir = self._cpu_dir()
        if not 1 <= weight <= 10000:
            raise CgroupError(f"cpu_weight {weight} out of range 1..10000")
        self.backend.set_cpu_weight(cpu_dir, weight)

    def cpu_weight(self) -> int:
        return self.backend.cpu_weight(self._cpu_dir())

    def set_memory_max(self, limit_bytes: int | None) -> None:
        """Hard memory limit for the whole group; None lifts it."""
        self.backend.set_memory_max(self.dirs["memory"], limit_bytes)

    def memory_max(self) -> int | None:
        return self.backend.memory_max(self.dirs["memory"])

    @property
    def cgroup_path(self) -> str:
        """The group's path inside each hierarchy ("/parent/name")."""
        return f"/{self.parent}/{self.name}"

    # -- membership and usage -----------------------------------------------
    def _procs_files(self) -> list[Path]:
        return [d / "cgroup.procs" for d in dict.fromkeys(self.dirs.values())]

    def add(self, pid: int) -> None:
        """Move a process (all its threads) into the group, in every hierarchy."""
        for procs in self._procs_files():
            write(procs, str(pid))

    def add_to(self, controllers: tuple[str, ...], pid: int) -> None:
        """Move a process into the group in some hierarchies only (e.g. ("cpu",))."""
        for directory in dict.fromkeys(self.dirs[c] for c in controllers):
            write(directory / "cgroup.procs", str(pid))

    def _evacuate_caller(self) -> None:
        """Move the calling process's own threads out before the group goes.

        Removal kills whatever is inside, and on v1 a process is listed in
        `cgroup.procs` as soon as one of its threads is in the group: a thread
        that moved in (a Ray tenant worker's, or a test's) and left again may
        have started threads there, which inherit the group and stay.  Killing
        them would kill the caller.  They go to their hierarchy's root, as
        InTenantGroup's fallback does (v2 moves whole processes)."""
        me = os.getpid()
        try:
            own = {int(t) for t in os.listdir("/proc/self/task")}
        except OSError:
            own = {me}
        for controller, top in self.backend.hierarchies().items():
            d = self.dirs.get(controller)
            if d is None or not d.is_dir():
                continue
            members, target = (d / "tasks", top / "tasks") if self.version == 1 else \
                (d / "cgroup.procs", top / "cgroup.procs")
            for ident in pids_in(members):
                if ident in own or ident == me:
                    try:
                        write(target, str(ident))
                    except CgroupError:
                        pass  # gone meanwhile, or not movable: kill_all spares the caller anyway

    def pids(self) -> list[int]:
        return sorted({pid for procs in self._procs_files() for pid in pids_in(procs)})

    def usage(self) -> CgroupUsage:
        return self.backend.usage(self.dirs)

    def remove(self) -> None:
        """Kill anything still inside and remove every directory this object made."""
        if self.removed:
            return
        self.removed = True
        existing = [d for d in dict.fromkeys(self.dirs.values()) if d.is_dir()]
        self._evacuate_caller()
        kill_all([d / "cgroup.procs" for d in existing])
        if "cpu" in self.dirs:
            release(self.dirs["cpu"])
        for directory in existing:
            rmdir(directory)
        parent_cpu = self.backend.cpu_root / self.parent
        if self.rt_budget and parent_cpu.is_dir() and has_rt_budget_files(parent_cpu):
            RtBudget(parent_cpu).rebalance()
        # The shared parent goes with its last tenant, whoever created it.
        for parent_dir in dict.fromkeys(self.backend.dirs(self.parent).values()):
            if parent_dir.is_dir() and not any(p.is_dir() for p in parent_dir.iterdir()):
                try:
                    release(parent_dir)
                    rmdir(parent_dir, attempts=1)
                except CgroupError:
                    pass  # a sibling tenant was created meanwhile; its remove() cleans up

    def __repr__(self) -> str:
        return f"TenantCgroup({self.parent}/{self.name}, v{self.version})"


def _parent_tops(parent: str, root: Path | None) -> list[Path]:
    check_name("parent name", parent)
    try:
        backend = backend_for(root)
    except CgroupError:
        return []
    return list(dict.fromkeys(backend.dirs(parent).values()))


def remove_empty_parent(parent: str, root: Path | None = None) -> bool:
    """Remove `parent` and its tenant groups in every hierarchy if no task is left in them.

    For groups whose owner died without removing them (SIGKILL); True when
    nothing of `parent` remains.
    """
    clean = True
    for top in _parent_tops(parent, root):
        if not top.is_dir():
            continue
        for group in [p for p in top.iterdir() if p.is_dir()] + [top]:
            if pids_in(group / "cgroup.procs"):
                clean = False
                continue
            try:
                if group != top:
                    release(group)
                rmdir(group, attempts=1)
            except CgroupError:
                clean = False
    return clean


def evacuate_parent(parent: str, root: Path | None = None, patience_s: float = 2.0) -> list[int]:
    """Move every task of `parent`'s groups to the parent's parent, then remove the groups.

    For cleaning up after an owner that died (SIGKILL) while tenants still
    ran: their work survives, unmanaged, instead of being killed by a
    cleaner that cannot know whether it mattered.  Returns the pids moved.
    Moving up is always allowed: on v1 the hierarchy root has the whole RT
    budget, so even a SCHED_FIFO task can be moved there.

    The owner's own children die with it (PR_SET_PDEATHSIG) at the moment
    this runs.  The kernel silently skips an exiting task when moving, yet
    lists it and counts the group busy until the task has left its cgroups,
    and a task may fork while its siblings move: so move and remove again
    until nothing is left, for at most `patience_s`.
    """
    moved: set[int] = set()
    deadline = time.monotonic() + patience_s
    while True:
        for top in _parent_tops(parent, root):
            if not top.is_dir():
                continue
            up = top.parent / "cgroup.procs"
            groups = [p for p in top.iterdir() if p.is_dir()] + [top]
            for pid in [pid for group in groups for pid in pids_in(group / "cgroup.procs")]:
                try:
                    up.write_text(str(pid))
                    moved.add(pid)
                except OSError:
                    pass  # exited meanwhile
        if remove_empty_parent(parent, root) or time.monotonic() >= deadline:
            # An exiting task's write succeeded without moving it: count the living only.
            return sorted(pid for pid in moved if os.path.exists(f"/proc/{pid}"))
        time.sleep(0.02)


def stale_parents(prefix: str, root: Path | None = None) -> list[str]:
    """Parent groups named `<prefix><pid>` or `<prefix><pid>-<anything>`, in any
    hierarchy, whose owner `pid` is gone: what a SIGKILLed owner left behind.

    Every hierarchy is looked at: a clean-up that was cut short may have
    removed a parent from some hierarchies and not from others."""
    try:
        backend = backend_for(root)
    except CgroupError:
        return []
    names: set[str] = set()
    for top in dict.fromkeys(backend.hierarchies().values()):
        if top.is_dir():
            names.update(p.name for p in top.glob(f"{prefix}*") if p.is_dir())
    stale = []
    for name in sorted(names):
        owner = name[len(prefix):].split("-", 1)[0]
        if owner.isdigit() and NAME.match(name) and not os.path.exists(f"/proc/{owner}"):
            stale.append(name)
    return stale
