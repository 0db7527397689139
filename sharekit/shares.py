"""A node's tenant shares as its node agent publishes them.

The node agent is the one source of tenant shares on a node.  After every
decision it applies, it publishes what it applied to one small JSON file per
node, and every consumer on the node (the SFS scheduler's tenant rule, the
FaaS host, tools) reads that file instead of guessing:

    {"node": "node0", "version": 7, "updated": 1765080000.0,
     "cgroup_version": 1, "parent": "sharekit-tenants",
     "tenants": {"alice": {"weight": 150, "share": 0.75, "cgroup": "sharekit-tenants/alice"},
                 "bob":   {"weight": 50,  "share": 0.25, "cgroup": "sharekit-tenants/bob"}}}

``share`` is the tenant's fraction of this node's tenants' total (the shares
sum to 1 when any tenant has one); ``weight`` is the cgroup CPU weight the
agent wrote (cgroup v2 scale, 1..10000); ``cgroup`` is the group's path
relative to the root of each controller hierarchy.  ``version`` grows by one
per applied decision, so a reader can tell a new decision from a re-read.

The file is replaced atomically (write to a temporary file, then rename), so
a reader sees either the old or the new decision, never half of one.  Its
default place is ``<run dir>/agents/<node>.json`` (see
:func:`sharekit.invocation_registry.run_dir`).
"""
from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from sharekit.invocation_registry import run_dir

_NODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


@dataclass(frozen=True)
class TenantShare:
    weight: int
    share: float
    cgroup: str | None = None


@dataclass(frozen=True)
class PublishedShares:
    node: str
    version: int
    updated: float
    tenants: dict[str, TenantShare] = field(default_factory=dict)
    cgroup_version: int | None = None
    parent: str | None = None

    def shares(self) -> dict[str, float]:
        return {name: t.share for name, t in self.tenants.items()}

    def to_json(self) -> dict:
        return {"node": self.node, "version": self.version, "updated": self.updated,
                "cgroup_version": self.cgroup_version, "parent": self.parent,
                "tenants": {name: {"weight": t.weight, "share": t.share, "cgroup": t.cgroup}
                            for name, t in sorted(self.tenants.items())}}


def default_path(node: str) -> Path:
    if not _NODE.match(node):
        raise ValueError(f"invalid node name {node!r}")
    return run_dir() / "agents" / f"{node}.json"


def publish(path: str | os.PathLike, shares: PublishedShares) -> None:
    """Replace `path` atomically with `shares` (readable by everyone, writable by the owner)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(shares.to_json(), f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def parse(data: dict, source: str = "shares") -> PublishedShares:
    """Validate a published-shares object; ValueError names the offending field."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a JSON object")
    node = data.get("node")
    if not isinstance(node, str) or not _NODE.match(node):
        raise ValueError(f"{source}: invalid 'node' {node!r}")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValueError(f"{source}: invalid 'version' {version!r}")
    updated = data.get("updated")
    if not isinstance(updated, (int, float)) or isinstance(updated, bool) or not math.isfinite(updated):
        raise ValueError(f"{source}: invalid 'updated' {updated!r}")
    tenants_in = data.get("tenants", {})
    if not isinstance(tenants_in, dict):
        raise ValueError(f"{source}: 'tenants' must be an object")
    tenants = {}
    for name, entry in tenants_in.items():
        where = f"{source}: tenant {name!r}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected an object")
        weight, share, cgroup = entry.get("weight"), entry.get("share"), entry.get("cgroup")
        if not isinstance(weight, int) or isinstance(weight, bool) or not 1 <= weight <= 10000:
            raise ValueError(f"{where}: invalid 'weight' {weight!r} (1..10000)")
        if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0.0 <= share <= 1.0:
            raise ValueError(f"{where}: invalid 'share' {share!r} (0..1)")
        if cgroup is not None and not isinstance(cgroup, str):
            raise ValueError(f"{where}: invalid 'cgroup' {cgroup!r}")
        tenants[name] = TenantShare(weight, float(share), cgroup)
    cgroup_version = data.get("cgroup_version")
    if cgroup_version not in (None, 1, 2):
        raise ValueError(f"{source}: invalid 'cgroup_version' {cgroup_version!r}")
    parent = data.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise ValueError(f"{source}: invalid 'parent' {parent!r}")
    return PublishedShares(node, version, float(updated), tenants, cgroup_version, parent)


def read(path: str | os.PathLike) -> PublishedShares | None:
    """The published shares at `path`, or None when nothing is published there."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    return parse(data, str(path))


class SharesWatcher:
    """Follows one published-shares file; cheap to poll (one stat when nothing changed).

        watcher = SharesWatcher(default_path("node0"))
        watcher.current()      # PublishedShares, or None while no agent publishes
    """

    def __init__(self, path: str | os.PathLike, min_interval_s: float = 0.1) -> None:
        self.path = Path(path)
        self.min_interval_s = min_interval_s
        self._stamp: tuple[int, int] | None = None
        self._checked = -math.inf
        self._current: PublishedShares | None = None

    def current(self) -> PublishedShares | None:
        now = time.monotonic()
        if now - self._checked < self.min_interval_s:
            return self._current
        self._checked = now
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._current = None, None
            return None
        stamp = (st.st_mtime_ns, st.st_ino)
        if stamp != self._stamp:
            try:
                self._current = read(self.path)
            except ValueError:
                return self._current  # keep the last good decision; the writer is atomic
            self._stamp = stamp
        return self._current


__all__ = ["TenantShare", "PublishedShares", "default_path", "publish", "parse", "read", "SharesWatcher"]
