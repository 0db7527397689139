"""The results file: one line per invocation, CSV or JSON lines (by extension).

A line is a `HostRecord`: the SFS scheduler's record of the process (the
one record type, `sfs.records.InvocationRecord`) plus the host's outcome:
status (ok | error), reason (crash | oom | timeout), error, http_status and
gateway_ms (time the request spent in the gateway outside the sandbox).
Times are seconds since the server started.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from sfs.records import InvocationRecord

SCHEDULER_FIELDS = [f.name for f in dataclasses.fields(InvocationRecord)]


@dataclass
class HostRecord(InvocationRecord):
    """One invocation as the scheduler saw it, and what the host answered."""
    status: str = "ok"
    reason: str | None = None
    error: str | None = None
    http_status: int = 200
    gateway_ms: float = 0.0

    @classmethod
    def from_scheduler(cls, record: dict, **outcome) -> "HostRecord":
        """From the scheduler's record (a dict of InvocationRecord's fields) and the host's outcome."""
        return cls(**{k: record[k] for k in SCHEDULER_FIELDS if k in record}, **outcome)


COLUMNS = SCHEDULER_FIELDS + ["slowdown"] + [f.name for f in dataclasses.fields(HostRecord)
                                             if f.name not in SCHEDULER_FIELDS]


class ResultsWriter:
    def __init__(self, path: str | Path | None, t0: float):
        self.path = Path(path) if path else None
        self.t0 = t0
        self.count = 0
        self._lock = threading.Lock()
        self._file = None
        self._csv = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not self.path.exists() or self.path.stat().st_size == 0
            # 0600: the file holds every tenant's records.  An older file is tightened too.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            os.fchmod(fd, 0o600)
            self._file = open(fd, "a", newline="", buffering=1)
            if self.path.suffix != ".jsonl":
                self._csv = csv.writer(self._file)
                if fresh:
                    self._csv.writerow(COLUMNS)

    def write(self, record: HostRecord) -> dict:
        """Append `record` (times made relative to the server's start); returns the line as a dict."""
        record = dataclasses.replace(record, **{k: getattr(record, k) - self.t0
                                                 for k in ("arrival_s", "start_s", "end_s")})
        row = dataclasses.asdict(record)
        for key in ("arrival_s", "start_s", "end_s"):
            row[key] = round(row[key], 6)
        slowdown = record.slowdown
        row["slowdown"] = round(slowdown, 4) if math.isfinite(slowdown) else None
        row = {c: row[c] for c in COLUMNS}
        with self._lock:
            self.count += 1
            if self._file is not None:
                if self._csv is not None:
                    self._csv.writerow([_fmt(row[c]) for c in COLUMNS])
                else:
                    self._file.write(json.dumps(row) + "\n")
                self._file.flush()  # in the kernel before the response is sent: survives SIGKILL
        return row

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6f}"
    return value


def read_results(path: str | Path) -> list[dict]:
    path = Path(path)
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
