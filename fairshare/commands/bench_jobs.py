"""Benchmark (not a test) for finish-time fairness and multi-task jobs.

(m) multi-task jobs: wall time of mmf-dp and perturb on 100 jobs x 20
    servers (target <= 1 s each), and the gap of both heuristics to the exact
    lexicographic optimum on random instances small enough for the MILPs.
(g) GPU jobs: every policy on the Alibaba-derived GPU workload in one run,
    targets: Themis' max rho below DRF's and LAS's and within 1.5x of
    Gavel-FTF's, its GPU utilisation within 5 points of DRF's.

Run: python -m fairshare.commands.bench_jobs [--only m|g]."""
from __future__ import annotations

import argparse
import time

import numpy as np

from .common import table


def add_arguments(parser):
    parser.add_argument("--only", choices=["m", "g"], help="run one part only")
    parser.add_argument("--instances", type=int, default=20, help="(m) random instances for the gap to exact")
    parser.add_argument("--seed", type=int, default=0)


def _timed(fn, *a, **kw):
    c0, w0 = time.process_time(), time.perf_counter()
    res = fn(*a, **kw)
    return res, time.perf_counter() - w0, time.process_time() - c0


def _verdict(wall, cpu, target):
    return "PASS" if wall <= target else ("PASS(cpu)" if cpu <= target else f"MISS by {wall / target:.2f}x")


def bench_multitask(instances: int, seed: int) -> bool:
    from ..jobs_problem import random_jobs
    from ..mmf_jobs import exact, lex_less, mmf_dp, perturb
    prob = random_jobs(100, 20, seed)
    timed = []
    for name, fn in (("mmf-dp", mmf_dp), ("perturb", perturb)):
        res, wall, cpu = _timed(fn, prob.p, prob.rate)
        timed.append([name, wall, cpu, _verdict(wall, cpu, 1.0), float(res.sorted_costs()[0]),
                      float(np.mean(res.costs))])
    print("(m) 100 jobs x 20 servers (tasks on ~30% of the servers, times 1-19): target <= 1 s per policy")
    print(table(["policy", "wall s", "cpu s", "target", "worst cost", "mean cost"], timed))
    stats = {n: {"worst_equal": 0, "vector_equal": 0, "gap": []} for n in ("mmf-dp", "perturb")}
    t_exact = []
    for k in range(instances):
        q = random_jobs(8, 4, seed + 1 + k, density=0.5)
        opt, wall, _ = _timed(exact, q.p, q.rate)
        t_exact.append(wall)
        for name, fn in (("mmf-dp", mmf_dp), ("perturb", perturb)):
            got = fn(q.p, q.rate).sorted_costs()
            s = stats[name]
            s["worst_equal"] += bool(abs(got[0] - opt.sorted_costs()[0]) <= 1e-7 * got[0])
            s["vector_equal"] += not lex_less(opt.sorted_costs(), got)
            # Gap of the first element where the vectors differ (0 when equal).
            diff = np.flatnonzero(np.abs(got - opt.sorted_costs()) > 1e-7 * np.maximum(1, got))
            s["gap"].append(0.0 if len(diff) == 0 else got[diff[0]] / opt.sorted_costs()[diff[0]] - 1)
    print(f"\n(m') gap to exact on {instances} random instances of 8 jobs x 4 servers (tasks on ~50% of the "
          f"servers); exact MILPs took {np.mean(t_exact):.2f} s on average")
    rows = [[n, f"{s['worst_equal']}/{instances}", f"{s['vector_equal']}/{instances}",
             f"{100 * np.mean(s['gap']):.2f}%", f"{100 * np.max(s['gap']):.2f}%",
             "PASS" if s["worst_equal"] == instances or n != "mmf-dp" else "MISS"]
            for n, s in stats.items()]
    print(table(["policy", "worst-off exact", "whole vector exact", "mean first-diff gap", "max first-diff gap",
                 "worst exact"], rows))
    return all(r[3].startswith("PASS") for r in timed) and stats["mmf-dp"]["worst_equal"] == instances


def check_targets(by: dict) -> list[tuple[str, bool, str]]:
    """(target, met, detail) for the summaries of one run, keyed by policy."""
    t, d, l, g = (by[p] for p in ("themis", "drf", "las", "gavel-ftf"))
    util_gap = 100 * (t["gpu_utilisation"] - d["gpu_utilisation"])
    return [
        ("themis max rho < drf max rho", t["max_rho"] < d["max_rho"], f"{t['max_rho']:.2f} vs {d['max_rho']:.2f}"),
        ("themis max rho < las max rho", t["max_rho"] < l["max_rho"], f"{t['max_rho']:.2f} vs {l['max_rho']:.2f}"),
        ("themis max rho <= 1.5 x gavel-ftf", t["max_rho"] <= 1.5 * g["max_rho"],
         f"{t['max_rho']:.2f} vs 1.5 x {g['max_rho']:.2f} = {1.5 * g['max_rho']:.2f}"),
        ("themis GPU util within 5 points of drf", abs(util_gap) <= 5.0, f"{util_gap:+.1f} points"),
    ]


def bench_gpu(args) -> bool:
    from ..ftf.jobs import alibaba_gpu_cluster, alibaba_gpu_jobs
    from ..ftf.policies import run_policies
    servers = alibaba_gpu_cluster(32)
    jobs = alibaba_gpu_jobs(120, servers, 1.5)
    t0 = time.perf_counter()
    results = run_policies(servers, jobs, ["themis", "drf", "las", "gavel-ftf"], 300.0, 0.2)
    print(f"(g) Alibaba-derived GPU workload: {len(jobs)} jobs ({sum(j.gpus > 1 for j in jobs)} multi-GPU) on "
          f"{', '.join(f'{s.gpus}x{s.model}' for s in servers)}; lease 300 s, knob 0.2; "
          f"{time.perf_counter() - t0:.1f} s")
    by = {r.policy: r.summary() for r in results}
    rows = [[p, s["max_rho"], s["mean_rho"], s["jain_rho"], f"{100 * s['unfair_fraction']:.1f}%",
             f"{100 * s['gpu_utilisation']:.1f}%", s["makespan"] / 3600, s["mean_jct"] / 3600, s["jobs_finished"]]
            for p, s in by.items()]
    print(table(["policy", "max rho", "mean rho", "Jain rho", "rho>1", "GPU util", "makespan h", "mean JCT h",
                 "finished"], rows, digits=2))
    ok = True
    for name, met, detail in check_targets(by):
        print(f"  {'PASS' if met else 'MISS'}  {name}: {detail}")
        ok &= met
    return ok


def run(args) -> int:
    if args.only in (None, "m"):
        bench_multitask(args.instances, args.seed)
    if args.only in (None, "g"):
        if args.only is None:
            print()
        bench_gpu(args)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fairshare.commands.bench_jobs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
