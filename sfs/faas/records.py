"""The results file: one line per invocation, CSV or JSON lines (by extension).

Columns are the SFS scheduler's record (sfs.records.InvocationRecord) plus
the host's outcome: status (ok | error | rejected), reason (crash | oom |
timeout), error, http_status and gateway_ms (time the request spent in the
gateway outside the sandbox).  Times are seconds since the server started.
"""
from __future__ import annotations

import csv
import json
import math
import os
import threading
from pathlib import Path

COLUMNS = ["invocation_id", "function", "tenant", "arrival_s", "start_s", "end_s", "cpu_s", "fifo_s",
           "cfs_s", "demoted", "bypassed", "aged", "pid", "slowdown", "status", "reason", "error",
           "http_status", "gateway_ms"]


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

    def write(self, record: dict) -> dict:
        row = {c: record.get(c) for c in COLUMNS}
        for key in ("arrival_s", "start_s", "end_s"):
            if row[key] is not None:
                row[key] = round(row[key] - self.t0, 6)
        cpu = row.get("cpu_s") or 0.0
        if row["end_s"] is not None and row["arrival_s"] is not None and cpu > 0:
            row["slowdown"] = round((row["end_s"] - row["arrival_s"]) / cpu, 4)
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
