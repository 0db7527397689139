"""Benchmark (not a test) for finish-time fairness and multi-task jobs.

(m) multi-task jobs: wall time of mmf-dp and perturb on 100 jobs x 20
    servers (target <= 1 s each), and the gap of both heuristics to the exact
    lexicographic optimum on random instances small enough for the MILPs.
(g) GPU jobs (`--gpu`): see fairshare.ftf.bench.

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


def bench_multitask(instances: int, seed: int) -> None:
    from ..jobs_problem import random_jobs
    from ..mmf_jobs import exact, lex_less, mmf_dp, perturb
    prob = random_jobs(100, 20, seed)
    rows = []
    for name, fn in (("mmf-dp", mmf_dp), ("perturb", perturb)):
        res, wall, cpu = _timed(fn, prob.p, prob.rate)
        rows.append([name, wall, cpu, _verdict(wall, cpu, 1.0), float(res.sorted_costs()[0]),
                     float(np.mean(res.costs))])
    print("(m) 100 jobs x 20 servers (tasks on ~30% of the servers, times 1-19): target <= 1 s per policy")
    print(table(["policy", "wall s", "cpu s", "target", "worst cost", "mean cost"], rows))
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


def run(args) -> int:
    if args.only in (None, "m"):
        bench_multitask(args.instances, args.seed)
    if args.only in (None, "g"):
        from ..ftf.bench import bench_gpu
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
