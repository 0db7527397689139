"""Open any supported trace by sniffing its first line.

Formats: ``azure2019`` (invocations file; durations file beside it or
given), ``azure2021`` (per-invocation CSV), ``sfs`` (SFS standalone, fib
table beside it or given).
"""
from __future__ import annotations

from pathlib import Path

from workloads.invocation import Invocation, TraceError

FORMATS = ("azure2019", "azure2021", "sfs")


def detect_format(path) -> str:
    path = Path(path)
    with open(path) as f:
        first = f.readline().strip()
    if first.startswith("HashOwner,HashApp,HashFunction,Trigger"):
        return "azure2019"
    if first.replace(" ", "").startswith("app,func,end_timestamp,duration"):
        return "azure2021"
    if len(first.split()) == 5:
        return "sfs"
    raise TraceError(path, 1, "header", "unrecognised trace format (expected Azure 2019 invocations, "
                     "Azure 2021 'app,func,end_timestamp,duration' or SFS 'name script fibN start id')")


def load_trace(path, fmt: str = "auto", durations=None, fib_table=None, seed: int = 0,
               recalibrate: bool = False) -> list[Invocation]:
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "azure2019":
        from workloads.azure2019 import read_azure2019
        return read_azure2019(path, durations, seed=seed)
    if fmt == "azure2021":
        from workloads.azure2021 import read_azure2021
        return read_azure2021(path)
    if fmt == "sfs":
        from workloads.sfs_standalone import calibrate_fib_table, read_sfs_standalone
        table = calibrate_fib_table() if recalibrate else None
        return read_sfs_standalone(path, table=table, table_path=fib_table)
    raise ValueError(f"unknown trace format {fmt!r} (choose from {', '.join(FORMATS)})")
