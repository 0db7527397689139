"""A short SFS vs CFS replay of the bundled demo trace (for `make demo`).

``python -m sfs.demo`` replays workloads/data/sfs-demo.txt (50 synthetic
invocations in the SFS standalone format, 80% load on 2 cores) under cfs,
sfs and the SRTF oracle on every core and prints one line per policy.
Needs CAP_SYS_NICE for the sfs run; without it only cfs and the oracle run.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

DEMO_TRACE = Path(__file__).resolve().parents[1] / "workloads" / "data" / "sfs-demo.txt"


def main() -> int:
    from sfs.privilege import has_cap_sys_nice
    from sfs.records import summarize
    from sfs.replay import replay
    from workloads.load import rescale_to_load
    from workloads.traces import load_trace

    cores = list(range(min(2, os.cpu_count() or 1)))
    invs = rescale_to_load(load_trace(DEMO_TRACE), 0.8, len(cores))
    services = {i.id: i.duration_s for i in invs}
    policies = ["cfs", "sfs"] if has_cap_sys_nice() else ["cfs"]
    if "sfs" not in policies:
        print("sfs skipped: SCHED_FIFO needs CAP_SYS_NICE (run as root)", file=sys.stderr)
    print(f"SFS demo: {len(invs)} invocations of {DEMO_TRACE.name}, 80% load on cores {cores}")
    print(f"{'policy':<12} {'short p50':>9} {'short p99':>9} {'long-ish mean':>13} {'lost':>4}")
    measured = None
    ok = True
    for policy in policies + ["srtf-oracle"]:
        result = replay(invs, policy, cores, progress=False, services=measured)
        if policy == "cfs":
            measured = {r.invocation_id: r.cpu_s for r in result.records}
        rows = {row.name: row for row in summarize(result.records, services)}
        rest = [r.slowdown for r in result.records if services[r.invocation_id] >= 0.25]
        print(f"{policy:<12} {rows['short'].p50:>9.2f} {rows['short'].p99:>9.2f} "
              f"{(sum(rest) / len(rest) if rest else float('nan')):>13.2f} {result.lost:>4}")
        ok &= result.lost == 0 and result.duplicates == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
