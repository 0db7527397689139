"""Run PROBLEM on this machine: allocate it, start one node agent per node
(node i on CPU i when there are enough CPUs, else all nodes share them),
run every tenant's workload in its groups (FaaS invocations under SFS and
its thread of a shared lock program, as in `fairshare e2e`), and
re-allocate when a tenant arrives or leaves (--arrive/--leave TENANT@SECONDS;
a tenant with an --arrive is absent until then).  Prints each decision as it
is applied and, at the end, the shares each tenant got on each node.
Needs root (cgroups, SCHED_FIFO)."""
from __future__ import annotations

import json
import re

from sharekit.cli import UsageError

from .common import read_problem, table
from .e2e import add_node_load_arguments, load_config

_EVENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)@([0-9]+(?:\.[0-9]*)?)$")


def add_arguments(parser):
    parser.add_argument("problem", nargs="?",
                        help="problem file (.json, .yaml, .yml) in the `fairshare allocate` format (optional with "
                             "--ray: then the cluster's nodes are the servers)")
    parser.add_argument("--ray", metavar="ADDRESS",
                        help="run on an existing Ray cluster (head host:port): the allocator here, a node agent "
                             "per Ray node (docs/ray.md)")
    parser.add_argument("--cycle", type=float, default=1.0, help="with --ray: allocation cycle in seconds (default 1)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the run (default 30)")
    add_node_load_arguments(parser)
    parser.add_argument("--arrive", action="append", default=[], metavar="TENANT@SECONDS",
                        help="the tenant arrives at this time (repeatable)")
    parser.add_argument("--leave", action="append", default=[], metavar="TENANT@SECONDS",
                        help="the tenant leaves at this time (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")


def parse_events(specs: list[str], kind: str):
    from ..e2e.run import Event
    events = []
    for spec in specs:
        match = _EVENT.match(spec)
        if not match:
            raise UsageError(f"--{kind} {spec!r}: expected TENANT@SECONDS, e.g. bob@10")
        events.append(Event(float(match.group(2)), kind, match.group(1)))
    return events


def run(args) -> int:
    import os

    from ..e2e import report
    from ..e2e.run import RunConfig, run_local
    if args.ray:
        from .ray_run import run as run_on_ray
        return run_on_ray(args)
    if args.problem is None:
        raise UsageError("a problem file is needed (or --ray ADDRESS)")
    problem = read_problem(args.problem)
    if not 1 <= args.seconds <= 3600:
        raise UsageError(f"--seconds {args.seconds:g}: use 1 to 3600")
    events = parse_events(args.arrive, "arrive") + parse_events(args.leave, "leave")
    if os.geteuid() != 0:
        raise UsageError("needs root: it creates cgroups and runs SFS under SCHED_FIFO")
    from .common import policy_runner
    policy_runner(args.policy)
    config = RunConfig(seconds=args.seconds, policy=args.policy, sfs_policy=args.sfs_policy,
                       locks=not args.no_locks, warmup_s=min(3.0, args.seconds / 5),
                       load=load_config(args.overload, changing=bool(events)))
    absent = {e.tenant for e in events if e.kind == "arrive"}
    try:
        result = run_local(problem, config, events, initial_absent=absent)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(report.to_json(result)))
        return 0
    for at, decision in result.decisions:
        placed = "; ".join(f"{server}: " + (", ".join(f"{t} {r.get('cpu', 0):g} cpu" for t, r in sorted(here.items()))
                                            or "idle") for server, here in decision.items())
        print(f"{at:6.1f} s  decision  {placed}")
    for node in result.nodes:
        print(f"\n{node.name} (CPU {','.join(map(str, sorted(node.cpus)))})")
        for phase in report.phases(node, result):
            rows = [[r.tenant, r.allocated, r.cpu, "-" if r.lock is None else r.lock] for r in phase.rows]
            print(f"  {phase.steady_from:.1f}-{phase.end:.1f} s")
            text = table(["tenant", "allocated", "cpu share", "lock share"], rows)
            print("\n".join("  " + line for line in text.splitlines()))
    return 0
