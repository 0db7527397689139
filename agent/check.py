"""Does this node enforce the weights?  Measure what CFS gives each tenant.

One CPU-bound process per tenant, all pinned to the same core and started
together, spin for a fixed wall time inside their tenant's group; the CPU
time each group accrues is then the kernel's split of that core.  With every
process always runnable the split should follow the groups' weights.
"""
from __future__ import annotations

import os
import subprocess
import sys

from .node import NodeAgent

_SPINNER = ("import sys, time\nsys.stdin.read(1)\n"
            "end = time.time() + float(sys.argv[1])\nwhile time.time() < end: pass\n")


def cpu_shares(node: NodeAgent, tenants: list[str], seconds: float = 1.5, core: int = 0) -> dict[str, float]:
    """Fraction of one core each tenant's spinner got over `seconds`."""
    procs: dict[str, subprocess.Popen] = {}
    try:
        for tenant in tenants:
            # The spinner blocks on stdin until all are in their groups, so
            # none gets a head start outside its group.
            proc = subprocess.Popen([sys.executable, "-c", _SPINNER, str(seconds)], stdin=subprocess.PIPE)
            procs[tenant] = proc
            os.sched_setaffinity(proc.pid, {core})
            node.group(tenant).add(proc.pid)
        before = {t: node.group(t).usage().cpu_seconds for t in tenants}
        for proc in procs.values():
            proc.stdin.write(b"go")
            proc.stdin.flush()
        for proc in procs.values():
            proc.wait(timeout=seconds + 60)
        used = {t: node.group(t).usage().cpu_seconds - before[t] for t in tenants}
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()
    total = sum(used.values()) or 1.0
    return {t: used[t] / total for t in tenants}
