"""`make demo`: the kit's main job on one machine, top to bottom.

1. The cluster allocator (fairshare) divides a two-node cluster among three
   tenants with different weights and placement constraints.
2. The node agent for node0 (this machine) turns node0's part of that
   decision into per-tenant cgroup weights.
3. CFS follows those weights: one spinning process per tenant on one core.
4. SCL follows them too: threads of two tenants contend for a u-SCL lock
   whose weight source is the thread's cgroup; then the agent applies a new
   decision and the lock shares follow it.
5. SFS: a 20 s synthetic replay under CFS and SFS beside the SRTF oracle, with a CDF plot.
6. The link on a node, end to end (`fairshare e2e`): three tenants 1:2:3 on
   two nodes (node i on CPU i), each running FaaS invocations under SFS and
   a thread of a shared pthread lock program under the SCL interposer; the
   table shows what each tenant really got on each node.

Steps 2-4 and 6 create cgroups and need root; without it they are skipped
with a note.  Every cgroup is removed at the end, and no real-time task is left.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = ROOT / "examples" / "problems" / "demo-cluster.json"
THIS_NODE = "node0"


def heading(text: str) -> None:
    print(f"\n== {text} ==", flush=True)


def cluster_decision(policy: str = "psdsf") -> dict:
    from fairshare import allocate, load_problem
    shown = os.path.relpath(PROBLEM)   # as a person would type it from the repository
    subprocess.run([sys.executable, "-m", "fairshare.cli", "allocate", shown, "--policy", policy],
                   check=True)
    return allocate(load_problem(PROBLEM), policy).per_server()


def lock_shares(node, tenants: list[str], seconds: float = 1.5) -> dict[str, float]:
    """Hold share per tenant of a u-SCL lock that reads weights from cgroups.

    The workload runs in a child process: a group's removal kills every
    process with a thread still inside, and an exited thread can linger in
    its group for a moment after join().
    """
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    child = ctx.Process(target=_lock_workload, args=(node, tenants, seconds, results))
    child.start()
    try:
        shares = results.get(timeout=seconds + 30)
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
            child.join()
    return shares


def _lock_workload(node, tenants: list[str], seconds: float, results) -> None:
    import scl

    lock = scl.Mutex(weight_source="cgroup")
    tid_of: dict[str, int] = {}
    stop = time.monotonic() + seconds
    ready = threading.Barrier(len(tenants))

    def worker(tenant: str) -> None:
        tid_of[tenant] = threading.get_native_id()
        # cgroup v1 places single threads through `tasks`; v2 would need a
        # threaded subtree, so there the whole process goes to one tenant.
        tasks = node.group(tenant).dirs["cpu"] / "tasks"
        tasks.write_text(str(tid_of[tenant]))
        ready.wait()
        while time.monotonic() < stop:
            with lock:
                end = time.perf_counter() + 50e-6   # a 50 us critical section
                while time.perf_counter() < end:
                    pass

    threads = [threading.Thread(target=worker, args=(t,)) for t in tenants]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    hold = {th.tid: th.hold_s for th in scl.stats(lock).threads}
    total = sum(hold.values()) or 1.0
    results.put({t: hold.get(tid_of[t], 0.0) / total for t in tenants})


def node_level(decision: dict) -> None:
    from agent import NodeAgent
    from agent.check import cpu_shares

    with NodeAgent(THIS_NODE, parent="sharekit-demo") as node:
        heading(f"2. Node agent on {THIS_NODE}: per-tenant cgroup weights")
        weights = node.apply(decision)
        tenants = sorted(weights)
        total = sum(weights.values())
        for t in tenants:
            print(f"  {t:<8} cpu weight {weights[t]:>5}   target share {weights[t] / total:.3f}")

        heading("3. CFS follows the weights: one spinner per tenant on core 0")
        for t, share in cpu_shares(node, tenants).items():
            print(f"  {t:<8} CPU share {share:.3f}   (target {weights[t] / total:.3f})")

        heading("4. SCL follows the weights: u-SCL with the cgroup weight source")
        for t, share in lock_shares(node, tenants).items():
            print(f"  {t:<8} lock hold share {share:.3f}   (target {weights[t] / total:.3f})")
        even = {THIS_NODE: {t: {"cpu": 1.0} for t in tenants}}
        node.apply(even)
        print("  ... the agent applies an even split; the same lock workload now gives:")
        for t, share in lock_shares(node, tenants).items():
            print(f"  {t:<8} lock hold share {share:.3f}   (target {1 / len(tenants):.3f})")


E2E_SECONDS = 20


def end_to_end() -> int:
    heading(f"6. The link on a node: fairshare e2e ({E2E_SECONDS} s)")
    return subprocess.run([sys.executable, "-m", "fairshare.cli", "e2e", "--seconds", str(E2E_SECONDS)]).returncode


def main() -> int:
    heading("1. Cluster fair share: fairshare allocate (PS-DSF)")
    decision = cluster_decision()
    root = os.geteuid() == 0
    if root:
        node_level(decision)
    else:
        print("\nsteps 2-4 skipped: creating cgroups needs root")
    heading("5. SFS vs CFS: replay of a synthetic 20 s trace at 80% load")
    from sfs import demo
    status = demo.main()
    if not root:
        print("\nstep 6 skipped: creating cgroups needs root")
        return status
    return end_to_end() or status


if __name__ == "__main__":
    sys.exit(main())
