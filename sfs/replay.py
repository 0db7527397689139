"""Replay a trace under a policy: open-loop arrivals, one process per invocation.

The fork server (:mod:`sfs.forkserver`) forks each invocation at its
arrival time; the scheduler (:mod:`sfs.scheduler`) admits the pid as soon as
the fork server reports it, on its own thread, and records the invocation
when it exits.  ``srtf-oracle`` is not run but simulated (:mod:`sfs.oracle`)
with the trace's service times (or measured ones, when given).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Sequence

from sfs import oracle
from sfs.records import InvocationRecord
from sfs.scheduler import Scheduler, SchedulerConfig

FORKSERVER_PRIORITY = 45
MAIN_THREAD_PRIORITY = 30  # above the functions: never preempted while holding the GIL
LEAD_S = 0.05              # from the fork server's ready signal to the first arrival


@dataclass
class ReplayResult:
    policy: str
    cores: list[int]
    records: list[InvocationRecord]
    expected: int
    wall_s: float = 0.0
    scheduler_cpu_s: float = 0.0
    stats: dict = field(default_factory=dict)
    launch_lag_s: list[float] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.expected - len({r.invocation_id for r in self.records})

    @property
    def duplicates(self) -> int:
        return len(self.records) - len({r.invocation_id for r in self.records})

    @property
    def scheduler_cpu_share(self) -> float:
        return self.scheduler_cpu_s / self.wall_s if self.wall_s > 0 else 0.0


def replay(invocations: Sequence, policy: str, cores: list[int], config: SchedulerConfig | None = None,
           progress: bool = True, real_functions: bool = False,
           services: dict[str, float] | None = None, timeout_s: float | None = None) -> ReplayResult:
    invs = sorted(invocations, key=lambda i: i.arrival_s)
    if len({str(i.id) for i in invs}) != len(invs):
        raise ValueError("invocation ids are not unique")
    if policy == "srtf-oracle":
        return ReplayResult(policy, cores, oracle.simulate(invs, services or {}, len(cores)), len(invs))
    return _Replayer(invs, policy, cores, config or SchedulerConfig(), progress, real_functions,
                     timeout_s).run()


class _Replayer:
    def __init__(self, invs, policy, cores, config, progress, real_functions, timeout_s) -> None:
        self.invs, self.policy, self.cores, self.config = invs, policy, cores, config
        self.progress, self.real_functions = progress, real_functions
        demand = sum(i.duration_s for i in invs)
        self.timeout_s = timeout_s or (invs[-1].arrival_s if invs else 0) + demand + 60.0
        self.records: list[InvocationRecord] = []
        self.failed: list[str] = []
        self.lag: list[float] = []
        self._pending = b""
        self._done_forking = threading.Event()

    def run(self) -> ReplayResult:
        scheduler = Scheduler(self.policy, self.cores, self.config, on_complete=self.records.append)
        # The arrival path runs above the functions under every policy when allowed,
        # so cfs is not charged for a launcher starved by its own load.
        from sfs.privilege import has_cap_sys_nice
        realtime = scheduler.realtime or has_cap_sys_nice()
        server = subprocess.Popen(
            [sys.executable, "-m", "sfs.forkserver"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            bufsize=0, close_fds=True)
        self.server = server
        self.scheduler = scheduler
        old_policy = os.sched_getscheduler(0)
        try:
            scheduler.start()
            if realtime:
                os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK,
                                      os.sched_param(MAIN_THREAD_PRIORITY))
            self._send_schedule(FORKSERVER_PRIORITY if realtime else 0)
            ready = server.stdout.readline()
            if ready.strip() != b"R":
                raise RuntimeError(f"the fork server did not start (said {ready!r})")
            os.set_blocking(server.stdout.fileno(), False)
            t0 = time.monotonic() + LEAD_S
            self.t0 = t0
            scheduler.add_reader(server.stdout.fileno(), self._on_server_output)
            server.stdin.write((json.dumps({"go": t0}) + "\n").encode())
            server.stdin.close()
            self._wait(t0)
        finally:
            scheduler.stop()
            if realtime and old_policy == os.SCHED_OTHER:
                os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
            if server.poll() is None:
                server.kill()
            server.wait()
            server.stdout.close()
        wall = scheduler.stats["wall_s"]
        result = ReplayResult(self.policy, self.cores, [r.shifted(self.t0) for r in self.records],
                              len(self.invs), wall, scheduler.stats["scheduler_cpu_s"],
                              dict(scheduler.stats), self.lag, self.failed)
        return result

    def _send_schedule(self, priority: int) -> None:
        lines = [json.dumps({"cores": self.cores, "priority": priority})]
        for index, inv in enumerate(self.invs):
            item = {"i": index, "at": inv.arrival_s}
            if self.real_functions and inv.real_function:
                item.update(fn=inv.real_function, args=inv.args or {})
            else:
                item["burn"] = inv.duration_s
            lines.append(json.dumps(item))
        lines.append(json.dumps({"end": True}))
        self.server.stdin.write(("\n".join(lines) + "\n").encode())

    def _on_server_output(self) -> None:
        """Runs on the scheduler thread: admit forked pids, pass on rusage CPU times."""
        try:
            chunk = os.read(self.server.stdout.fileno(), 65536)
        except BlockingIOError:
            return
        if not chunk:
            self.scheduler.remove_reader(self.server.stdout.fileno())
            self._done_forking.set()
            return
        self._pending += chunk
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == b"S":
                inv = self.invs[int(parts[1])]
                self.lag.append(float(parts[3]) - (self.t0 + inv.arrival_s))
                self.scheduler.admit(int(parts[2]), inv, arrival=self.t0 + inv.arrival_s, cpu_report=True)
            elif parts[0] == b"E":
                if int(parts[5]) != 0:
                    self.failed.append(str(self.invs[int(parts[1])].id))
                self.scheduler.report_cpu(int(parts[2]), float(parts[3]), float(parts[4]))
            elif parts[0] == b"D":
                self._done_forking.set()

    def _wait(self, t0: float) -> None:
        deadline = t0 + self.timeout_s
        bar = None
        if self.progress:
            import tqdm
            tqdm.tqdm.monitor_interval = 0  # no monitor thread: it would take the GIL at normal priority
            bar = tqdm.tqdm(total=len(self.invs), desc=f"{self.policy} x{len(self.cores)}", unit="inv",
                            leave=False, file=sys.stderr)
        try:
            while True:
                done = len(self.records)
                if bar is not None:
                    bar.update(done - bar.n)
                if done >= len(self.invs) and self._done_forking.is_set():
                    break
                if self.scheduler.error is not None:
                    raise RuntimeError("the scheduler failed") from self.scheduler.error
                if self.server.poll() not in (None, 0):
                    raise RuntimeError(f"the fork server died with status {self.server.returncode}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"replay did not finish within {self.timeout_s:.0f} s "
                                       f"({done}/{len(self.invs)} invocations done)")
                time.sleep(0.25)
            # the last reports may still be in flight
            self.scheduler.wait_idle(timeout=5)
        finally:
            if bar is not None:
                bar.close()
