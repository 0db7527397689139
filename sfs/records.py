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
from typing import Callable, Iterable, Sequence, TypeVar

from sharekit.stats import quantile

# Duration classes, by service time: short < SHORT_S <= medium < LONG_S <= long.
SHORT_S = 0.25
LONG_S = 1.0
CLASSES = ("short", "medium", "long")
CLASS_LEGEND = "short < 250 ms <= medium < 1 s <= long"
T = TypeVar("T")


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
    """short, medium or long (see CLASSES)."""
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


@dataclass
class ClassSummary:
    name: str
    count: int
    p50: float
    p99: float
    mean: float

    @classmethod
    def of(cls, name: str, values: Sequence[float]) -> "ClassSummary":
        """p50, p99 and mean of `values`, NaNs dropped."""
        values = [v for v in values if not math.isnan(v)]
        return cls(name, len(values), quantile(values, 0.5), quantile(values, 0.99),
                   sum(values) / len(values) if values else math.nan)


def by_class(items: Iterable[T], service_of: Callable[[T], float]) -> dict[str, list[T]]:
    """`items` grouped by the duration class of `service_of(item)`, then all of them under "all"."""
    groups: dict[str, list[T]] = {name: [] for name in CLASSES + ("all",)}
    for item in items:
        groups[duration_class(service_of(item))].append(item)
        groups["all"].append(item)
    return groups


def summarize(records: Sequence[InvocationRecord], service: dict[str, float] | None = None) -> list[ClassSummary]:
    """Slowdown p50/p99/mean per duration class, then for all.

    The class of an invocation is decided by `service` (id -> seconds) when
    given, e.g. the trace durations, so every policy is cut the same way;
    otherwise by its measured CPU time.
    """
    groups = by_class(records, lambda r: service.get(r.invocation_id, r.cpu_s) if service else r.cpu_s)
    return [ClassSummary.of(name, [r.slowdown for r in rows]) for name, rows in groups.items()]


def format_summary(rows: Sequence[ClassSummary], title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'class':<8} {'count':>6} {'p50':>7} {'p99':>7} {'mean':>7}")
    for row in rows:
        lines.append(f"{row.name:<8} {row.count:>6} {row.p50:>7.2f} {row.p99:>7.2f} {row.mean:>7.2f}")
    return "\n".join(lines)
