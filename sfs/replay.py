"""Replay a trace under a policy: open-loop arrivals, one process per invocation.

The fork server (:mod:`sfs.forkserver`) forks each invocation at its
arrival time; the scheduler (:mod:`sfs.scheduler`) admits the pid as soon as
the fork server reports it, on its own thread, and records the invocation
when it exits.  The replayer's main thread reads the fork server's reports
(at an RT priority above the functions when allowed) and hands them to the
scheduler.  Simulated policies (``srtf-oracle``) are not run but simulated
with the trace's service times (or measured ones, when given).
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Sequence

from sfs import policies
from sfs.placement import Placement
from sfs.policies.base import Policy
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


def replay(invocations: Sequence, policy: str | Policy, cores: list[int], config: SchedulerConfig | None = None,
           progress: bool = True, real_functions: bool = False,
           services: dict[str, float] | None = None, timeout_s: float | None = None,
           placement: Placement | None = None) -> ReplayResult:
    """Replay `invocations` under `policy` (a registry name or a Policy instance)."""
    invs = sorted(invocations, key=lambda i: i.arrival_s)
    if len({str(i.id) for i in invs}) != len(invs):
        raise ValueError("invocation ids are not unique")
    if isinstance(policy, str) and policies.info(policy).simulated:
        simulate = policies.info(policy).load()
        return ReplayResult(policy, cores, simulate(invs, services or {}, len(cores)), len(invs))
    config = config or SchedulerConfig()
    if config.max_function_priority >= MAIN_THREAD_PRIORITY:
        raise ValueError(f"function_priority + max_preemption_depth must stay below {MAIN_THREAD_PRIORITY} "
                         "(the replayer's main thread)")
    return _Replayer(invs, policy, cores, config, progress, real_functions, timeout_s, placement).run()


class _Replayer:
    def __init__(self, invs, policy, cores, config, progress, real_functions, timeout_s, placement) -> None:
        self.invs, self.policy, self.cores, self.config = invs, policy, cores, config
        self.progress, self.real_functions, self.placement = progress, real_functions, placement
        demand = sum(i.duration_s for i in invs)
        self.timeout_s = timeout_s or (invs[-1].arrival_s if invs else 0) + demand + 60.0
        self.records: list[InvocationRecord] = []
        self.failed: list[str] = []
        self.lag: list[float] = []
        self._pending = b""
        self._done_forking = False  # the fork server forked every invocation
        self._eof = False           # ... and closed its output: nothing more to read

    def run(self) -> ReplayResult:
        scheduler = Scheduler(self.policy, self.cores, self.config, on_complete=self.records.append,
                              placement=self.placement)
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
        result = ReplayResult(scheduler.policy_name, self.cores, [r.shifted(self.t0) for r in self.records],
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
        """Admit forked pids, pass on rusage CPU times."""
        try:
            chunk = os.read(self.server.stdout.fileno(), 65536)
        except BlockingIOError:
            return
        if not chunk:
            self._eof = self._done_forking = True
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
                self._done_forking = True

    def _wait(self, t0: float) -> None:
        deadline = t0 + self.timeout_s
        bar = None
        if self.progress:
            import tqdm
            tqdm.tqdm.monitor_interval = 0  # no monitor thread: it would take the GIL at normal priority
            bar = tqdm.tqdm(total=len(self.invs), desc=f"{self.scheduler.policy_name} x{len(self.cores)}", unit="inv",
                            leave=False, file=sys.stderr)
        poller = select.poll()
        poller.register(self.server.stdout.fileno(), select.POLLIN)
        next_check = 0.0
        try:
            while True:
                # Reports are read as they come; the rest is looked at every 0.25 s.
                if not self._eof and poller.poll(250):
                    self._on_server_output()
                elif self._eof:
                    time.sleep(0.25)
                if time.monotonic() < next_check:
                    continue
                next_check = time.monotonic() + 0.25
                done = len(self.records)
                if bar is not None:
                    bar.update(done - bar.n)
                if done >= len(self.invs) and self._done_forking:
                    break
                if self.scheduler.error is not None:
                    raise RuntimeError("the scheduler failed") from self.scheduler.error
                if self.server.poll() not in (None, 0):
                    raise RuntimeError(f"the fork server died with status {self.server.returncode}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"replay did not finish within {self.timeout_s:.0f} s "
                                       f"({done}/{len(self.invs)} invocations done)")
            # the last reports may still be in flight
            self.scheduler.wait_idle(timeout=5)
        finally:
            if bar is not None:
                bar.close()
