"""The acceptance measurement on a Ray cluster: every tenant keeps CPU-bound
tasks waiting on every node (overload), and for each node and tenant the
allocated share is compared with the CPU share measured from the kernel's
cgroup accounting over the steady part of the run.  Then every node's agent
runs the embedded e2e's node workload (SFS invocations per tenant and the
lock-heavy program under the interposer) for as long again, which gives the
lock share and the short-task slowdown.  PASS when every pair is within
--tolerance (default 0.05) for CPU and lock share.  --json prints the
embedded e2e's JSON shape, one entry per Ray node."""
from __future__ import annotations

import json

from sharekit.cli import UsageError

from ..e2e.report import MAX_SHORT_SLOWDOWN
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
    if not args.seconds >= 3 or not args.warmup >= 0:
        raise UsageError("--seconds must be >= 3 and --warmup >= 0")
    from .. import ray as fsr
    problem = read_problem(args.problem) if args.problem else None
    try:
        # The node workload runs as long as the Ray-task measurement, with the
        # embedded e2e's node options (scheduler policy, overload, locks).
        result = fsr.e2e(args.ray, problem, seconds=args.seconds, warmup=args.warmup,
                         node_seconds=args.seconds,
                         node_options={"warmup_s": min(3.0, args.seconds / 3),
                                       "sfs_policy": getattr(args, "sfs_policy", "sfs-tenant"),
                                       "overload": getattr(args, "overload", 1.5),
                                       "locks": not getattr(args, "no_locks", False)})
    except (ConnectionError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(result))
        return 0
    print_nodes(result)
    rows = [t for n in result["nodes"] for t in n["tenants"]]
    for what, key in (("cpu", "measured_cpu_share"), ("lock", "measured_lock_share")):
        diffs = [abs(t[key] - t["allocated_share"]) for t in rows if t.get(key) is not None]
        if not diffs:
            print(f"target: every node-tenant pair |measured {what} - allocated| <= {args.tolerance:.2f}: "
                  f"not measured")
            continue
        worst = max(diffs)
        print(f"target: every node-tenant pair |measured {what} - allocated| <= {args.tolerance:.2f}: "
              f"worst {worst:.3f}  {'PASS' if worst <= args.tolerance else 'MISS'}")
    slow = [t["short_p50_slowdown"] for t in rows if t.get("short_p50_slowdown") is not None]
    if slow:
        print(f"short p50 slowdown (embedded e2e's target <= {MAX_SHORT_SLOWDOWN}): worst {max(slow):.2f}  "
              f"{'PASS' if max(slow) <= MAX_SHORT_SLOWDOWN else 'MISS'}")
    return 0
