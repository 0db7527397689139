"""The SFS standalone trace format: ``name script fibN start id`` (space-separated).

arrival = start x 9 ms (the replayer's inter-arrival knob in the public
code; ``iat_unit_ms`` changes it).  Service time = the fib table entry for
N: a file of ``N ms`` rows (``optimal.txt`` in the SFS repository), which is
machine-specific, hence :func:`calibrate_fib_table` to measure it here.  The
real function is ``fib`` with ``{"n": N}`` (workloads.functions.fib).

The SFS repository has no licence, so its trace is not bundled: pass its
path, or let :func:`find_shared_trace` look in $SHAREKIT_TRACE_DIR and in
a ``shared/data/traces`` folder beside the repository.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

from workloads.invocation import Invocation, TraceError, parse_float, parse_int

IAT_UNIT_MS = 9.0
SFS_TRACE_NAME = "sfs-standalone-test1.txt"


def read_fib_table(path) -> dict[int, float]:
    """N -> seconds from a ``N ms`` table."""
    path = Path(path)
    table = {}
    with open(path) as f:
        for line_no, line in enumerate(f, start=1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            if len(fields) != 2:
                raise TraceError(path, line_no, "row", f"expected 'N ms', got {line.strip()!r}")
            n = parse_int(fields[0], path, line_no, "N", minimum=0)
            table[n] = parse_float(fields[1], path, line_no, "ms", minimum=0.0) / 1000.0
    if not table:
        raise TraceError(path, 1, "row", "the fib table is empty")
    return table


def table_path_for(trace_path) -> Path:
    """The fib table beside a trace: <stem>-optimal.txt, <prefix>-optimal.txt or optimal.txt."""
    p = Path(trace_path)
    candidates = [p.with_name(f"{p.stem}-optimal.txt")]
    if "-" in p.stem:
        candidates.append(p.with_name(p.stem.rsplit("-", 1)[0] + "-optimal.txt"))
    candidates.append(p.with_name("optimal.txt"))
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError(f"no fib table for {p} (looked for {', '.join(c.name for c in candidates)}); "
                            "give it with --fib-table")


def read_sfs_standalone(path, table: dict[int, float] | None = None, table_path=None,
                        iat_unit_ms: float = IAT_UNIT_MS) -> list[Invocation]:
    path = Path(path)
    if table is None:
        table = read_fib_table(table_path or table_path_for(path))
    out = []
    seen = set()
    with open(path) as f:
        for line_no, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 5:
                raise TraceError(path, line_no, "row", f"expected 'name script fibN start id', got {len(fields)} fields")
            name, script, n_text, start_text, id_text = fields
            n = parse_int(n_text, path, line_no, "fibN", minimum=0)
            if n not in table:
                raise TraceError(path, line_no, "fibN", f"fib({n}) is not in the fib table")
            start = parse_float(start_text, path, line_no, "start", minimum=0.0)
            ident = parse_int(id_text, path, line_no, "id", minimum=0)
            if ident in seen:
                raise TraceError(path, line_no, "id", f"duplicate id {ident}")
            seen.add(ident)
            stem = script.rsplit(".", 1)[0]
            out.append(Invocation(str(ident), f"{stem}{n}", "default", start * iat_unit_ms / 1000.0,
                                  table[n], real_function=stem, args={"n": n}))
    out.sort(key=lambda i: (i.arrival_s, int(i.id)))
    return out


def _fib(n: int) -> int:
    return n if n < 2 else _fib(n - 1) + _fib(n - 2)


def calibrate_fib_table(ns=range(20, 37), probe=range(18, 25), repeats: int = 3) -> dict[int, float]:
    """fib(N) CPU seconds on this machine: measure small N, extrapolate by the golden ratio.

    The call count of naive fib grows as phi^N, so t(N) = c * phi^N; c is the
    median of the probes' t / phi^N (best of `repeats` each).
    """
    phi = (1 + math.sqrt(5)) / 2
    ratios = []
    for n in probe:
        best = math.inf
        for _ in range(repeats):
            t = time.thread_time()
            _fib(n)
            best = min(best, time.thread_time() - t)
        ratios.append(best / phi ** n)
    ratios.sort()
    c = ratios[len(ratios) // 2]
    return {n: c * phi ** n for n in ns}


def write_fib_table(path, table: dict[int, float]) -> None:
    with open(path, "w") as f:
        for n in sorted(table):
            f.write(f"{n} {table[n] * 1000:.0f}\n")


def write_sfs_standalone(path, invocations, table: dict[int, float], iat_unit_ms: float = IAT_UNIT_MS) -> None:
    """Invocations as an SFS-format trace: each duration becomes the fib N with the nearest table time."""
    ns = sorted(table)
    with open(path, "w") as f:
        for k, inv in enumerate(sorted(invocations, key=lambda i: i.arrival_s), start=1):
            n = min(ns, key=lambda m: abs(math.log(table[m]) - math.log(max(inv.duration_s, 1e-6))))
            f.write(f"fib{k} fib.py {n} {round(inv.arrival_s * 1000 / iat_unit_ms)} {k}\n")


def find_shared_trace(name: str = SFS_TRACE_NAME) -> Path | None:
    """A trace file from $SHAREKIT_TRACE_DIR or a shared/data/traces folder beside the repository, if present."""
    candidates = []
    if os.environ.get("SHAREKIT_TRACE_DIR"):
        candidates.append(Path(os.environ["SHAREKIT_TRACE_DIR"]) / name)
    repo = Path(__file__).resolve().parents[1]
    candidates.append(repo.parent / "shared" / "data" / "traces" / name)
    for c in candidates:
        if c.is_file():
            return c
    return None
