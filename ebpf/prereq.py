"""Prerequisites of the eBPF tools, checked before anything is compiled.

Each missing piece yields one line that says what is missing and how to get
it, so a person sees "not root" instead of a bcc traceback.
"""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

TRACEFS = Path("/sys/kernel/tracing")
EXIT_MISSING = 2


def _headers_dir() -> Path:
    return Path("/lib/modules") / platform.release() / "build"


def missing(need_events: tuple[str, ...] = ()) -> list[str]:
    """Human-readable list of what stops a tool from loading BPF here."""
    problems = []
    if os.geteuid() != 0:
        problems.append("not root: loading BPF programs needs root (run with sudo)")
    try:
        tracefs_ok = (TRACEFS / "events").is_dir()
    except PermissionError:
        tracefs_ok = None   # there, but only root may look (the "not root" line says it)
    if tracefs_ok is False:
        problems.append(f"no tracefs at {TRACEFS}: as root, 'mount -t tracefs nodev {TRACEFS}' "
                        "(scripts/setup-bpf.sh does it)")
    elif tracefs_ok:
        for event in need_events:
            if not (TRACEFS / "events" / event).is_dir():
                problems.append(f"tracepoint {event.replace('/', ':')} does not exist on this kernel "
                                f"({platform.release()})")
    try:
        import bcc  # noqa: F401
    except Exception as exc:  # ImportError, or a broken libbcc
        problems.append(f"bcc not importable from {sys.executable} ({type(exc).__name__}: {exc}): "
                        "install python3-bpfcc and run 'make install' (scripts/setup-bpf.sh links it "
                        "into the venv)")
    headers = _headers_dir()
    try:
        headers_ok = (headers / "include").is_dir() or (headers / "Makefile").is_file()
    except PermissionError:
        headers_ok = True
    if not headers_ok:
        problems.append(f"no kernel headers at {headers}: install linux-headers-amd64 and run "
                        "scripts/setup-bpf.sh (make install) to link them")
    return problems


def report(tool: str, need_events: tuple[str, ...] = ()) -> int:
    """Print what is missing for `tool`; return 0 when nothing is, else EXIT_MISSING."""
    problems = missing(need_events)
    for problem in problems:
        print(f"{tool}: missing: {problem}", file=sys.stderr)
    return EXIT_MISSING if problems else 0


def unavailable_reason(need_events: tuple[str, ...] = ()) -> str | None:
    """One line for pytest skip reasons; None when BPF can be used."""
    problems = missing(need_events)
    return "; ".join(problems) if problems else None
