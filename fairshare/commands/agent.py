"""Run this node's agent: follow the allocator's decision (a file or a loopback
URL) and keep one cgroup per tenant weighted by its share on this node.  Every
applied decision is published for the node's schedulers (sharekit.shares).
Runs until SIGTERM or Ctrl-C (or --count cycles), then removes its groups; if
it is killed, its watchdog removes them."""
from __future__ import annotations

import json
import logging
import signal
import sys
import threading

from sharekit.cli import UsageError


def add_arguments(parser):
    parser.add_argument("--node", required=True, help="this node's server name in the decision")
    parser.add_argument("--decision", required=True, metavar="FILE|URL",
                        help="decision JSON: {server: {tenant: {resource: amount}}} or "
                             "'fairshare allocate --json --per-server' output; file or http://127.0.0.1 URL")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds per cycle (default 1.0)")
    parser.add_argument("--stale-after", type=float, default=10.0, metavar="S",
                        help="after S seconds without a valid decision, restore equal weights (default 10)")
    parser.add_argument("--publish", metavar="PATH", help="published shares file (default: the node's run-dir file)")
    parser.add_argument("--parent", default="sharekit-tenants", help="parent cgroup name (default sharekit-tenants)")
    parser.add_argument("--resource", default="cpu", help="resource whose amounts set the weights (default cpu)")
    parser.add_argument("--count", type=int, help="stop after this many cycles")
    parser.add_argument("-j", "--json", action="store_true", help="one JSON line per applied decision")


def run(args) -> int:
    from agent import AgentLoop, DecisionError, NodeAgent
    from sharekit.cgroups import CgroupError

    if not args.interval > 0 or not args.stale_after >= 0:
        raise UsageError("--interval must be > 0 and --stale-after >= 0")
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be >= 1")
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    try:
        node = NodeAgent(args.node, resource=args.resource, parent=args.parent)
        loop = AgentLoop(node, args.decision, interval_s=args.interval, stale_after_s=args.stale_after,
                         publish_path=args.publish)
    except (CgroupError, DecisionError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if not args.json:
        print(f"agent {args.node}: cgroup v{node.backend.version} parent {args.parent}, "
              f"decision {loop.source}, publishing {loop.publish_path}", flush=True)

    last = {"event": None}

    def report(result):
        repeated = result.event == last["event"] == "kept"   # say "kept" once per outage
        last["event"] = result.event
        if result.event not in ("applied", "reset", "kept", "error") or repeated:
            return
        if args.json:
            print(json.dumps({"event": result.event, "version": result.version, "weights": result.weights,
                              "message": result.message}), flush=True)
            return
        if result.event in ("kept", "error"):
            print(f"  {result.event}: version {result.version} stays: {result.message}", flush=True)
            return
        total = sum(result.weights.values()) or 1
        cells = "  ".join(f"{t} {w} ({w / total:.3f})" for t, w in sorted(result.weights.items()))
        print(f"v{result.version} {result.event}: {cells or 'no tenants'}", flush=True)

    try:
        loop.run(stop, count=args.count, on_cycle=report)
    except CgroupError as exc:
        raise UsageError(str(exc)) from None
    finally:
        loop.stop()
    return 1 if last["event"] == "error" else 0
