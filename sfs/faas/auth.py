"""Tenants and their Bearer tokens: the `--tenants FILE` of `sfs serve`, and `sfs tenants add`.

The file (JSON, or YAML for .yaml/.yml) holds only SHA-256 digests of tokens:

    {"admin": {"token_sha256": HEX},
     "tenants": {"alice": {"token_sha256": HEX, "weight": 1, "functions": ["fib"]}, ...}}

A request carries ``Authorization: Bearer TOKEN``; the token's digest is
compared with every entry in constant time, so neither a wrong token nor a
near miss says anything about the stored ones.  The file is untrusted input
like any other: every problem is one line naming the file and the field.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sfs.faas.functions import NAME_RE, TENANT_RE

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
ADMIN = "admin"


class TenantsFileError(ValueError):
    pass


@dataclass(frozen=True)
class Principal:
    """Who sent a request: a tenant, or the admin (who may act for any tenant)."""
    name: str
    admin: bool = False


@dataclass
class TenantEntry:
    token_sha256: str
    weight: float = 1.0
    functions: list[str] = field(default_factory=list)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _load_document(path: Path):
    try:
        text = path.read_text()
    except OSError as exc:
        raise TenantsFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml
            return yaml.safe_load(text)
        return json.loads(text)
    except Exception as exc:  # yaml and json each have their own error types
        raise TenantsFileError(f"{path}: not valid {'YAML' if path.suffix in ('.yaml', '.yml') else 'JSON'}: "
                               f"{str(exc).splitlines()[0]}") from None


def _token_field(path: Path, where: str, entry) -> str:
    if not isinstance(entry, dict):
        raise TenantsFileError(f"{path}: {where}: expected an object")
    value = entry.get("token_sha256")
    if not isinstance(value, str) or not _HEX64.match(value):
        raise TenantsFileError(f"{path}: {where}.token_sha256: expected 64 lowercase hex digits")
    return value


class Tenants:
    """The parsed tenants file."""

    def __init__(self, admin_sha256: str | None, tenants: dict[str, TenantEntry], path: Path | None = None):
        self.admin_sha256, self.tenants, self.path = admin_sha256, tenants, path

    @classmethod
    def load(cls, path: str | Path) -> "Tenants":
        path = Path(path)
        return cls.parse(_load_document(path), path)

    @classmethod
    def parse(cls, doc, path: Path) -> "Tenants":
        """`doc` (the file's content) checked field by field; errors name `path` and the field."""
        if not isinstance(doc, dict):
            raise TenantsFileError(f"{path}: expected an object with 'admin' and 'tenants'")
        unknown = set(doc) - {"admin", "tenants"}
        if unknown:
            raise TenantsFileError(f"{path}: unknown key {sorted(unknown)[0]!r} (expected 'admin', 'tenants')")
        admin = _token_field(path, "admin", doc["admin"]) if doc.get("admin") is not None else None
        raw = doc.get("tenants") or {}
        if not isinstance(raw, dict):
            raise TenantsFileError(f"{path}: tenants: expected an object of tenant name -> entry")
        tenants: dict[str, TenantEntry] = {}
        owner: dict[str, str] = {}
        for name, entry in raw.items():
            where = f"tenants.{name}"
            if not isinstance(name, str) or not TENANT_RE.match(name) or name == ADMIN:
                raise TenantsFileError(f"{path}: {where}: invalid tenant name (1-64 of [A-Za-z0-9_.-], not "
                                       f"'{ADMIN}')")
            token = _token_field(path, where, entry)
            weight = entry.get("weight", 1)
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) \
                    or not 0 < weight <= 10000:
                raise TenantsFileError(f"{path}: {where}.weight: expected a number in (0, 10000]")
            functions = entry.get("functions", [])
            if not isinstance(functions, list) or not all(isinstance(f, str) for f in functions):
                raise TenantsFileError(f"{path}: {where}.functions: expected a list of function names")
            for function in functions:
                if not NAME_RE.match(function):
                    raise TenantsFileError(f"{path}: {where}.functions: invalid function name {function!r}")
                if function in owner:
                    raise TenantsFileError(f"{path}: {where}.functions: {function!r} is already listed under "
                                           f"tenant {owner[function]!r}")
                owner[function] = name
            extra = set(entry) - {"token_sha256", "weight", "functions"}
            if extra:
                raise TenantsFileError(f"{path}: {where}: unknown key {sorted(extra)[0]!r}")
            tenants[name] = TenantEntry(token, float(weight), list(functions))
        return cls(admin, tenants, path)

    def owners(self) -> dict[str, str]:
        """function -> the tenant that lists it."""
        return {f: name for name, entry in self.tenants.items() for f in entry.functions}

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The sender of `Authorization: Bearer TOKEN`, or None (missing, malformed or wrong token)."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        given = digest(authorization[len("Bearer "):].strip())
        found = None
        # Every entry is compared, whatever matched, so the time says nothing about which.
        if self.admin_sha256 is not None and hmac.compare_digest(given, self.admin_sha256):
            found = Principal(ADMIN, admin=True)
        for name, entry in self.tenants.items():
            if hmac.compare_digest(given, entry.token_sha256) and found is None:
                found = Principal(name)
        return found

    def save(self, path: str | Path) -> None:
        """Write the file (0600, atomically), after checking it as `load` would."""
        doc = {"admin": {"token_sha256": self.admin_sha256} if self.admin_sha256 else None,
               "tenants": {name: {"token_sha256": e.token_sha256, "weight": e.weight, "functions": e.functions}
                           for name, e in self.tenants.items()}}
        if doc["admin"] is None:
            del doc["admin"]
        path = Path(path)
        Tenants.parse(doc, path)
        if path.suffix in (".yaml", ".yml"):
            import yaml
            text = yaml.safe_dump(doc, sort_keys=False)
        else:
            text = json.dumps(doc, indent=2) + "\n"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with open(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def new_token() -> str:
    return secrets.token_urlsafe(32)
