"""Show what the node agents of a Ray cluster enforce: each node's current
decision (its slice of the allocation), the cgroup weights applied, and the
CPU share each tenant got over INTERVAL seconds, measured from the kernel's
cgroup accounting.  Works from any machine that can join the cluster, while
or after an allocator runs (agents outlive their allocator)."""
from __future__ import annotations

import json

from sharekit.cli import UsageError

from .common import table


def add_arguments(parser):
    parser.add_argument("--ray", metavar="ADDRESS", required=True,
                        help="address of the Ray cluster (host:port of its head, e.g. 127.0.0.1:6379)")
    parser.add_argument("interval", nargs="?", type=float, default=1.0,
                        help="seconds over which shares are measured (default 1)")
    parser.add_argument("-j", "--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    if not args.interval > 0:
        raise UsageError(f"interval must be > 0, got {args.interval}")
    from ..ray import status
    try:
        data = status(args.ray, args.interval)
    except ConnectionError as exc:
        raise UsageError(f"cannot join the Ray cluster at {args.ray}: {exc}") from None
    if args.json:
        print(json.dumps(data))
        return 0
    if not data["nodes"]:
        print(f"no node agents on the cluster at {args.ray} (start an allocator: fairshare run --ray ...)")
        return 1
    for node in data["nodes"]:
        state = "ORPHANED (default weights)" if node["orphaned"] else f"head heard {node['head_silent_s']:.1f} s ago"
        print(f"node {node['node'][:16]}  decision v{node['version']}  cgroup v{node['cgroup_version']}  "
              f"{node['parent']}  {state}")
        rows = [[t["tenant"], t["allocated"].get("cpu", 0.0), t["weight"],
                 t["allocated_share"] if t["allocated_share"] is not None else float("nan"),
                 t["measured_cpu_share"]] for t in node["tenants"]]
        print(table(["tenant", "cpu", "weight", "allocated", "measured cpu"], rows))
        print()
    return 0
