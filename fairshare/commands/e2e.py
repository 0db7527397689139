"""The acceptance measurement of the link on a node: allocate a problem, run
one node agent per node on this machine (node i on CPU i when there are
enough CPUs), and measure what each tenant really gets on each node: CPU
share from the kernel's cgroup accounting, lock share from the u-SCL
interposer's hold times, and its short invocations' p50 slowdown under SFS.
Prints a table per node and the targets with PASS/MISS, and writes a plot of
the shares over time.  Needs root (cgroups, SCHED_FIFO)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from sharekit.cli import UsageError

from .common import read_problem, table

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PROBLEM = ROOT / "examples" / "problems" / "e2e-two-nodes.json"


def add_arguments(parser):
    parser.add_argument("--problem", default=None,
                        help="problem file in the `fairshare allocate` format (default: three tenants 1:2:3 "
                             "on two nodes; with --ray: on the cluster's nodes)")
    parser.add_argument("--ray", metavar="ADDRESS",
                        help="measure on an existing Ray cluster (head host:port, e.g. 127.0.0.1:6379): one entry "
                             "per Ray node, same JSON (docs/ray.md)")
    parser.add_argument("--warmup", type=float, default=4.0, help="with --ray: seconds before measuring (default 4)")
    parser.add_argument("--tolerance", type=float, default=0.05,
                        help="with --ray: allowed |measured - allocated| (default 0.05)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the run (default 20)")
    add_node_load_arguments(parser)
    parser.add_argument("--churn", action="store_true", help="one tenant leaves half-way through")
    parser.add_argument("--leave", metavar="TENANT", help="with --churn: who leaves (default: the first tenant)")
    parser.add_argument("--plot", metavar="PATH", default="results/e2e/shares.png",
                        help="PNG of the shares over time (default results/e2e/shares.png)")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of tables")


def parse_options(args):
    from ..e2e.run import RunConfig
    if not 5 <= args.seconds <= 600:
        raise UsageError(f"--seconds {args.seconds:g}: use 5 to 600")
    problem = read_problem(args.problem or str(DEFAULT_PROBLEM))
    from .common import policy_runner
    policy_runner(args.policy)
    if os.geteuid() != 0:
        raise UsageError("needs root: it creates cgroups and runs SFS under SCHED_FIFO")
    return problem, RunConfig(seconds=args.seconds, policy=args.policy, sfs_policy=args.sfs_policy,
                              locks=not args.no_locks, warmup_s=min(3.0, args.seconds / 5),
                              load=load_config(args.overload, changing=args.churn))


def add_node_load_arguments(parser) -> None:
    """The options `fairshare e2e` and `fairshare run` share: policies and the tenants' load."""
    parser.add_argument("--policy", default="psdsf", help="cluster allocation policy (default psdsf)")
    parser.add_argument("--sfs-policy", default="sfs-tenant",
                        help="node scheduler policy (default sfs-tenant; plain sfs when it is not available)")
    parser.add_argument("--overload", type=float, default=1.5,
                        help="each tenant offers this many times its share of its node's cores (its largest "
                             "share over the run when the allocation changes; default 1.5)")
    parser.add_argument("--no-locks", action="store_true", help="skip the shared lock program")


def load_config(overload: float, changing: bool = False):
    """`changing`: the allocation changes during the run, so plan every tenant's load at its largest share."""
    from ..e2e.workload import LoadConfig
    if not 0.1 <= overload <= 10:
        raise UsageError(f"--overload {overload:g}: use 0.1 to 10")
    return LoadConfig(overload=overload, per_share=not changing)


def run(args) -> int:
    if args.ray:
        from .ray_e2e import run as run_on_ray
        return run_on_ray(args)
    from ..e2e import report
    from ..e2e.run import Event, run_local
    problem, config = parse_options(args)
    events = []
    if args.churn:
        names = [f.name for f in problem.frameworks]
        leaving = args.leave or names[0]
        if leaving not in names:
            raise UsageError(f"--leave {leaving}: no such tenant (tenants: {', '.join(names)})")
        events.append(Event(args.seconds / 2, "leave", leaving))
    elif args.leave:
        raise UsageError("--leave needs --churn")
    try:
        result = run_local(problem, config, events)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    leftovers = report.leftovers(result)
    plot_path = report.plot(result, Path(args.plot)) if args.plot else None
    if args.json:
        data = report.to_json(result)
        print(json.dumps(data))
        return 0
    shown = args.problem or os.path.relpath(DEFAULT_PROBLEM, ROOT)
    print_report(result, leftovers, plot_path, shown)
    return 0


def print_report(result, leftovers, plot_path, problem_name) -> None:
    from ..e2e import report
    config = result.config
    policies = sorted({n.policy_used for n in result.nodes if n.policy_used})
    print(f"{problem_name}: {config.seconds:g} s, allocation {config.policy}, node scheduler "
          f"{'/'.join(policies) or '?'}, agent cycle {config.cycle_s:g} s")
    for note in result.notes:
        print(f"note: {note}")
    for node in result.nodes:
        print(f"\n{node.name} (CPU {','.join(map(str, sorted(node.cpus)))})")
        for phase in report.phases(node, result):
            print(f"  steady window {phase.steady_from:.1f}-{phase.end:.1f} s")
            rows = [[r.tenant, r.allocated, r.cpu, "-" if r.lock is None else r.lock,
                     "-" if r.short_p50 is None else r.short_p50] for r in phase.rows]
            text = table(["tenant", "allocated", "cpu share", "lock share", "short p50 slowdown"], rows)
            print("\n".join("  " + line for line in text.splitlines()))
        convergence = report.churn_convergence(node, result)
        for at, conv in convergence:
            print(f"  re-allocation at {at:.1f} s: converged "
                  + ("never" if conv is None else f"after {conv:.2f} s"))
        noise = report.steady_window_noise(node, result) if convergence else None
        if noise is not None:
            print(f"  (before it, steady {config.cycle_s:g} s windows strayed up to {noise:.3f} from the allocation)")
    print()
    checks = report.targets(result, leftovers)
    for name, met, detail in checks:
        print(f"target {name}: {'PASS' if met else 'MISS'} ({detail})")
    print(f"targets: {sum(m for _, m, _ in checks)} passed, {sum(not m for _, m, _ in checks)} missed")
    if plot_path:
        print(f"plot: {plot_path}")
