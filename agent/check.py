"""Does this node enforce the weights?  Measure what CFS gives each tenant.

One CPU-bound process per tenant, all pinned to the same core, spin inside
their tenant's group; the CPU time each group accrues over a window in which
*all* of them are spinning is the kernel's split of that core.  With every
process always runnable the split should follow the groups' weights.

The window matters more than it looks.  An earlier version let each spinner
run for a fixed wall time from its own start and counted everything between
"go" and the last exit: the spinners' interpreter start-up was inside the
window, and a low-weight spinner (which starts slowest, as it gets the
smallest part of the contended core) ran alone at the end.  Both tilt the
result toward an even split: 3:1 weights measured 0.683 instead of 0.750.
Now every spinner reports when it is ready, the window opens after the last
one has, and it closes while all of them still run.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

from .node import NodeAgent

_SPINNER = ("import sys\nsys.stdout.write('ready\\n')\nsys.stdout.flush()\n"
            "while True: pass\n")


def cpu_shares(node: NodeAgent, tenants: list[str], seconds: float = 1.5, core: int = 0) -> dict[str, float]:
    """Fraction of one core each tenant's spinner got over `seconds` of all spinning."""
    procs: dict[str, subprocess.Popen] = {}
    try:
        for tenant in tenants:
            proc = subprocess.Popen([sys.executable, "-c", _SPINNER], stdout=subprocess.PIPE)
            procs[tenant] = proc
            os.sched_setaffinity(proc.pid, {core})
            node.group(tenant).add(proc.pid)
        for tenant, proc in procs.items():
            if proc.stdout.readline().strip() != b"ready":
                raise RuntimeError(f"the spinner of {tenant} did not start")
        before = {t: node.group(t).usage().cpu_seconds for t in tenants}
        time.sleep(seconds)
        used = {t: node.group(t).usage().cpu_seconds - before[t] for t in tenants}
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()
            proc.stdout.close()
    total = sum(used.values()) or 1.0
    return {t: used[t] / total for t in tenants}
