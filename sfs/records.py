"""Per-invocation records, the results CSV and the slowdown summary.

Turnaround = end - arrival (the scheduled arrival, so launch delays count
against the system, no coordinated omission); slowdown = turnaround /
service, where service is the CPU time the invocation really used.
fifo_s and cfs_s split that CPU time by the class it ran in.
"""
from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass, fields
from typing import Iterable, Sequence

SHORT_S = 0.25
LONG_S = 1.0


@dataclass
class InvocationRecord:
    invocation_id: str
    function: str
    tenant: str
    arrival_s: float
    start_s: float
    end_s: float
    cpu_s: float
    fifo_s: float = 0.0
    cfs_s: float = 0.0
    demoted: bool = False
    bypassed: bool = False
    aged: int = 0
    pid: int = 0

    @property
    def turnaround_s(self) -> float:
        return self.end_s - self.arrival_s

    @property
    def slowdown(self) -> float:
        return self.turnaround_s / self.cpu_s if self.cpu_s > 0 else math.nan

    def shifted(self, t0: float) -> "InvocationRecord":
        """The same record with every time relative to t0."""
        values = asdict(self)
        for name in ("arrival_s", "start_s", "end_s"):
            values[name] -= t0
        return InvocationRecord(**values)


def duration_class(service_s: float) -> str:
    if service_s < SHORT_S:
        return "short"
    return "long" if service_s >= LONG_S else "medium"


COLUMNS = [f.name for f in fields(InvocationRecord)] + ["slowdown"]


def write_csv(path, records: Iterable[InvocationRecord]) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        for r in records:
            row = asdict(r)
            out.writerow([_fmt(row[c]) for c in COLUMNS[:-1]] + [_fmt(r.slowdown)])


def _fmt(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return f"{value:.6f}"
    return value


def read_csv(path) -> list[InvocationRecord]:
    out = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            out.append(InvocationRecord(
                row["invocation_id"], row["function"], row["tenant"], float(row["arrival_s"]),
                float(row["start_s"]), float(row["end_s"]), float(row["cpu_s"]), float(row["fifo_s"]),
                float(row["cfs_s"]), row["demoted"] in ("1", "True"), row.get("bypassed") in ("1", "True"),
                int(row.get("aged") or 0), int(row.get("pid") or 0)))
    return out


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * q
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class ClassSummary:
    name: str
    count: int
    p50: float
    p99: float
    mean: float


def summarize(records: Sequence[InvocationRecord], service: dict[str, float] | None = None) -> list[ClassSummary]:
    """Slowdown p50/p99/mean per duration class, then for all.

    The class of an invocation is decided by `service` (id -> seconds) when
    given, e.g. the trace durations, so every policy is cut the same way;
    otherwise by its measured CPU time.
    """
    groups: dict[str, list[float]] = {"short": [], "medium": [], "long": [], "all": []}
    for r in records:
        s = service.get(r.invocation_id, r.cpu_s) if service else r.cpu_s
        groups[duration_class(s)].append(r.slowdown)
        groups["all"].append(r.slowdown)
    out = []
    for name, values in groups.items():
        values = [v for v in values if not math.isnan(v)]
        out.append(ClassSummary(name, len(values), quantile(values, 0.5), quantile(values, 0.99),
                                sum(values) / len(values) if values else math.nan))
    return out


def format_summary(rows: Sequence[ClassSummary], title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'class':<8} {'count':>6} {'p50':>7} {'p99':>7} {'mean':>7}")
    for row in rows:
        lines.append(f"{row.name:<8} {row.count:>6} {row.p50:>7.2f} {row.p99:>7.2f} {row.mean:>7.2f}")
    return "\n".join(lines)
