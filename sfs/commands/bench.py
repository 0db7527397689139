"""cfs vs sfs vs the SRTF oracle on one trace at 50%, 65% and 80% offered load.

Default trace: the synthetic CPU-bound mix of workloads.synthetic (70% short
20-200 ms, 20% medium 0.25-1 s, 10% long 1-2 s, log-uniform in each class,
Poisson arrivals, seed 0), sized so the 80% run spans --span seconds of
arrivals (25 s; --quick: 5 s).  Every invocation burns its duration of CPU
time.  The same invocations are replayed at each load (arrivals rescaled),
under cfs then sfs; the oracle simulates preemptive SRTF on the CPU times
measured in the cfs run.  With --trace PATH --limit 500 the first 500
requests of that trace are replayed at 80% load only.

Prints the slowdown table, PASS/MISS against the targets at 80% load and
writes a CDF plot (PNG) of the short invocations' slowdowns per policy.
"""
from __future__ import annotations

import math
import os
import sys
import time

from sharekit.cli import UsageError

TARGETS = {"short_p99": 1.5, "short_p50": 1.1, "long_vs_cfs": 1.2, "scheduler_cpu": 0.03}


def add_arguments(p) -> None:
    p.add_argument("--quick", action="store_true", help="about 30-40 s instead of about 3-4 min")
    p.add_argument("--cores", type=int, help="cores 0..N-1 (default: all)")
    p.add_argument("--loads", default="0.5,0.65,0.8", help="comma-separated offered loads")
    p.add_argument("--span", type=float, help="seconds of arrivals at 80%% load (default 25, --quick 5)")
    p.add_argument("--trace", help="replay this trace (first --limit requests) at 80%% load instead")
    p.add_argument("--limit", type=int, default=500, help="with --trace: first K requests (default 500)")
    p.add_argument("--fib-table", help="with an SFS trace: the fib table")
    p.add_argument("--slice-rule", choices=["iat", "percentile"], default="iat")
    p.add_argument("--policies", default="cfs,sfs",
                   help="comma-separated runnable policies, cfs first as the baseline (default cfs,sfs; "
                        "the last one is checked against the targets)")
    from sfs.commands.replay import add_preemption_arguments, add_tenant_arguments
    add_preemption_arguments(p)
    add_tenant_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default="sfs-bench-cdf.png", help="CDF plot of short-invocation slowdowns")
    p.add_argument("--out-dir", help="write each run's records CSV here")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--http", action="store_true", help="benchmark against `sfs serve` (the FaaS host)")


def _base_trace(args, cores: int):
    from workloads.load import limit, rescale_to_load
    from workloads.synthetic import generate
    if args.trace:
        from workloads.invocation import TraceError
        from workloads.traces import load_trace
        from sfs.commands.replay import resolve_trace
        try:
            invs = limit(load_trace(resolve_trace(args.trace), fib_table=args.fib_table), args.limit)
        except (TraceError, FileNotFoundError, ValueError) as exc:
            raise UsageError(str(exc)) from None
        return rescale_to_load(invs, 0.8, cores)
    span = args.span or (5.0 if args.quick else 25.0)
    mean_service = 0.31
    count = max(10, round(span * 0.8 * cores / mean_service))
    return generate(count, cores, 0.8, seed=args.seed)


def _stats(records, services, cls):
    from sfs.records import ClassSummary, by_class
    values = [r.slowdown for r in by_class(records, lambda r: services[r.invocation_id])[cls]
              if not math.isnan(r.slowdown)]
    summary = ClassSummary.of(cls, values)
    return summary.p50, summary.p99, summary.mean, values


def _policies(text: str) -> list[str]:
    from sfs import policies
    names = [n.strip() for n in text.split(",") if n.strip()]
    runnable = policies.names(runnable=True)
    for name in names:
        if name not in runnable:
            raise UsageError(f"--policies: {name!r} is not a runnable policy (choose from {', '.join(runnable)})")
    if len(names) < 2 or names[0] != "cfs" or len(set(names)) != len(names):
        raise UsageError("--policies: cfs first (the baseline), then at least one other, each once")
    return names


def run(args) -> int:
    if args.http:
        try:
            from sfs.faas.bench_http import run_http_bench
        except ImportError:
            raise UsageError("the HTTP benchmark (sfs.faas.bench_http) is not installed") from None
        return int(run_http_bench(args) or 0)
    from sfs.privilege import PrivilegeError, require_realtime
    from sfs.records import write_csv
    from sfs.replay import replay
    from sfs.scheduler import SchedulerConfig
    from sfs.slice import SliceConfig
    from workloads.load import rescale_to_load

    ncores = args.cores or (os.cpu_count() or 1)
    if not 1 <= ncores <= (os.cpu_count() or 1):
        raise UsageError(f"--cores must be between 1 and {os.cpu_count()}")
    cores = list(range(ncores))
    names = _policies(args.policies)
    try:
        for name in names:
            require_realtime(name)
    except PrivilegeError as exc:
        raise UsageError(str(exc)) from None
    try:
        loads = [0.8] if args.trace else [float(x) for x in args.loads.split(",")]
    except ValueError:
        raise UsageError(f"--loads: not a list of numbers: {args.loads}") from None
    if any(not 0 < x for x in loads):
        raise UsageError("--loads must be positive")
    from sfs.commands.replay import assign_tenants, make_policy
    base = assign_tenants(_base_trace(args, ncores), args)
    services = {str(i.id): i.duration_s for i in base}
    from sfs.commands.replay import preemption_options
    try:
        config = SchedulerConfig(slice=SliceConfig(rule=args.slice_rule), **preemption_options(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    started = time.monotonic()
    demand = sum(services.values())
    print(f"trace: {args.trace or 'synthetic cpu-bound mix'}, {len(base)} invocations, "
          f"{demand:.1f} CPU-s, cores {cores}, loads {loads}", file=sys.stderr)
    results = {}
    for load in loads:
        invs = rescale_to_load(base, load, ncores)
        for policy in names:
            res = replay(invs, make_policy(policy, args, strict=False), cores, config, progress=not args.no_progress)
            results[(load, policy)] = res
            if args.out_dir:
                os.makedirs(args.out_dir, exist_ok=True)
                write_csv(os.path.join(args.out_dir, f"{policy}-{load:g}.csv"), res.records)
        measured = {r.invocation_id: r.cpu_s for r in results[(load, "cfs")].records}
        results[(load, "srtf-oracle")] = replay(invs, "srtf-oracle", cores, services=measured)
    elapsed = time.monotonic() - started

    header = (f"{'load':>5} {'policy':<12} {'short p50':>9} {'short p99':>9} {'short mean':>10} "
              f"{'medium mean':>11} {'long mean':>9} {'sched CPU':>9} {'lost':>4}")
    print(header)
    rows = {}
    for load in loads:
        for policy in names + ["srtf-oracle"]:
            res = results[(load, policy)]
            sp50, sp99, smean, svalues = _stats(res.records, services, "short")
            _, _, mmean, _ = _stats(res.records, services, "medium")
            _, _, lmean, _ = _stats(res.records, services, "long")
            rows[(load, policy)] = (sp50, sp99, lmean, svalues)
            cpu = "-" if policy == "srtf-oracle" else f"{100 * res.scheduler_cpu_share:.2f}%"
            print(f"{load:>5.2f} {policy:<12} {sp50:>9.2f} {sp99:>9.2f} {smean:>10.2f} {mmean:>11.2f} "
                  f"{lmean:>9.2f} {cpu:>9} {res.lost + res.duplicates:>4}")
    print(f"(bench took {elapsed:.0f} s)")
    _plot(args.plot, loads, rows, names)
    print(f"plot: {args.plot}")
    return _verdict(loads, results, rows, names[-1])


def _verdict(loads, results, rows, candidate) -> int:
    top = max(loads)
    sp50, sp99, lmean, _ = rows[(top, candidate)]
    cfs_long = rows[(top, "cfs")][2]
    sfs_res = results[(top, candidate)]
    print(f"targets for {candidate}:")
    checks = [
        (f"short p99 slowdown at {top:g} load <= {TARGETS['short_p99']}", sp99 <= TARGETS["short_p99"], f"{sp99:.2f}"),
        (f"short p50 slowdown at {top:g} load <= {TARGETS['short_p50']}", sp50 <= TARGETS["short_p50"], f"{sp50:.2f}"),
        (f"long mean slowdown <= {TARGETS['long_vs_cfs']} x CFS's",
         math.isnan(lmean) or lmean <= TARGETS["long_vs_cfs"] * cfs_long, f"{lmean:.2f} vs CFS {cfs_long:.2f}"),
        (f"scheduler CPU <= {100 * TARGETS['scheduler_cpu']:.0f}% of one core",
         sfs_res.scheduler_cpu_share <= TARGETS["scheduler_cpu"], f"{100 * sfs_res.scheduler_cpu_share:.2f}%"),
        ("no invocation lost or double-run",
         all(r.lost == 0 and r.duplicates == 0 and not r.failed for r in results.values()), ""),
    ]
    ok = True
    for name, passed, value in checks:
        ok &= passed
        verdict = "PASS" if passed else "MISS"
        if value.startswith("nan"):
            verdict, value = "N/A ", "(no invocation of that class in this trace)"
        print(f"{verdict}  {name}  {value}")
    return 0 if ok else 1


def _plot(path, loads, rows, names) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(loads), figsize=(4.2 * len(loads), 3.4), squeeze=False)
    for ax, load in zip(axes[0], loads):
        for policy, style in [(n, "-") for n in names] + [("srtf-oracle", "--")]:
            values = sorted(rows[(load, policy)][3])
            if values:
                ax.step(values, [(k + 1) / len(values) for k in range(len(values))], style, where="post",
                        label=policy)
        ax.set_xscale("log")
        ax.set_xlabel("slowdown (turnaround / CPU time)")
        ax.set_title(f"short invocations, load {load:g}")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("CDF")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
