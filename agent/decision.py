"""Reading the allocator's decision from a file or a loopback HTTP URL.

The decision is ``{server: {tenant: {resource: amount}}}``, as
``Allocation.per_server()`` returns it, or the whole output of ``fairshare
allocate --json --per-server`` (the mapping is then under "per_server").  It
crosses a trust boundary, so every field is checked and errors name it.
"""
from __future__ import annotations

import ipaddress
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from sharekit.cgroups.fs import NAME as TENANT_NAME

MAX_DECISION_BYTES = 4 << 20

Decision = dict[str, dict[str, dict[str, float]]]


class DecisionError(ValueError):
    """The decision source is unreachable or holds a malformed decision."""


def parse_decision(data: object, source: str) -> Decision:
    """Validate a decision object; DecisionError names the offending field."""
    if isinstance(data, dict) and "per_server" in data:
        data = data["per_server"]
        source = f"{source}: per_server"
    if not isinstance(data, dict):
        raise DecisionError(f"{source}: expected an object {{server: {{tenant: {{resource: amount}}}}}}")
    out: Decision = {}
    for server, tenants in data.items():
        if not isinstance(tenants, dict):
            raise DecisionError(f"{source}: server {server!r}: expected an object of tenants")
        out[server] = {}
        for tenant, resources in tenants.items():
            where = f"{source}: server {server!r} tenant {tenant!r}"
            if not TENANT_NAME.match(tenant):
                raise DecisionError(f"{where}: invalid tenant name (1-64 of [A-Za-z0-9_.-])")
            if not isinstance(resources, dict):
                raise DecisionError(f"{where}: expected an object of resource amounts")
            amounts = {}
            for resource, amount in resources.items():
                if (not isinstance(amount, (int, float)) or isinstance(amount, bool)
                        or not math.isfinite(amount) or amount < 0):
                    raise DecisionError(f"{where}: invalid amount {amount!r} for {resource!r}")
                amounts[resource] = float(amount)
            out[server][tenant] = amounts
    return out


def _check_loopback(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        raise DecisionError(f"{url}: only http:// URLs on loopback are accepted")
    host = parts.hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise DecisionError(f"{url}: host {host!r} is not a loopback address")


class DecisionSource:
    """A decision file or loopback URL, fetched once per agent cycle."""

    def __init__(self, where: str, timeout_s: float = 1.0) -> None:
        self.where = where
        self.timeout_s = timeout_s
        self.is_url = "://" in where
        if self.is_url:
            _check_loopback(where)

    def fetch(self) -> Decision:
        """The current decision; DecisionError when unreachable or malformed."""
        if self.is_url:
            try:
                with urllib.request.urlopen(self.where, timeout=self.timeout_s) as resp:
                    raw = resp.read(MAX_DECISION_BYTES + 1)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise DecisionError(f"{self.where}: unreachable ({getattr(exc, 'reason', exc)})") from None
        else:
            try:
                with open(self.where, "rb") as f:
                    raw = f.read(MAX_DECISION_BYTES + 1)
            except OSError as exc:
                raise DecisionError(f"{self.where}: cannot read ({exc.strerror or exc})") from None
        if len(raw) > MAX_DECISION_BYTES:
            raise DecisionError(f"{self.where}: larger than {MAX_DECISION_BYTES} bytes")
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            line = getattr(exc, "lineno", "?")
            raise DecisionError(f"{self.where}: not JSON (line {line}: {getattr(exc, 'msg', exc)})") from None
        return parse_decision(data, self.where)

    def __str__(self) -> str:
        return self.where if self.is_url else str(Path(self.where))
