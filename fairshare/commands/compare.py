"""Run every policy and the exact references on PROBLEM, side by side:
sum of tasks, sum of log tasks, utilisation per resource, and the gap to the
exact max-min (fluid) reference."""
from __future__ import annotations

import json
import time

import numpy as np

from ..exact import FluidLP, default_unit, maxmin_fluid
from ..policies import policy_names
from .common import policy_runner, read_problem, table


def add_arguments(parser):
    parser.add_argument("problem", help="problem file (.json, .yaml, .yml)")
    parser.add_argument("--seed", type=int, default=0, help="seed for randomised policies")
    parser.add_argument("--policies", help="comma-separated subset (default: all)")
    parser.add_argument("--json", action="store_true")


def gap_metrics(alloc, reference, unit) -> dict:
    """Gap of `alloc` to the max-min reference: relative shortfall of the
    minimum weighted share, and the worst per-framework task shortfall."""
    ref = reference.counts
    got = alloc.counts
    ref_min = float((unit * ref).min())
    with np.errstate(divide="ignore", invalid="ignore"):
        short = np.where(ref > 1e-9, (ref - got) / ref, 0.0)
    return {"min_share_gap": (ref_min - float((unit * got).min())) / ref_min if ref_min > 0 else 0.0,
            "worst_fw_gap": float(short.max()), "mean_abs_fw_gap": float(np.abs(short).mean())}


def compare(problem, names, seed=0):
    unit = default_unit(problem)
    lp = FluidLP(problem)
    reference = maxmin_fluid(problem, unit, lp=lp)
    out = []
    for name in names:
        t0 = time.perf_counter()
        alloc = policy_runner(name)(problem, seed)
        dt = time.perf_counter() - t0
        out.append((name, alloc, dt, gap_metrics(alloc, reference, unit)))
    return reference, out


def run(args) -> int:
    problem = read_problem(args.problem)
    names = args.policies.split(",") if args.policies else policy_names()
    for n in names:
        policy_runner(n)  # fail fast on a bad name
    reference, results = compare(problem, names, args.seed)
    if args.json:
        print(json.dumps({name: {"tasks": a.tasks(), "sum_tasks": a.sum_tasks(), "sum_log": a.sum_log(),
                                 "utilisation": a.utilisation(), "seconds": dt, **gap}
                          for name, a, dt, gap in results}, indent=2))
        return 0
    res = problem.resources
    header = ["policy", "sum x", "sum log x"] + [f"util {r}" for r in res] + ["min-share gap", "worst fw gap", "ms"]
    rows = []
    for name, a, dt, gap in results:
        util = a.utilisation()
        rows.append([name, a.sum_tasks(), a.sum_log()] + [f"{100 * util[r]:.2f}%" for r in res]
                    + [f"{100 * gap['min_share_gap']:+.1f}%", f"{100 * gap['worst_fw_gap']:+.1f}%", dt * 1000])
    print(f"{args.problem}: {problem.describe()}; gaps are to maxmin_fluid (DRF shares), "
          "positive = below the reference")
    print(table(header, rows, digits=3))
    print("\ntasks per framework:")
    fws = [f.name for f in problem.frameworks]
    show = fws[:10]
    rows = [[name] + [a.tasks()[f] for f in show] for name, a, _, _ in results]
    print(table(["policy"] + show, rows, digits=2))
    if len(fws) > len(show):
        print(f"(first {len(show)} of {len(fws)} frameworks)")
    return 0
