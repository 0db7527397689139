"""Benchmark (not a test).  Sections, each a function in SECTIONS (a new
benchmark is one function and one registry line):

scale   time per policy on synthetic clusters from 1,000 to 50,000 servers and
        100 to 5,000 frameworks (4 resources, 30% of frameworks constrained),
        peak memory, the growth exponent fitted on log(time) against
        log(servers x frameworks), and the gap to the exact max-min reference
        where it is solved.  Targets: every policy <= 2 s at 10,000 x 1,000,
        peak RSS <= 1 GB, exponent <= 1.2 (roughly linear);
online  one framework arriving and one leaving on the 10,000 x 1,000 cluster
        with incremental re-allocation, each event checked equal to a full
        re-fill.  Target <= 50 ms per event;
a       the Alibaba trace's 1,523 nodes with 100 frameworks built from its
        pods, gap to max-min; target <= 0.5 s per policy;
b       one synthetic instance of any size (--servers, --frameworks);
cli     the whole `fairshare allocate PROBLEM --json` command per policy on
        that instance written to a file: start-up, problem load and
        validation, allocation and JSON output.  Target <= 2 s per policy.

Wall time decides PASS; CPU time is printed next to it because the machine
may be shared (PASS(cpu) when only the CPU time meets the target)."""
from __future__ import annotations

import argparse
import gc
import math
import resource
import time

import numpy as np

from .common import policy_runner, table

DEFAULT_POLICIES = "drf,drfh,bfdrf,tsf,psdsf,rpsdsf,psdsf_rr,drf_mesos,maxmin"
FULL_SIZES = [(1_000, 100), (5_000, 500), (1_000, 5_000), (10_000, 1_000), (50_000, 200)]
QUICK_SIZES = [(500, 50), (1_000, 100), (2_000, 200)]
TARGET_SIZE = (10_000, 1_000)
TARGET_S, TARGET_EVENT_S, TARGET_RSS_MB, TARGET_EXPONENT = 2.0, 0.05, 1024, 1.2


def add_arguments(parser):
    parser.add_argument("--policies", default=DEFAULT_POLICIES, help=f"comma-separated (default {DEFAULT_POLICIES})")
    parser.add_argument("--only", choices=list(SECTIONS), action="append",
                        help="run only this section (repeatable; default: scale and online)")
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes only ({', '.join(f'{s}x{f}' for s, f in QUICK_SIZES)}), a minute or so")
    parser.add_argument("--sizes", type=_sizes, help="(scale) SERVERSxFRAMEWORKS,... instead of the default grid")
    parser.add_argument("--servers", type=int, default=10_000, help="(online, b) servers")
    parser.add_argument("--frameworks", type=int, default=1_000, help="(online, b) frameworks")
    parser.add_argument("--alibaba-frameworks", type=int, default=100, help="(a) frameworks")
    parser.add_argument("--reference-limit", type=int, default=5_000,
                        help="solve the max-min LP (gap column) only on instances with at most this many "
                             "frameworks (default 5,000)")
    parser.add_argument("--seed", type=int, default=0)


def _sizes(text: str) -> list[tuple[int, int]]:
    try:
        out = [tuple(int(v) for v in part.lower().split("x")) for part in text.split(",")]
    except ValueError:
        out = []
    if not out or any(len(t) != 2 or min(t) < 1 for t in out):
        raise argparse.ArgumentTypeError(f"--sizes: expected SERVERSxFRAMEWORKS,... (e.g. 1000x100), got {text!r}")
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _verdict(wall: float, cpu: float, target: float) -> str:
    return "PASS" if wall <= target else ("PASS(cpu)" if cpu <= target else f"MISS x{wall / target:.1f}")


def _time_policies(problem, names, seed, target, reference):
    """Rows per policy: wall, cpu, verdict, sum x, gaps, peak RSS so far."""
    from ..exact import default_unit
    from .compare import gap_metrics
    unit = default_unit(problem)
    rows = []
    for name in names:
        run = policy_runner(name)
        gc.collect()
        c0, w0 = time.process_time(), time.perf_counter()
        alloc = run(problem, seed)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        assert alloc.is_feasible(), f"{name} produced an infeasible allocation"
        gap = gap_metrics(alloc, reference, unit) if reference is not None else None
        rows.append([name, wall, cpu, _verdict(wall, cpu, target), int(alloc.sum_tasks())]
                    + ([f"{100 * gap['min_share_gap']:+.1f}%", f"{100 * gap['mean_abs_fw_gap']:.1f}%"]
                       if gap else ["-", "-"])
                    + [f"{_peak_rss_mb():.0f}"])
    return rows


HEADER = ["policy", "wall s", "cpu s", "target", "sum x", "min-share gap", "mean |fw gap|", "peak RSS MB"]


def _reference(problem, limit):
    from ..exact import maxmin_fluid
    if problem.n_frameworks > limit:
        return None, "-"
    t0 = time.perf_counter()
    ref = maxmin_fluid(problem)
    return ref, f"{time.perf_counter() - t0:.1f} s"


def fit_exponent(sizes: list[float], times: list[float]) -> float:
    """Slope of log(time) against log(size), least squares."""
    if len(sizes) < 2:
        return math.nan
    return float(np.polyfit(np.log(sizes), np.log(np.maximum(times, 1e-6)), 1)[0])


def section_scale(args, names) -> bool:
    from ..workload import synthetic_problem
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    rows, times, ok = [], {n: [] for n in names}, True
    pairs = []
    for servers, frameworks in sizes:
        p = synthetic_problem(servers, frameworks, 4, 0.3, args.seed)
        ref, ref_time = _reference(p, args.reference_limit)
        target = TARGET_S if (servers, frameworks) == TARGET_SIZE else math.inf
        pairs.append(servers * frameworks)
        for r in _time_policies(p, names, args.seed, target, ref):
            times[r[0]].append(r[1])
            if target == math.inf:
                r[3] = "-"
            ok &= not r[3].startswith("MISS")
            rows.append([f"{servers}x{frameworks}"] + r + [ref_time])
        print(f"  {servers} x {frameworks} done, peak RSS {_peak_rss_mb():.0f} MB", flush=True)
    print(f"scale: synthetic clusters, 4 resources, 30% of frameworks constrained; target {TARGET_S:g} s per "
          f"policy at {TARGET_SIZE[0]}x{TARGET_SIZE[1]}; gap to max-min where the LP ran (<= "
          f"{args.reference_limit} frameworks)")
    print(table(["servers x fw"] + HEADER + ["LP time"], rows, digits=3))
    exp_rows = []
    for n in names:
        b = fit_exponent(pairs, times[n])
        exp_rows.append([n, b, "PASS" if b <= TARGET_EXPONENT else "MISS"])
        ok &= b <= TARGET_EXPONENT
    print(f"\ngrowth exponent b in time ~ (servers x frameworks)^b, target <= {TARGET_EXPONENT}")
    print(table(["policy", "b", "target"], exp_rows, digits=2))
    mem = _peak_rss_mb()
    print(f"peak RSS {mem:.0f} MB: {'PASS' if mem <= TARGET_RSS_MB else 'MISS'} (target {TARGET_RSS_MB} MB)")
    if TARGET_SIZE not in sizes:
        print(f"the {TARGET_S:g} s target applies at {TARGET_SIZE[0]}x{TARGET_SIZE[1]}, which this grid does not "
              "include: not checked")
    return ok and mem <= TARGET_RSS_MB


def section_online(args, names) -> bool:
    """Arrival and departure on one cluster, each checked against a re-fill."""
    from ..criteria import CRITERIA
    from ..filling import FillState, fill
    from ..online import Reallocator
    from ..workload import synthetic_problem
    servers, frameworks = (QUICK_SIZES[-1] if args.quick else (args.servers, args.frameworks))
    p = synthetic_problem(servers, frameworks, 4, 0.3, args.seed)
    rows, ok = [], True
    for name in [n for n in names if n in CRITERIA]:
        crit = CRITERIA[name]
        active = np.ones(p.n_frameworks, dtype=bool)
        newcomer, leaver = p.n_frameworks - 1, p.n_frameworks // 2
        active[newcomer] = False
        r = Reallocator(p, crit, seed=args.seed, active=active)
        for kind, n in (("arrive", newcomer), ("leave", leaver)):
            running = r.state.x_server.copy()
            act = r.active.copy()
            act[n] = kind == "arrive"
            if kind == "leave":
                running[n] = 0
            sel = r.selection_for_next_fill()
            gc.collect()
            c0, w0 = time.process_time(), time.perf_counter()
            getattr(r, kind)(n)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            ref = FillState(p, running)
            fill(p, crit(p), ref, act, sel)
            same = bool(np.array_equal(ref.x_server, r.state.x_server))
            verdict = _verdict(wall, cpu, TARGET_EVENT_S)
            ok &= same and not verdict.startswith("MISS")
            rows.append([name, kind, 1000 * wall, 1000 * cpu, verdict, "yes" if same else "NO"])
    print(f"\nonline: {p.describe()}, one framework arrives then one leaves; target "
          f"{1000 * TARGET_EVENT_S:g} ms per event")
    print(table(["policy", "event", "wall ms", "cpu ms", "target", "equals re-fill"], rows, digits=1))
    return ok


def section_alibaba(args, names) -> bool:
    from ..workload import alibaba_problem
    p = alibaba_problem(args.alibaba_frameworks)
    ref, ref_time = _reference(p, math.inf)
    rows = _time_policies(p, names, args.seed, 0.5, ref)
    print(f"\n(a) Alibaba: {p.describe()}; max-min reference (fluid LP) in {ref_time}; target 0.5 s per policy")
    print(table(HEADER, rows, digits=3))
    return not any(r[3].startswith("MISS") for r in rows)


def section_synthetic(args, names) -> bool:
    from ..workload import synthetic_problem
    p = synthetic_problem(args.servers, args.frameworks, 4, 0.3, args.seed)
    ref, ref_time = _reference(p, args.reference_limit)
    names = [n for n in names if n != "maxmin" or ref is not None]
    rows = _time_policies(p, names, args.seed, TARGET_S, ref)
    print(f"\n(b) synthetic: {p.describe()}, 30% constrained; max-min reference {ref_time}; "
          f"target {TARGET_S:g} s per policy")
    print(table(HEADER, rows, digits=3))
    return not any(r[3].startswith("MISS") for r in rows)


def section_cli(args, names) -> bool:
    """The command a user runs, end to end, in a fresh interpreter."""
    import json
    import os
    import subprocess
    import sys
    import tempfile
    from ..workload import synthetic_problem
    p = synthetic_problem(args.servers, args.frameworks, 4, 0.3, args.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "problem.json")
        with open(path, "w") as fh:
            json.dump(p.to_dict(), fh)
        size_mb = os.path.getsize(path) / 2 ** 20
        for name in names:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            w0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "fairshare.cli", "allocate", path, "--policy", name,
                                   "--seed", str(args.seed), "--json"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wall = time.perf_counter() - w0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            if done.returncode != 0:
                print(f"cli: {name} exited {done.returncode}: {done.stderr.strip()[-300:]}")
                rows.append([name, wall, cpu, "FAILED", "-", "-"])
                continue
            out_mb = len(done.stdout) / 2 ** 20
            rows.append([name, wall, cpu, _verdict(wall, cpu, TARGET_S),
                         int(json.loads(done.stdout)["sum_tasks"]), f"{out_mb:.1f}"])
    print(f"\ncli: fairshare allocate PROBLEM --json on {p.describe()} ({size_mb:.1f} MB file); target "
          f"{TARGET_S:g} s per policy including start-up, load and output")
    print(table(["policy", "wall s", "cpu s", "target", "sum x", "output MB"], rows, digits=2))
    return not any(r[3].startswith(("MISS", "FAILED")) for r in rows)


def section_jobs(args, names) -> bool:
    from .bench_jobs import bench_multitask
    return bench_multitask(20, args.seed)


def section_gpu(args, names) -> bool:
    from .bench_jobs import bench_gpu
    return bench_gpu(args)


SECTIONS = {"scale": section_scale, "online": section_online, "a": section_alibaba, "b": section_synthetic,
            "cli": section_cli, "jobs": section_jobs, "gpu": section_gpu}
DEFAULT_SECTIONS = ("scale", "online")


def run(args) -> int:
    names = [n.strip() for n in args.policies.split(",") if n.strip()]
    for n in names:
        policy_runner(n)
    results = {s: SECTIONS[s](args, names) for s in (args.only or DEFAULT_SECTIONS)}
    print("\n" + "  ".join(f"{s}: {'PASS' if ok else 'MISS'}" for s, ok in results.items()))
    return 0
