"""Online simulation on the Alibaba 2023 GPU trace or a synthetic workload.

--model gpu (default): gang-scheduled GPU training jobs on a small GPU
cluster, lease by lease; policies themis, drf, las, gavel-ftf.  Prints a
table per policy (or, with --json, one summary object per policy per line)
and with --out writes rho_cdf.png, gpu_utilisation.png, jct_cdf.png.

--model tasks: multi-resource frameworks arrive and leave and the cluster is
re-allocated on every event; policies are the fairness criteria (drf, psdsf,
...) or themis (simplified: DRF filling among the bidders).  Alibaba pods
are grouped into frameworks by (qos, gpu_spec, rounded demand, creation
day); arrivals divided by --compress (durations are not)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sharekit.cli import UsageError

from .common import table


def add_arguments(parser):
    parser.add_argument("--trace", choices=["alibaba", "synthetic"], default="alibaba")
    parser.add_argument("--model", choices=["gpu", "tasks"], default="gpu",
                        help="gpu: GPU training jobs (default); tasks: multi-resource frameworks")
    parser.add_argument("--policy", default=None,
                        help="comma-separated.  gpu: themis, drf, las, gavel-ftf (default all four); "
                             "tasks: criteria (drf, drfh, bfdrf, tsf, psdsf, rpsdsf), criterion:selection, "
                             "or themis (default drf,psdsf,themis)")
    parser.add_argument("--json", action="store_true", help="gpu: one JSON summary object per policy per line")
    parser.add_argument("--gpus", type=int, default=32, help="gpu: cluster size in GPUs (default 32)")
    parser.add_argument("--load", type=float, default=1.5,
                        help="gpu: offered work over the arrival span / cluster capacity (default 1.5)")
    parser.add_argument("--out", help="directory for PNG plots and summary.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compress", type=float, default=None,
                        help="divide arrival times by this (default 1000 for alibaba, 1 for synthetic)")
    parser.add_argument("--window", type=float, default=86400.0, help="alibaba: grouping window in seconds")
    parser.add_argument("--max-pods", type=int, help="alibaba: use only the first N pods")
    parser.add_argument("--max-duration", type=float, default=86400.0,
                        help="alibaba: cap task durations (s); 0 = no cap (default one day)")
    parser.add_argument("--max-events", type=int, help="stop after this many events")
    parser.add_argument("--jobs", type=int, default=None, help="number of jobs (gpu: 120; tasks synthetic: 400)")
    parser.add_argument("--servers", type=int, default=30, help="synthetic: number of servers")
    parser.add_argument("--lease", type=float, default=300.0, help="themis: lease length in seconds")
    parser.add_argument("--knob", type=float, default=0.2, help="themis: fairness knob f in [0, 1)")
    parser.add_argument("--no-progress", action="store_true")


def run(args) -> int:
    if not 0 <= args.knob < 1:
        raise UsageError(f"--knob must be in [0, 1), got {args.knob}")
    if args.model == "gpu":
        return run_gpu(args)
    if args.json:
        raise UsageError("--json is available with --model gpu")
    args.policy = args.policy or "drf,psdsf,themis"
    args.jobs = args.jobs or 400
    return run_tasks(args)


def gpu_workload(args):
    from ..ftf.jobs import alibaba_gpu_cluster, alibaba_gpu_jobs, synthetic_gpu_cluster, synthetic_gpu_jobs
    n = args.jobs or 120
    if n < 1 or args.gpus < 1:
        raise UsageError("--jobs and --gpus must be positive")
    if not args.load > 0:
        raise UsageError(f"--load must be positive, got {args.load}")
    if args.trace == "alibaba":
        servers = alibaba_gpu_cluster(args.gpus)
        jobs = alibaba_gpu_jobs(n, servers, args.load)
    else:
        servers = synthetic_gpu_cluster(args.gpus)
        jobs = synthetic_gpu_jobs(n, servers, args.seed, args.load)
    return servers, jobs


def run_gpu_policies(servers, jobs, names, lease, knob):
    from ..ftf.policies import run_policies
    try:
        return run_policies(servers, jobs, names, lease, knob)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def run_gpu(args) -> int:
    servers, jobs = gpu_workload(args)
    names = [p.strip() for p in (args.policy or "themis,drf,las,gavel-ftf").split(",") if p.strip()]
    results = run_gpu_policies(servers, jobs, names, args.lease, args.knob)
    if args.json:
        for r in results:
            print(json.dumps(r.summary()))
        if args.out:   # the plots too; stdout stays one JSON object per line
            from ..ftf.plots import plot_gpu_results
            write_outputs(results, Path(args.out), plot_gpu_results)
        return 0
    models = ", ".join(f"{s.gpus}x{s.model}" for s in servers)
    print(f"{args.trace} GPU jobs: {len(jobs)} jobs, {sum(j.gpus for j in jobs)} GPUs requested in total, "
          f"{sum(j.gpus > 1 for j in jobs)} multi-GPU; cluster {models}; lease {args.lease:g} s")
    rows = []
    for r in results:
        s = r.summary()
        rows.append([r.policy, s["jobs_finished"], s["max_rho"], s["mean_rho"], s["jain_rho"],
                     f"{100 * s['unfair_fraction']:.1f}%", f"{100 * s['gpu_utilisation']:.1f}%",
                     s["makespan"] / 3600, s["mean_jct"] / 3600, r.wall])
    print(table(["policy", "finished", "max rho", "mean rho", "Jain rho", "rho>1", "GPU util", "makespan h",
                 "mean JCT h", "wall s"], rows, digits=2))
    if args.out:
        from ..ftf.plots import plot_gpu_results
        write_outputs(results, Path(args.out), plot_gpu_results)
    return 0


def write_outputs(results, out: Path, plot) -> None:
    """PNG plots plus summary.json with one summary per policy."""
    files = plot(results, out)
    (out / "summary.json").write_text(json.dumps([r.summary() for r in results], indent=2))
    print("wrote " + ", ".join(str(f) for f in files + [out / "summary.json"]), file=sys.stderr)


def run_tasks(args) -> int:
    from ..simulator import Simulator
    from ..workload import alibaba_jobs, synthetic_jobs
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
        write_outputs(results, Path(args.out), plot_results)
    return 0
