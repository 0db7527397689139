"""Allocate PROBLEM (JSON or YAML) with one policy and print tasks per
framework, placement per server, shares and utilisation (or JSON)."""
from __future__ import annotations

import numpy as np

from ..jsontext import dumps_indented
from .common import pct, policy_runner, read_problem, table


def add_arguments(parser):
    parser.add_argument("problem", help="problem file (.json, .yaml, .yml)")
    parser.add_argument("--policy", default="drf", help="policy name (see 'fairshare policies'); default drf")
    parser.add_argument("--seed", type=int, default=0, help="seed for randomised policies")
    parser.add_argument("--json", action="store_true", help="print JSON: tasks, placement, utilisation, shares")
    parser.add_argument("--per-server", action="store_true",
                        help="with --json, add per_server resource amounts (the node-agent contract)")


def run(args) -> int:
    problem = read_problem(args.problem)
    alloc = policy_runner(args.policy)(problem, args.seed)
    if args.json:
        data = alloc.to_dict()
        if args.per_server:
            data["per_server"] = alloc.per_server()
        print(dumps_indented(data))
        return 0
    p = problem
    print(f"policy {alloc.policy} on {args.problem}: {p.describe()}")
    show = p.n_servers <= 8
    header = ["framework", "weight", "tasks", "dom.share"] + ([s.name for s in p.servers] if show else ["servers used"])
    rows = []
    shares = alloc.dominant_shares()
    for n, f in enumerate(p.frameworks):
        tasks = alloc.counts[n]
        cells = [f.name, f.weight, float(tasks) if alloc.x.dtype.kind == "f" else int(tasks), float(shares[n])]
        if show:
            cells += [float(v) if alloc.x.dtype.kind == "f" else int(v) for v in alloc.x[n]]
        else:
            cells.append(int(np.count_nonzero(alloc.x[n])))
        rows.append(cells)
    print(table(header, rows))
    util = alloc.utilisation()
    print("utilisation: " + "  ".join(f"{r} {pct(v)}" for r, v in util.items()))
    print(f"sum x = {alloc.sum_tasks():g}   sum log x = {alloc.sum_log():.3f}")
    return 0
