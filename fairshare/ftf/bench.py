"""GPU finish-time fairness benchmark: every policy on the Alibaba-derived
GPU workload in one run, with the targets checked (PASS/MISS):
Themis' max rho below DRF's and LAS's and within 1.5x of Gavel-FTF's, and
its GPU utilisation within 5 points of DRF's."""
from __future__ import annotations

import time

from ..commands.common import table


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
    from ..commands.simulate import run_gpu_policies
    from .jobs import alibaba_gpu_cluster, alibaba_gpu_jobs
    servers = alibaba_gpu_cluster(32)
    jobs = alibaba_gpu_jobs(120, servers, 1.5)
    t0 = time.perf_counter()
    results = run_gpu_policies(servers, jobs, ["themis", "drf", "las", "gavel-ftf"], 300.0, 0.2)
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
