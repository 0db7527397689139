"""Benchmarks on a Ray cluster.  Throughput: TASKS short tasks submitted
through the allocator vs plain ray.remote on the same cluster (target: at
least 0.8x).  --scale: one allocation cycle for NODES x TENANTS on paper,
allocator time plus broadcast, using the per-agent call cost measured on the
cluster (target: the cycle fits in its 1 s period)."""
from __future__ import annotations

import json

from sharekit.cli import UsageError


def add_arguments(parser):
    parser.add_argument("--ray", metavar="ADDRESS", required=True, help="address of the Ray cluster")
    parser.add_argument("--tasks", type=int, default=1000, help="short tasks per round (default 1000)")
    parser.add_argument("--depth", type=int, default=2, help="tasks in flight per allocated slot (default 2)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating pairs of rounds (default 5)")
    parser.add_argument("--scale", action="store_true", help="also the 1,000-node cycle on paper")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("-j", "--json", action="store_true")


def run(args) -> int:
    if min(args.tasks, args.depth, args.rounds, args.nodes, args.tenants) < 1:
        raise UsageError("--tasks, --depth, --rounds, --nodes and --tenants must be >= 1")
    from ..ray import bench
    try:
        out = {"throughput": bench.throughput(args.ray, args.tasks, args.depth, args.rounds)}
        if args.scale:
            cost = bench.apply_cost(args.ray, args.tenants)
            paper = bench.scale(args.nodes, args.tenants)
            # The driver issues every agent's call before waiting for any: the
            # broadcast costs one submission per agent plus about one round trip.
            paper["broadcast_s"] = args.nodes * cost["submit_per_call_s"] + cost["round_trip_p50_s"]
            paper["cycle_s"] = paper["allocate_s"] + paper["build_slices_s"] + paper["broadcast_s"]
            out["agent"], out["scale"] = cost, paper
    except (ConnectionError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(out))
        return 0
    t = out["throughput"]
    verdict = "PASS" if t["ratio"] >= 0.8 else "MISS"
    print(f"throughput, {t['tasks']} short tasks, depth {t['depth']}, {t['rounds']} alternating pairs: "
          f"kit {t['kit_per_s']:.0f}/s, plain ray.remote {t['plain_per_s']:.0f}/s (medians); ratio median "
          f"{t['ratio']:.2f}, spread {t['ratio_min']:.2f}-{t['ratio_max']:.2f}  (target >= 0.80) {verdict}")
    if args.scale:
        a, s = out["agent"], out["scale"]
        print(f"agent, {a['tenants']} tenants: decision {a['decision_bytes']} B, apply p50 "
              f"{a['apply_p50_s'] * 1e3:.2f} ms, call round trip p50 {a['round_trip_p50_s'] * 1e3:.2f} ms, "
              f"unchanged-decision heartbeat p50 {a['heartbeat_p50_s'] * 1e3:.2f} ms")
        verdict = "PASS" if s["cycle_s"] <= 1.0 else "MISS"
        print(f"cycle on paper, {s['nodes']} nodes x {s['tenants']} tenants: allocate {s['allocate_s']:.3f} s, "
              f"slices {s['build_slices_s']:.3f} s ({s['decision_bytes_per_agent_p50']} B per agent, "
              f"{s['decision_bytes_total'] / 1e6:.1f} MB in all), broadcast {s['broadcast_s']:.3f} s "
              f"-> cycle {s['cycle_s']:.3f} s  (target <= 1 s) {verdict}")
    return 0
