"""A whole cluster on this machine: allocate, one agent per node, run, re-allocate.

    result = run_local(problem, RunConfig(seconds=20), events=[Event(10.0, "leave", "bob")])

Every `cycle_s` the run re-applies the current decision (what a long-lived
agent does), and an event (a tenant arriving or leaving) re-allocates the
cluster with the tenants present and applies the new decision on every node
at once.  Every `interval_s` it samples each tenant group's CPU time and
each tenant's lock hold time.  On exit, also on an exception or SIGTERM,
every process and cgroup it made is gone; groups left by a run that was
SIGKILLed are swept by the next one (`sweep_stale`).
"""
from __future__ import annotations

import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Problem
from .node_run import NodeRun, node_cpus
from .workload import LoadConfig

STALE_PREFIX = "sharekit-e2e-"   # + run pid + "-" + node: the parent groups of one run


@dataclass(frozen=True)
class Event:
    at: float
    kind: str        # "arrive" or "leave"
    tenant: str


@dataclass
class RunConfig:
    seconds: float = 20.0
    policy: str = "drf"              # cluster allocation policy
    sfs_policy: str = "sfs-tenant"   # node scheduler (falls back to "sfs" when not available)
    interval_s: float = 0.25         # sampling
    cycle_s: float = 1.0             # agent cycle
    warmup_s: float = 3.0            # skipped at the start of each steady window
    locks: bool = True
    load: LoadConfig = field(default_factory=LoadConfig)


@dataclass
class RunResult:
    config: RunConfig
    nodes: list[NodeRun]
    events: list[Event]
    decisions: list[tuple[float, dict]]
    notes: list[str] = field(default_factory=list)


def allocate_present(problem: Problem, present: set[str], policy: str) -> dict:
    """per_server() of the problem restricted to the tenants present (every server listed)."""
    from ..policies import get_policy
    frameworks = [f for f in problem.frameworks if f.name in present]
    servers = {s.name: {} for s in problem.servers}
    if not frameworks:
        return servers
    sub = Problem(problem.servers, frameworks, problem.units)
    servers.update(get_policy(policy)(sub, 0).per_server())
    return servers


def check_events(problem: Problem, events: list[Event], seconds: float) -> None:
    names = {f.name for f in problem.frameworks}
    for event in events:
        if event.kind not in ("arrive", "leave"):
            raise ValueError(f"event {event}: kind must be 'arrive' or 'leave'")
        if event.tenant not in names:
            raise ValueError(f"event {event.kind} {event.tenant}@{event.at:g}: no tenant {event.tenant!r} "
                             f"in the problem (tenants: {', '.join(sorted(names))})")
        if not 0 < event.at < seconds:
            raise ValueError(f"event {event.kind} {event.tenant}@{event.at:g}: time must be inside (0, {seconds:g}) s")


def largest_shares(problem: Problem, present: set[str], events: list[Event], policy: str) -> dict[str, dict[str, float]]:
    """node -> tenant -> the largest share the tenant will hold there, over every phase of the
    run (the events are known in advance and the allocation is deterministic)."""
    from .node_run import node_shares
    present = set(present)
    decisions = [allocate_present(problem, present, policy)]
    for event in events:
        (present.add if event.kind == "arrive" else present.discard)(event.tenant)
        decisions.append(allocate_present(problem, present, policy))
    out: dict[str, dict[str, float]] = {s.name: {} for s in problem.servers}
    for decision in decisions:
        for node, largest in out.items():
            for tenant, share in node_shares(decision, node).items():
                largest[tenant] = max(largest.get(tenant, 0.0), share)
    return out


def sweep_stale() -> int:
    """Remove the groups of earlier runs whose process is gone (SIGKILL); returns how many."""
    from sharekit.cgroups import remove_empty_parent, stale_parents
    return sum(remove_empty_parent(name) for name in stale_parents(STALE_PREFIX))


def run_local(problem: Problem, config: RunConfig, events: list[Event] = (),
              initial_absent: set[str] = frozenset()) -> RunResult:
    events = sorted(events, key=lambda e: e.at)
    check_events(problem, events, config.seconds)
    sweep_stale()
    present = {f.name for f in problem.frameworks} - set(initial_absent)
    decision = allocate_present(problem, present, config.policy)
    largest = largest_shares(problem, present, events, config.policy)
    all_tenants = [f.name for f in problem.frameworks]
    run_id = str(os.getpid())
    nodes: list[NodeRun] = []
    decisions = [(0.0, decision)]
    notes: list[str] = []
    old_term = signal.signal(signal.SIGTERM, _raise_exit)
    with tempfile.TemporaryDirectory(prefix="sharekit-e2e-") as tmp:
        try:
            for server, cpus in zip(problem.servers, node_cpus(len(problem.servers))):
                node = NodeRun(server.name, cpus, run_id, all_tenants, config.seconds, config.load,
                               config.sfs_policy, config.locks, Path(tmp))
                node.largest_shares = largest[server.name]
                nodes.append(node)
                node.start(decision, quiet=len(nodes) > 1)     # notes once, not once per node
            for node in nodes:
                node.wait_ready()
                if node.lock_note and node.lock_note not in notes:
                    notes.append(node.lock_note)
            t0 = time.monotonic() + 0.05
            for node in nodes:
                node.go(t0)
            _drive(nodes, problem, config, events, present, decisions, t0)
            for node in nodes:
                node.finish()
        finally:
            for node in nodes:
                node.close()
            signal.signal(signal.SIGTERM, old_term)
    return RunResult(config, nodes, list(events), decisions, notes)


def _drive(nodes, problem, config, events, present, decisions, t0) -> None:
    pending = list(events)
    next_cycle = config.cycle_s
    step = 0
    while True:
        step += 1
        wake = t0 + step * config.interval_s
        time.sleep(max(0.0, wake - time.monotonic()))
        now = time.monotonic() - t0
        for node in nodes:          # before any change, so a phase's last sample still has its tenants
            node.check()
            node.sample(now)
        changed = False
        while pending and pending[0].at <= now:
            event = pending.pop(0)
            (present.add if event.kind == "arrive" else present.discard)(event.tenant)
            changed = True
        if changed:
            decision = allocate_present(problem, present, config.policy)
            decisions.append((now, decision))
            for node in nodes:
                node.apply(decision, now)
        elif now >= next_cycle:
            for node in nodes:      # the agent's cycle: re-apply the current decision (idempotent)
                node.reapply(decisions[-1][1])
        if now >= next_cycle:
            next_cycle += config.cycle_s
        if now >= config.seconds:
            return


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)
