"""The acceptance measurement on a Ray cluster: every tenant keeps CPU-bound
tasks waiting on every node (overload), and for each node and tenant the
allocated share is compared with the CPU share measured from the kernel's
cgroup accounting over the steady part of the run.  PASS when every pair is
within --tolerance (default 0.05).  --json prints the embedded e2e's JSON
shape, one entry per Ray node (lock share and short-task slowdown: null,
see docs/ray.md)."""
from __future__ import annotations

import json

from sharekit.cli import UsageError

from .common import read_problem
from .ray_run import print_nodes


def add_arguments(parser):
    parser.add_argument("--ray", metavar="ADDRESS", required=True,  # `fairshare run/e2e --ray` call run() below
                        help="address of the Ray cluster (host:port of its head, e.g. 127.0.0.1:6379)")
    parser.add_argument("--problem", help="problem file (default: alice, bob, carol at weights 1:2:3)")
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds (default 6)")
    parser.add_argument("--warmup", type=float, default=4.0, help="seconds before measuring (default 4)")
    parser.add_argument("--tolerance", type=float, default=0.05, help="allowed |measured - allocated|")
    parser.add_argument("--json", action="store_true", help="print one JSON line")


def run(args) -> int:
    if not args.seconds > 0 or not args.warmup >= 0:
        raise UsageError("--seconds must be > 0 and --warmup >= 0")
    from .. import ray as fsr
    problem = read_problem(args.problem) if args.problem else None
    try:
        result = fsr.e2e(args.ray, problem, seconds=args.seconds, warmup=args.warmup)
    except (ConnectionError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(result))
        return 0
    print_nodes(result)
    worst = max((abs(t["measured_cpu_share"] - t["allocated_share"])
                 for n in result["nodes"] for t in n["tenants"]), default=float("nan"))
    verdict = "PASS" if worst <= args.tolerance else "MISS"
    print(f"target: every node-tenant pair |measured cpu - allocated| <= {args.tolerance:.2f}: "
          f"worst {worst:.3f}  {verdict}")
    return 0
