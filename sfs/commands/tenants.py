"""Manage the tenants file of `sfs serve --tenants`: add a tenant (or the admin) with a new token.

The token is printed once, on stdout; the file keeps only its SHA-256.  The
file is written 0600 through a temporary file and a rename, so a reader
never sees half of it.
"""
from __future__ import annotations

from pathlib import Path

from sharekit.cli import UsageError


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a tenant (or replace its token) and print its new token once")
    add.add_argument("name", help="tenant name, or 'admin' for the admin token")
    add.add_argument("--file", type=Path, default=Path("tenants.json"),
                     help="the tenants file (.json, .yaml; default tenants.json, created if missing)")
    add.add_argument("--weight", type=float, default=None, help="the tenant's weight (default 1, or unchanged)")
    add.add_argument("--functions", default=None,
                     help="comma-separated functions this tenant owns (default: none, or unchanged)")
    ls = sub.add_parser("list", help="tenants, weights and functions (never tokens)")
    ls.add_argument("--file", type=Path, default=Path("tenants.json"))


def run(args) -> int:
    from sfs.faas.auth import ADMIN, TenantEntry, Tenants, TenantsFileError, digest, new_token
    try:
        tenants = Tenants.load(args.file) if args.file.exists() else Tenants(None, {})
    except TenantsFileError as exc:
        raise UsageError(str(exc)) from None
    if args.action == "list":
        for name, entry in tenants.tenants.items():
            print(f"{name}\tweight {entry.weight:g}\tfunctions {','.join(entry.functions) or '-'}")
        print(f"admin\t{'set' if tenants.admin_sha256 else 'not set'}")
        return 0
    token = new_token()
    if args.name == ADMIN:
        if args.weight is not None or args.functions is not None:
            raise UsageError("the admin has no weight or functions")
        tenants.admin_sha256 = digest(token)
    else:
        entry = tenants.tenants.get(args.name) or TenantEntry("")
        entry.token_sha256 = digest(token)
        if args.weight is not None:
            entry.weight = args.weight
        if args.functions is not None:
            entry.functions = [f.strip() for f in args.functions.split(",") if f.strip()]
        tenants.tenants[args.name] = entry
    try:  # checked as `sfs serve` will load it, before anything is written
        tenants.save(args.file)
    except TenantsFileError as exc:
        raise UsageError(str(exc)) from None
    print(token)
    return 0
