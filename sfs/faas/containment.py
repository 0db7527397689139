"""Per-tenant process limits: one `pids` cgroup per tenant, on cgroup v1 or v2.

Every process of a tenant (its warm templates, their spares and whatever the
functions start) is born in the tenant's pids group, so `pids.max` bounds the
tenant as a whole: a fork bomb gets EAGAIN at the limit instead of filling
the machine.  Layout: <pids root>/<parent>/<tenant>, where the pids root is
the v1 `pids` hierarchy or, on a unified (v2) tree that offers the `pids`
controller, the v2 root with `+pids` enabled down to the tenant groups.

Removal never races a fork: `pids.max` goes to 0 first (no fork can succeed
after that write), then every member is SIGKILLed until the group is empty.

Killing an invocation's descendants is not this module's job: each
invocation is the init of its own pid namespace (see `sfs.faas.zygote`), and
the kernel kills the whole namespace when its init exits.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

from sharekit.cgroups.fs import kill_all, pids_in

log = logging.getLogger(__name__)
DEFAULT_MAX_PIDS = 256
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class ContainmentError(RuntimeError):
    pass


def _cgroup_root() -> Path:
    return Path(os.environ.get("SHAREKIT_CGROUP_ROOT", "/sys/fs/cgroup"))


def pids_root(root: Path | None = None) -> tuple[Path, int] | None:
    """(directory, cgroup version) of the hierarchy with the pids controller, or None."""
    root = root or _cgroup_root()
    v1 = root / "pids"
    if (v1 / "tasks").exists():
        return v1, 1
    for v2 in (root, root / "unified"):
        try:
            if "pids" in (v2 / "cgroup.controllers").read_text().split():
                return v2, 2
        except OSError:
            continue
    return None


def _kill_members(group: Path, deadline_s: float = 5.0) -> bool:
    """SIGKILL everything in `group` (after forbidding forks) until it is empty; True when empty."""
    try:
        (group / "pids.max").write_text("0")
    except OSError:
        pass
    kill_all([group / "cgroup.procs"], deadline_s)
    return not pids_in(group / "cgroup.procs")


def _remove_tree(top: Path) -> bool:
    clean = True
    for group in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)) + [top]:
        if not _kill_members(group):
            clean = False
            continue
        try:
            group.rmdir()
        except OSError as exc:
            log.warning("pids cgroup %s not removed: %s", group, exc)
            clean = False
    return clean


class TenantPids:
    """tenant -> pids group under `parent`; `add(tenant, pid)` places a process, `close()` removes all."""

    def __init__(self, parent: str, max_pids: int = DEFAULT_MAX_PIDS, root: Path | None = None):
        if not _NAME.match(parent):
            raise ContainmentError(f"invalid cgroup parent name {parent!r}")
        if max_pids <= 0:
            raise ContainmentError("the pids limit must be positive")
        found = pids_root(root)
        if found is None:
            raise ContainmentError("no cgroup hierarchy with the pids controller")
        self.root, self.version = found
        self.top = self.root / parent
        self.max_pids = max_pids
        self._groups: dict[str, Path] = {}
        self._lock = threading.Lock()

    def _enable_pids(self, directory: Path) -> None:
        if self.version == 2:
            (directory / "cgroup.subtree_control").write_text("+pids")

    def group(self, tenant: str) -> Path:
        if not _NAME.match(tenant):
            raise ContainmentError(f"invalid tenant name {tenant!r}")
        with self._lock:
            path = self._groups.get(tenant)
            if path is not None:
                return path
            try:
                if not self.top.is_dir():
                    if self.version == 2:
                        self._enable_pids(self.root)
                    self.top.mkdir(exist_ok=True)
                    self._enable_pids(self.top)
                path = self.top / tenant
                path.mkdir(exist_ok=True)
                (path / "pids.max").write_text(str(self.max_pids))
            except OSError as exc:
                raise ContainmentError(f"cannot create the pids cgroup of tenant {tenant}: {exc}") from None
            self._groups[tenant] = path
            return path

    def add(self, tenant: str, pid: int) -> None:
        try:
            (self.group(tenant) / "cgroup.procs").write_text(str(pid))
        except OSError as exc:
            raise ContainmentError(f"cannot place pid {pid} in tenant {tenant}'s pids cgroup: {exc}") from None

    def count(self, tenant: str) -> int:
        return int((self.group(tenant) / "pids.current").read_text())

    def close(self) -> None:
        with self._lock:
            self._groups.clear()
            if self.top.is_dir() and not _remove_tree(self.top):
                log.warning("pids cgroups under %s not fully removed", self.top)

    @staticmethod
    def remove_stale(prefix: str, root: Path | None = None) -> list[str]:
        """Remove the pids groups `<prefix><pid>` of servers that are gone (SIGKILL)."""
        found = pids_root(root)
        if found is None:
            return []
        removed = []
        for top in sorted(found[0].glob(f"{prefix}*")):
            owner = top.name[len(prefix):]
            if top.is_dir() and owner.isdigit() and not os.path.exists(f"/proc/{owner}") and _remove_tree(top):
                removed.append(top.name)
        return removed
