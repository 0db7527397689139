"""Max-min fair completion times of multi-task jobs (one task per server a
job uses, each server runs one task at a time).  Prints each job's
completion time and cost (weight x slowdown, slowdown = completion / the
job's largest task time) and each server's run order.

Policies: exact (sequential MILPs, small instances), mmf-dp (iterative
fixing, exact for the worst-off job), perturb (random perturbation of the
processing times around mmf-dp)."""
from __future__ import annotations

import json

from sharekit.cli import UsageError

from ..errors import ProblemError
from .common import table


def add_arguments(parser):
    parser.add_argument("problem",
                        help='JSON: {"servers": [...], "jobs": [{"name", "tasks": {server: time}, "weight"}]}')
    parser.add_argument("--policy", choices=["exact", "mmf-dp", "perturb"], default="mmf-dp")
    parser.add_argument("--seed", type=int, default=0, help="perturb: random seed")
    parser.add_argument("--tries", type=int, default=8, help="perturb: perturbed runs (default 8)")
    parser.add_argument("--json", action="store_true", help="print {jobs: {name: {completion, cost}}, order}")


def solve(problem, policy: str, seed: int = 0, tries: int = 8):
    from .. import mmf_jobs
    if policy == "perturb":
        return mmf_jobs.perturb(problem.p, problem.rate, tries=tries, seed=seed)
    return mmf_jobs.SOLVERS[policy](problem.p, problem.rate)


def run(args) -> int:
    from ..jobs_problem import load_jobs
    from ..mmf_jobs import TooLargeError
    if args.tries < 0:
        raise UsageError(f"--tries must be >= 0, got {args.tries}")
    try:
        problem = load_jobs(args.problem)
        res = solve(problem, args.policy, args.seed, args.tries)
    except (ProblemError, TooLargeError) as exc:
        raise UsageError(str(exc)) from None
    order = {s: [problem.jobs[j] for j in res.order[i]] for i, s in enumerate(problem.servers)}
    if args.json:
        print(json.dumps({"jobs": {n: {"completion": float(res.completion[j]), "cost": float(res.costs[j])}
                                   for j, n in enumerate(problem.jobs)}, "order": order}))
        return 0
    rows = [[n, float(res.completion[j]), float(res.costs[j])] for j, n in enumerate(problem.jobs)]
    print(table(["job", "completion", "cost"], rows))
    print()
    print(table(["server", "run order"], [[s, " ".join(o)] for s, o in order.items()]))
    worst = ", ".join(f"{c:.3f}" for c in res.sorted_costs()[:5])
    print(f"\ncosts worst first: {worst}{' ...' if len(problem.jobs) > 5 else ''}")
    return 0
