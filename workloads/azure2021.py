"""Azure Functions 2021 per-invocation trace: ``app,func,end_timestamp,duration``.

Times are seconds.  arrival = end_timestamp - duration; rows are not sorted,
so the reader sorts by arrival (ties by file order).  Zero durations (the
trace rounds to 1 ms, and 0.000 rows exist) become ``min_duration_s``
(default 1 ms), so every invocation has a positive service time and a
defined slowdown.  An arrival before 0 (end < duration) is an error.
tenant = app, function = func.
"""
from __future__ import annotations

import csv
from pathlib import Path

from workloads.invocation import Invocation, TraceError, parse_float

HEADER = ["app", "func", "end_timestamp", "duration"]
MIN_DURATION_S = 0.001


def read_azure2021(path, min_duration_s: float = MIN_DURATION_S) -> list[Invocation]:
    path = Path(path)
    rows = []
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise TraceError(path, 1, "header", "the file is empty")
        if [h.strip() for h in header] != HEADER:
            raise TraceError(path, 1, "header", f"expected {','.join(HEADER)}, got {','.join(header)}")
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != 4:
                raise TraceError(path, line_no, "row", f"expected 4 fields, got {len(row)}")
            app, func, end_text, duration_text = row
            for name, value in (("app", app), ("func", func)):
                if not value.strip():
                    raise TraceError(path, line_no, name, "empty")
            end = parse_float(end_text, path, line_no, "end_timestamp", minimum=0.0)
            duration = parse_float(duration_text, path, line_no, "duration", minimum=0.0)
            arrival = end - duration
            if arrival < 0:
                raise TraceError(path, line_no, "duration", f"{duration} exceeds end_timestamp {end}")
            rows.append((arrival, line_no, app, func, max(duration, min_duration_s)))
    rows.sort()
    return [Invocation(f"{path.stem}-{line_no}", func, app, arrival, duration)
            for arrival, line_no, app, func, duration in rows]


SAMPLE = Path(__file__).resolve().parent / "data" / "azure" / "azure-functions-2021-sample200.csv"


def shaped(invocations, scale: float = 0.05, floor_s: float = 0.02, cap_s: float = 1.0) -> list[Invocation]:
    """An Azure-2021-shaped CPU-bound trace: the sample's arrivals, functions and
    duration order, durations x `scale` within [`floor_s`, `cap_s`].

    Scaled down so a replay fits in about a minute; raised to `floor_s` because
    below ~20 ms the cost of starting a process, not the scheduler, decides the
    slowdown.  Arrival times are kept (rescale them to a load afterwards): the
    sample's bursts of simultaneous calls stay bursts.
    """
    if not 0 < floor_s <= cap_s or scale <= 0:
        raise ValueError("need scale > 0 and 0 < floor_s <= cap_s")
    return [Invocation(i.id, i.function, i.tenant, i.arrival_s, min(max(i.duration_s * scale, floor_s), cap_s))
            for i in invocations]
