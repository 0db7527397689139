"""Which process runs which invocation: a small file registry.

The SFS scheduler and the FaaS host label every process they start with its
invocation id, function and tenant.  Tools in other processes (the eBPF
tracers) read the labels to attribute kernel events to invocations, without
talking to the scheduler.

Layout: one append-only JSON-lines file per writer process,
``$SHAREKIT_RUN_DIR/invocations/<writer-pid>.jsonl`` (default run directory
/run/sharekit, or $XDG_RUNTIME_DIR/sharekit when /run is not writable).  A
line is either a registration ``{"pid", "invocation_id", "function",
"tenant", "t"}`` or a removal ``{"pid", "gone": true}``.  Appends of one line
are atomic (O_APPEND, a single write under PIPE_BUF), so a reader never sees
half a record; files of writers that died are ignored and cleaned up.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path


def run_dir() -> Path:
    explicit = os.environ.get("SHAREKIT_RUN_DIR")
    if explicit:
        return Path(explicit)
    default = Path("/run/sharekit")
    if os.access("/run", os.W_OK) or default.is_dir():
        return default
    return Path(os.environ.get("XDG_RUNTIME_DIR", "/tmp")) / "sharekit"


def _registry_dir() -> Path:
    return run_dir() / "invocations"


@dataclass(frozen=True)
class InvocationLabel:
    pid: int
    invocation_id: str
    function: str
    tenant: str


class RegistryWriter:
    """Appends labels for processes this process starts.  Thread-safe."""

    def __init__(self) -> None:
        directory = _registry_dir()
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{os.getpid()}.jsonl"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        self._lock = threading.Lock()

    def _append(self, record: dict) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        if len(line) > 4096:
            raise ValueError("invocation label too long for an atomic append")
        with self._lock:
            if self._fd >= 0:
                os.write(self._fd, line)

    def register(self, pid: int, invocation_id: str, function: str, tenant: str) -> None:
        self._append({"pid": pid, "invocation_id": str(invocation_id), "function": function,
                      "tenant": tenant, "t": time.time()})

    def unregister(self, pid: int) -> None:
        self._append({"pid": pid, "gone": True})

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> "RegistryWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def snapshot() -> dict[int, InvocationLabel]:
    """Labels of every process currently registered by a live writer."""
    labels: dict[int, InvocationLabel] = {}
    directory = _registry_dir()
    if not directory.is_dir():
        return labels
    for path in directory.glob("*.jsonl"):
        try:
            writer = int(path.stem)
        except ValueError:
            continue
        if not _alive(writer):
            path.unlink(missing_ok=True)
            continue
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # only possible for a line being appended right now
            pid = record.get("pid")
            if not isinstance(pid, int):
                continue
            if record.get("gone"):
                labels.pop(pid, None)
            else:
                labels[pid] = InvocationLabel(pid, record["invocation_id"], record["function"], record["tenant"])
    return labels
