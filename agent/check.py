"""Does this node enforce the weights?  Measure what CFS gives each tenant.

One CPU-bound process per tenant, all pinned to the same core and started
together, spin inside their tenant's group; the CPU time each group accrues
over a window in which all of them spin is the kernel's split of that core.
With every process always runnable the split follows the groups' weights.

The window starts after a warm-up.  Right after the spinners wake, the split
is visibly flatter than the weights (measured here: 0.67 for 3:1 over the
first 1.5 s from the wake-up; 0.750 over 1.5 s after a 0.5 s warm-up), most
likely because group entity weights follow load averages (PELT) that decayed
while the spinners were blocked on stdin.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

from .node import NodeAgent

_SPINNER = ("import sys, time\nsys.stdin.read(1)\n"
            "end = time.time() + float(sys.argv[1])\nwhile time.time() < end: pass\n")


def cpu_shares(node: NodeAgent, tenants: list[str], seconds: float = 1.5, core: int = 0,
               warmup: float = 0.5) -> dict[str, float]:
    """Fraction of one core each tenant's spinner got over `seconds`, after `warmup`."""
    procs: dict[str, subprocess.Popen] = {}
    try:
        for tenant in tenants:
            # The spinner blocks on stdin until all are in their groups, so
            # none gets a head start outside its group.
            proc = subprocess.Popen([sys.executable, "-c", _SPINNER, str(warmup + seconds + 0.5)],
                                    stdin=subprocess.PIPE)
            procs[tenant] = proc
            os.sched_setaffinity(proc.pid, {core})
            node.group(tenant).add(proc.pid)
        for proc in procs.values():
            proc.stdin.write(b"go")
            proc.stdin.flush()
        time.sleep(warmup)
        before = {t: node.group(t).usage().cpu_seconds for t in tenants}
        time.sleep(seconds)   # every spinner still runs: it spins 0.5 s past this window
        used = {t: node.group(t).usage().cpu_seconds - before[t] for t in tenants}
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()
    total = sum(used.values()) or 1.0
    return {t: used[t] / total for t in tenants}
