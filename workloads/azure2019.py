"""Azure Functions 2019: per-minute invocation counts joined with duration percentiles.

Invocations file: ``HashOwner,HashApp,HashFunction,Trigger,1..1440`` (calls
per minute).  Durations file: ``HashOwner,HashApp,HashFunction,Average,
Count,Minimum,Maximum,percentile_Average_{0,1,25,50,75,99,100}`` in ms.
The two are joined on (owner, app, function); a function without a
duration row is an error naming the invocations line.

Replay rule: the c calls of minute m arrive at times drawn uniformly at
random in [60(m-1), 60m) s (seeded), and each call's duration is drawn from
the piecewise-linear inverse CDF through the percentile points (0, p0),
(0.01, p1), (0.25, p25), (0.5, p50), (0.75, p75), (0.99, p99), (1, p100).
tenant = HashOwner, function = HashFunction.
"""
from __future__ import annotations

import bisect
import csv
import random
from pathlib import Path

from workloads.invocation import Invocation, TraceError, parse_float, parse_int

KEY = ("HashOwner", "HashApp", "HashFunction")
PERCENTILES = [(0.0, "percentile_Average_0"), (0.01, "percentile_Average_1"),
               (0.25, "percentile_Average_25"), (0.50, "percentile_Average_50"),
               (0.75, "percentile_Average_75"), (0.99, "percentile_Average_99"),
               (1.0, "percentile_Average_100")]


def durations_path_for(invocations_path) -> Path:
    """The durations file next to an invocations file (``invocations`` -> ``durations`` in the name)."""
    p = Path(invocations_path)
    if "invocations" not in p.name:
        raise ValueError(f"cannot guess the durations file for {p}: name it explicitly")
    return p.with_name(p.name.replace("invocations_per_function_md", "function_durations_percentiles")
                       .replace("invocations", "durations"))


def _rows(path: Path, required: list[str]):
    f = open(path, newline="")
    reader = csv.reader(f)
    header = next(reader, None)
    if header is None:
        f.close()
        raise TraceError(path, 1, "header", "the file is empty")
    header = [h.strip() for h in header]
    for name in required:
        if name not in header:
            f.close()
            raise TraceError(path, 1, name, "missing column in the header")
    return f, reader, header


def read_quantiles(path) -> dict[tuple, list[tuple[float, float]]]:
    """(owner, app, function) -> [(quantile, seconds), ...] from a durations file."""
    path = Path(path)
    f, reader, header = _rows(path, list(KEY) + [c for _, c in PERCENTILES])
    out = {}
    with f:
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise TraceError(path, line_no, "row", f"expected {len(header)} fields, got {len(row)}")
            rec = dict(zip(header, row))
            points = [(q, parse_float(rec[c], path, line_no, c, minimum=0.0) / 1000.0) for q, c in PERCENTILES]
            for (_, a), (_, b), (_, c) in zip(points, points[1:], PERCENTILES[1:]):
                if b < a:
                    raise TraceError(path, line_no, c, "percentiles decrease")
            out[tuple(rec[k] for k in KEY)] = points
    return out


def sample_duration(points: list[tuple[float, float]], u: float) -> float:
    qs = [q for q, _ in points]
    i = min(max(bisect.bisect_right(qs, u), 1), len(points) - 1)
    (q0, v0), (q1, v1) = points[i - 1], points[i]
    return v0 if q1 == q0 else v0 + (v1 - v0) * (u - q0) / (q1 - q0)


def read_azure2019(invocations_path, durations_path=None, seed: int = 0,
                   min_duration_s: float = 0.001) -> list[Invocation]:
    inv_path = Path(invocations_path)
    dur_path = Path(durations_path) if durations_path else durations_path_for(inv_path)
    quantiles = read_quantiles(dur_path)
    rng = random.Random(seed)
    f, reader, header = _rows(inv_path, list(KEY) + ["Trigger"])
    minute_cols = [(i, h) for i, h in enumerate(header) if h.isdigit()]
    if not minute_cols:
        f.close()
        raise TraceError(inv_path, 1, "1", "no per-minute columns in the header")
    out = []
    with f:
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise TraceError(inv_path, line_no, "row", f"expected {len(header)} fields, got {len(row)}")
            key = tuple(row[header.index(k)] for k in KEY)
            points = quantiles.get(key)
            if points is None:
                raise TraceError(inv_path, line_no, "HashFunction",
                                 f"no row for this function in {dur_path.name}")
            owner, function = key[0], key[2]
            for col, name in minute_cols:
                count = parse_int(row[col], inv_path, line_no, name, minimum=0)
                minute = int(name)
                for k in range(count):
                    arrival = 60.0 * (minute - 1) + rng.random() * 60.0
                    duration = max(sample_duration(points, rng.random()), min_duration_s)
                    out.append(Invocation(f"{function[:8]}-{line_no}-{minute}-{k}", function, owner, arrival, duration))
    out.sort(key=lambda i: (i.arrival_s, i.id))
    return out
