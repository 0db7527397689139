"""Subcommand dispatch shared by the `scl`, `sfs` and `fairshare` commands.

Each subcommand is a module with `add_arguments(parser)` and `run(args) -> int`.
Modules are imported only when their subcommand runs, so `scl config` does not
pay for matplotlib and `sfs trace` is the only one that needs bcc.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Mapping, Sequence


def dispatch(prog: str, description: str, commands: Mapping[str, tuple[str, str]],
             argv: Sequence[str] | None = None) -> int:
    """Run `prog <command> ...`; `commands` maps name -> (module, one-line help)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    width = max(map(len, commands), default=0)
    listing = "\n".join(f"  {name:<{width}}  {helptext}" for name, (_, helptext) in commands.items())
    top = argparse.ArgumentParser(
        prog=prog, description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"commands:\n{listing}\n\nRun '{prog} COMMAND --help' for a command's options.")
    top.add_argument("command", choices=list(commands), metavar="COMMAND")
    if not argv or argv[0] in ("-h", "--help"):
        top.print_help()
        return 0 if argv else 2
    name = argv[0]
    if name not in commands:
        top.error(f"unknown command {name!r} (choose from {', '.join(commands)})")
    module_name, helptext = commands[name]
    module = importlib.import_module(module_name)
    sub = argparse.ArgumentParser(prog=f"{prog} {name}", description=(module.__doc__ or helptext).strip(),
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except UsageError as exc:
        print(f"{prog} {name}: error: {exc}", file=sys.stderr)
        return 2


class UsageError(Exception):
    """Bad input a person can fix; printed as one line, no traceback."""
