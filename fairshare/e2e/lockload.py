"""One node's lock side: an unmodified pthread program shared by the tenants.

One `shared_lock` process per node runs under the LD_PRELOAD interposer with
the cgroup weight source, so its one pthread mutex is a u-SCL lock that gives
each thread lock opportunity in proportion to the weight of the thread's cpu
cgroup.  The process sits in the node's parent group; thread k is moved into
tenant k's group by writing its TID into the group's ``tasks`` files (cgroup
v1 places single threads; cgroup v2 would need a threaded subtree, which the
tenant groups are not, so there the lock side is skipped).

Lock share = each tenant's hold time from the interposer's statistics file
(per-thread ``hold_ns``, rewritten every 100 ms), as a fraction of all
tenants' hold time over the same window.  A snapshot counts at the time the
program wrote it, not when it was read: the program's threads are CFS, and
while SFS keeps the CPU busy with SCHED_FIFO work they may not run (nor
rewrite the file) for up to a second.

A leaving tenant's thread is moved back to the parent and stopped *before*
the agent removes the tenant's group: removing a group kills every process
with a thread inside, and that would take the whole program.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from agent import NodeAgent
from sharekit.process import die_with_parent

STATS_INTERVAL_MS = 100
CS_US = 50          # critical section
OUTSIDE_US = 5      # a little work outside, so the lock changes hands
# Inside its tenant's group the lock thread competes with the tenant's FaaS
# processes; at nice 0 a holder is preempted by its own siblings mid-slice and
# its hold time (wall time) grows with how many of them are runnable, not with
# the tenant's weight.  At nice -20 it runs whenever its group runs.  The lock
# weight comes from the cgroup, so nice does not change the lock's split.
LOCK_THREAD_NICE = -20


def thread_placement_supported(node: NodeAgent, tenant: str) -> bool:
    return node.group(tenant).version == 1


class SharedLockProgram:
    def __init__(self, node: NodeAgent, tenants: list[str], present: list[str], cpus: set[int],
                 stats_path: Path) -> None:
        """One thread per name in `tenants`; those in `present` are placed in their groups now,
        the others wait in the parent until `place`."""
        from scl.paths import native_paths
        from workloads.locks import binary

        self.node = node
        self.tenants = list(tenants)
        self.stats_path = Path(stats_path)
        self.tid_of: dict[str, int] = {}
        self.index_of = {t: k for k, t in enumerate(self.tenants)}
        self.left: set[str] = set()
        env = dict(os.environ, LD_PRELOAD=str(native_paths().preload), SCL_PRELOAD_WEIGHT="cgroup",
                   SCL_PRELOAD_STATS_FILE=str(self.stats_path),
                   SCL_PRELOAD_STATS_INTERVAL_MS=str(STATS_INTERVAL_MS))

        def child_setup() -> None:
            die_with_parent()
            os.sched_setaffinity(0, cpus)   # before any thread exists: they all inherit it

        self.proc = subprocess.Popen(
            [str(binary("shared_lock")), "--threads", str(len(self.tenants)), "--cs-us", str(CS_US),
             "--outside-us", str(OUTSIDE_US), "--seconds", "3600"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True, bufsize=1,
            preexec_fn=child_setup)
        self._parent_dirs = {c: d.parent for c, d in node.group(present[0]).dirs.items() if c != "memory"}
        for directory in self._parent_dirs.values():
            (directory / "cgroup.procs").write_text(str(self.proc.pid))
        while True:
            line = self._line()
            if line == "ready":
                break
            _, index, tid = line.split()
            self.tid_of[self.tenants[int(index)]] = int(tid)
        for tenant in present:
            self.place(tenant)

    def place(self, tenant: str) -> None:
        """Move `tenant`'s thread into its group (cpu and cpuacct: weight and accounting)."""
        for controller, directory in self.node.group(tenant).dirs.items():
            if controller != "memory":
                (directory / "tasks").write_text(str(self.tid_of[tenant]))
        os.setpriority(os.PRIO_PROCESS, self.tid_of[tenant], LOCK_THREAD_NICE)

    def start(self, tenant: str) -> None:
        self.proc.stdin.write(f"go {self.index_of[tenant]}\n")

    def _line(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the shared_lock program exited (status {self.proc.poll()})")
        return line.strip()

    def leave(self, tenant: str) -> None:
        """Move `tenant`'s thread out of its group and stop it (before the group goes)."""
        tid = self.tid_of[tenant]
        for directory in self._parent_dirs.values():
            (directory / "tasks").write_text(str(tid))
        index = self.index_of[tenant]
        self.proc.stdin.write(f"stop {index}\n")
        while self._line() != f"stopped {index}":
            pass
        self.left.add(tenant)

    def snapshot(self) -> tuple[float | None, dict[str, float]]:
        """The latest statistics snapshot: when the program wrote it (time.monotonic()
        seconds; None when unreadable) and the cumulative hold time per tenant."""
        try:
            data = json.loads(self.stats_path.read_text())
        except (OSError, ValueError):
            return None, {}
        stamp = data.get("monotonic_ns")
        by_tid = {}
        for lock in data.get("locks", []):
            for thread in lock.get("threads", []):
                by_tid[int(thread["tid"])] = by_tid.get(int(thread["tid"]), 0) + thread["hold_ns"] / 1e9
        return (stamp / 1e9 if isinstance(stamp, int) else None,
                {t: by_tid.get(tid, 0.0) for t, tid in self.tid_of.items()})

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        for suffix in ("", ".tmp"):
            try:
                os.unlink(f"{self.stats_path}{suffix}")
            except FileNotFoundError:
                pass
