"""One uid per tenant, from a configured range, so tenants cannot signal, ptrace or read one another.

Tenants are numbered in sorted name order: tenant i runs as uid = gid =
FIRST + i.  The numbers must belong to nobody else on the machine (no entry
in the user or group database, no subordinate range of /etc/subuid or
/etc/subgid that rootless containers would use), so a sandbox never owns anything but what
its own invocations create, and that lives on a private /tmp that vanishes
with the invocation.
"""
from __future__ import annotations

import grp
import pwd
import re

_RANGE = re.compile(r"^(\d+)-(\d+)$")


class IdentityError(ValueError):
    pass


def _subordinate_overlaps(first: int, last: int, files=("/etc/subuid", "/etc/subgid")) -> list[str]:
    """Subordinate id ranges (rootless containers' uids) that overlap [first, last]."""
    found = []
    for path in files:
        try:
            lines = open(path).read().splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, 1):
            parts = line.strip().split(":")
            if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
                continue
            start, count = int(parts[1]), int(parts[2])
            if start <= last and first <= start + count - 1:
                found.append(f"{path}:{number} ({parts[0]}: {start}-{start + count - 1})")
    return found


class TenantIdentities:
    def __init__(self, first: int, last: int, tenants: list[str]):
        self.first, self.last = first, last
        self._uids = {name: first + i for i, name in enumerate(sorted(set(tenants)))}
        if len(self._uids) > last - first + 1:
            raise IdentityError(f"--uid-range {first}-{last} has {last - first + 1} uids for "
                                f"{len(self._uids)} tenants")

    @classmethod
    def from_range(cls, text: str, tenants: list[str]) -> "TenantIdentities":
        match = _RANGE.match(text.strip())
        if not match:
            raise IdentityError(f"--uid-range {text!r}: expected FIRST-LAST, e.g. 200000-200999")
        first, last = int(match.group(1)), int(match.group(2))
        if not 0 < first <= last < 2**32 - 1:
            raise IdentityError(f"--uid-range {text!r}: need 0 < FIRST <= LAST < 4294967295")
        taken = [f"user {e.pw_name} ({e.pw_uid})" for e in pwd.getpwall() if first <= e.pw_uid <= last]
        taken += [f"group {e.gr_name} ({e.gr_gid})" for e in grp.getgrall() if first <= e.gr_gid <= last]
        taken += _subordinate_overlaps(first, last)
        if taken:
            raise IdentityError(f"--uid-range {text}: already used by {', '.join(taken[:3])}")
        return cls(first, last, tenants)

    def of(self, tenant: str) -> tuple[int, int]:
        """(uid, gid) of `tenant`'s templates and sandboxes."""
        try:
            uid = self._uids[tenant]
        except KeyError:
            raise IdentityError(f"tenant {tenant!r} has no uid") from None
        return uid, uid

    def describe(self) -> str:
        if not self._uids:
            return "none"
        return f"{min(self._uids.values())}-{max(self._uids.values())}"
