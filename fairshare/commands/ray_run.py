"""Run the allocator on an existing Ray cluster: one node agent per Ray node
(a pinned actor running the same agent code as the embedded default), every
tenant's CPU-bound workload submitted through the allocator for SECONDS,
each new decision printed as the agents acknowledge it, then the per-node
shares measured from the kernel's cgroup accounting.  Servers are the Ray
nodes (capacity from their resources) or the servers of --problem (mapped
to nodes by a ray_node label, node id or address, else in order)."""
from __future__ import annotations

import json

from sharekit.cli import UsageError

from .common import read_problem, table


def add_arguments(parser):
    parser.add_argument("--ray", metavar="ADDRESS", required=True,  # `fairshare run/e2e --ray` call run() below
                        help="address of the Ray cluster (host:port of its head, e.g. 127.0.0.1:6379)")
    parser.add_argument("--problem", help="problem file (servers map to Ray nodes; frameworks are the tenants)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the workload runs (default 10)")
    parser.add_argument("--policy", default="drf", help="allocation policy (default drf)")
    parser.add_argument("--cycle", type=float, default=1.0, help="allocation cycle in seconds (default 1)")
    parser.add_argument("--json", action="store_true", help="print the e2e JSON line only")


def check(args) -> None:
    if not args.seconds > 0:
        raise UsageError(f"--seconds must be > 0, got {args.seconds}")
    if not args.cycle > 0:
        raise UsageError(f"--cycle must be > 0, got {args.cycle}")


def print_nodes(result: dict) -> None:
    for node in result["nodes"]:
        print(f"node {node['node'][:16]}")
        rows = [[t["tenant"], t["allocated_share"], t["measured_cpu_share"],
                 t["measured_cpu_share"] - t["allocated_share"]] for t in node["tenants"]]
        headers = ["tenant", "allocated", "measured cpu", "diff"]
        if any(t.get("measured_lock_share") is not None or t.get("short_p50_slowdown") is not None
               for t in node["tenants"]):
            headers += ["lock share", "short p50 slowdown"]
            for row, t in zip(rows, node["tenants"]):
                row += ["-" if t.get(k) is None else t[k] for k in ("measured_lock_share", "short_p50_slowdown")]
        print(table(headers, rows))
        if "note" in node:
            print(f"note: {node['note']}")
    if "note" in result:
        print(f"note: {result['note']}")


def run(args) -> int:
    check(args)
    from .. import ray as fsr
    problem = read_problem(args.problem) if args.problem else None
    try:
        if args.json:
            result = fsr.e2e(args.ray, problem, seconds=args.seconds, cycle_s=args.cycle, policy=args.policy,
                             node_seconds=0)
            print(json.dumps(result))
            return 0
        result = fsr.run(args.ray, problem, seconds=args.seconds, cycle_s=args.cycle, policy=args.policy)
    except (ConnectionError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    print_nodes(result)
    return 0
