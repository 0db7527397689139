"""Benchmark (not a test): allocation time per policy, peak memory, and the
gap of each heuristic to the exact max-min reference, on
(a) the Alibaba trace's 1,523 nodes with 100 frameworks built from its pods,
(b) a synthetic 10,000 servers x 1,000 frameworks x 4 resources, 30% of the
    frameworks constrained to a few server types.
Targets: (a) <= 0.5 s per policy, (b) <= 5 s per policy, peak memory <= 2 GB.
CPU time is reported next to wall time because the machine may be shared."""
from __future__ import annotations

import gc
import resource
import time


from .common import policy_runner, table

DEFAULT_POLICIES = "drf,drfh,bfdrf,tsf,psdsf,rpsdsf,psdsf_rr,drf_mesos,maxmin"


def add_arguments(parser):
    parser.add_argument("--policies", default=DEFAULT_POLICIES, help=f"comma-separated (default {DEFAULT_POLICIES})")
    parser.add_argument("--only", choices=["a", "b"], help="run one instance only")
    parser.add_argument("--servers", type=int, default=10_000, help="(b) servers")
    parser.add_argument("--frameworks", type=int, default=1_000, help="(b) frameworks")
    parser.add_argument("--alibaba-frameworks", type=int, default=100, help="(a) frameworks")
    parser.add_argument("--reference-limit", type=int, default=200,
                        help="(b): solve the max-min LP on the instance only if it has at most this many "
                             "frameworks, else on a 1,000 x 100 synthetic instance (default 200)")
    parser.add_argument("--seed", type=int, default=0)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _bench(problem, names, seed, target, reference):
    from ..exact import default_unit
    from .compare import gap_metrics
    unit = default_unit(problem)
    from tqdm import tqdm
    rows = []
    for name in tqdm(names, desc=f"bench {problem.n_servers}x{problem.n_frameworks}", unit="policy",
                     leave=False):
        run = policy_runner(name)
        gc.collect()
        c0, w0 = time.process_time(), time.perf_counter()
        alloc = run(problem, seed)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        assert alloc.is_feasible(), f"{name} produced an infeasible allocation"
        gap = gap_metrics(alloc, reference, unit) if reference is not None else None
        rows.append([name, wall, cpu, "PASS" if wall <= target else ("PASS(cpu)" if cpu <= target else "MISS"),
                     alloc.sum_tasks(), alloc.sum_log()]
                    + ([f"{100 * gap['min_share_gap']:+.1f}%", f"{100 * gap['mean_abs_fw_gap']:.1f}%"]
                       if gap else ["-", "-"])
                    + [f"{_peak_rss_mb():.0f}"])
    return rows


HEADER = ["policy", "wall s", "cpu s", "target", "sum x", "sum log x", "min-share gap", "mean |fw gap|", "peak RSS MB"]


def run(args) -> int:
    from ..exact import maxmin_fluid
    from ..workload import alibaba_problem, synthetic_problem
    names = [n.strip() for n in args.policies.split(",") if n.strip()]
    for n in names:
        policy_runner(n)
    if args.only in (None, "a"):
        p = alibaba_problem(args.alibaba_frameworks)
        t0 = time.perf_counter()
        ref = maxmin_fluid(p)
        t_ref = time.perf_counter() - t0
        print(f"(a) Alibaba: {p.describe()}; max-min reference (fluid LP, {ref.meta['server_classes']} server "
              f"classes, {ref.meta['lp_rounds']} levels) in {t_ref:.2f} s; target 0.5 s per policy")
        print(table(HEADER, _bench(p, names, args.seed, 0.5, ref), digits=3))
    if args.only in (None, "b"):
        t0 = time.perf_counter()
        p = synthetic_problem(args.servers, args.frameworks, 4, 0.3, args.seed)
        print(f"\n(b) synthetic: {p.describe()}, 30% constrained (built in {time.perf_counter() - t0:.1f} s); "
              "target 5 s per policy")
        ref = None
        if p.n_frameworks <= args.reference_limit:
            ref = maxmin_fluid(p)
        print(table(HEADER, _bench(p, [n for n in names if n != "maxmin" or ref is not None], args.seed, 5.0, ref),
                    digits=3))
        if ref is None:
            q = synthetic_problem(1_000, 100, 4, 0.3, args.seed)
            t0 = time.perf_counter()
            ref = maxmin_fluid(q)
            print(f"\n(b') gap to max-min on a smaller synthetic instance ({q.describe()}; "
                  f"the lexicographic LP takes {time.perf_counter() - t0:.1f} s there; it needs one probe LP per "
                  "framework per level, about 4 minutes for the 1,000 frameworks of (b))")
            print(table(HEADER, _bench(q, names, args.seed, 5.0, ref), digits=3))
    mem = _peak_rss_mb()
    print(f"\npeak RSS {mem:.0f} MB: {'PASS' if mem <= 2048 else 'MISS'} (target 2 GB)")
    return 0
