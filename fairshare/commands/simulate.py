"""Online simulation: frameworks arrive and leave, the cluster is
re-allocated on every event.  Prints a summary table per policy and writes
PNG plots (utilisation over time, dominant shares over time, JCT CDF).

Alibaba input: pods grouped into frameworks by (qos, gpu_spec, rounded
demand, creation day); arrivals divided by --compress (durations are not)
to raise the load of this sparse trace."""
from __future__ import annotations

import json
import time
from pathlib import Path

from sharekit.cli import UsageError

from .common import table


def add_arguments(parser):
    parser.add_argument("--trace", choices=["alibaba", "synthetic"], default="alibaba")
    parser.add_argument("--policy", default="drf,psdsf,themis",
                        help="comma-separated: criteria (drf, drfh, bfdrf, tsf, psdsf, rpsdsf), "
                             "criterion:selection, or themis (default drf,psdsf,themis)")
    parser.add_argument("--out", help="directory for PNG plots and summary.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compress", type=float, default=None,
                        help="divide arrival times by this (default 1000 for alibaba, 1 for synthetic)")
    parser.add_argument("--window", type=float, default=86400.0, help="alibaba: grouping window in seconds")
    parser.add_argument("--max-pods", type=int, help="alibaba: use only the first N pods")
    parser.add_argument("--max-duration", type=float, default=86400.0,
                        help="alibaba: cap task durations (s); 0 = no cap (default one day)")
    parser.add_argument("--max-events", type=int, help="stop after this many events")
    parser.add_argument("--jobs", type=int, default=400, help="synthetic: number of jobs")
    parser.add_argument("--servers", type=int, default=30, help="synthetic: number of servers")
    parser.add_argument("--lease", type=float, default=300.0, help="themis: lease length in seconds")
    parser.add_argument("--knob", type=float, default=0.2, help="themis: fairness knob f in [0, 1)")
    parser.add_argument("--no-progress", action="store_true")


def run(args) -> int:
    from ..simulator import Simulator
    from ..workload import alibaba_jobs, synthetic_jobs
    if not 0 <= args.knob < 1:
        raise UsageError(f"--knob must be in [0, 1), got {args.knob}")
    if args.trace == "alibaba":
        servers, jobs, dropped = alibaba_jobs(args.window, max_pods=args.max_pods,
                                              max_duration=args.max_duration or None)
        compress = args.compress or 1000.0
        label = f"alibaba trace: {len(servers)} nodes, {len(jobs)} frameworks from " \
                f"{sum(len(j.durations) for j in jobs)} pods ({dropped} pods fit no node), arrivals / {compress:g}"
    else:
        servers, jobs, dropped = synthetic_jobs(args.servers, args.jobs, args.seed)
        compress = args.compress or 1.0
        label = f"synthetic: {len(servers)} servers, {len(jobs)} jobs ({dropped} unplaceable tasks dropped)"
    print(label)
    results = []
    for pol in args.policy.split(","):
        try:
            sim = Simulator(servers, jobs, pol.strip(), seed=args.seed, compress=compress,
                            lease=args.lease, knob=args.knob)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        t0 = time.perf_counter()
        res = sim.run(args.max_events, progress=not args.no_progress)
        res.wall = time.perf_counter() - t0
        results.append(res)
    rows = []
    for r in results:
        s = r.summary()
        rows.append([r.policy, s["events"], s["jobs_done"], s["mean_jct"], s["p95_jct"], s["mean_rho"], s["max_rho"],
                     s["mean_jain"]] + [f"{100 * s[f'util_{k}']:.2f}%" for k in r.resources] + [r.wall])
    header = ["policy", "events", "jobs done", "mean JCT s", "p95 JCT s", "mean rho", "max rho", "Jain"] + \
             [f"util {k}" for k in results[0].resources] + ["wall s"]
    print(table(header, rows, digits=2))
    if args.out:
        from ..plots import plot_results
        out = Path(args.out)
        files = plot_results(results, out)
        (out / "summary.json").write_text(json.dumps([r.summary() for r in results], indent=2))
        print("wrote " + ", ".join(str(f) for f in files + [out / "summary.json"]))
    return 0
