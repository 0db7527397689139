"""cfs vs sfs (and any other runnable policy) vs the SRTF oracle, on every bench trace, at 80% load.

Traces (``--traces``, default all; see :mod:`workloads.bench_traces`):
synthetic (Poisson), bursty, azure2021 (the bundled Azure Functions 2021
sample, shaped), sfs-paper (the SFS paper's trace, when $SHAREKIT_TRACE_DIR
has it).  Each spans about 60 s of arrivals (``--quick``: about 15 s), so
a short-call p99 is not one or two jobs.  Every invocation burns its
duration of CPU time.  Each trace is replayed under every policy in
``--policies`` (cfs first, the baseline); the oracle simulates preemptive
SRTF on the CPU times measured in the cfs run: it knows every call's size
at arrival, which no online policy does.  ``ps-sim`` (processor sharing,
simulated on the same CPU times) shows what a policy that knows no size
reaches: where it is far from the oracle, as on bursts of simultaneous
calls of functions never seen before, only predictions can close the gap.  With ``--trace PATH --limit K``
the first K requests of that file are the only trace.

For every policy after cfs and every trace, PASS/MISS against the targets
(short < 250 ms <= medium < 1 s <= long, by trace duration):

- short p99 slowdown <= 1.3 x the oracle's, short p50 <= 1.05;
- long mean slowdown <= 1.1 x CFS's;
- scheduler CPU <= 1% of one core;
- nothing lost or run twice.

It also prints, as ALPS (USENIX ATC'24) reports it, how much lower the mean
turnaround ("duration") is than under CFS, and writes one CDF plot (PNG)
of the short calls' slowdowns per trace.
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass

from sharekit.cli import UsageError
from sharekit.stats import quantile

SIMULATED = ["srtf-oracle", "ps-sim"]
TARGETS = {"short_p99_vs_oracle": 1.3, "short_p50": 1.05, "long_vs_cfs": 1.1, "scheduler_cpu": 0.01}


def add_arguments(p) -> None:
    from workloads.bench_traces import NAMES
    p.add_argument("--quick", action="store_true", help="about 15 s of arrivals per trace instead of about 60 s")
    p.add_argument("--cores", type=int, help="cores 0..N-1 (default: all)")
    p.add_argument("--traces", default=",".join(NAMES), help=f"comma-separated, from {', '.join(NAMES)}")
    p.add_argument("--trace", help="replay this trace file (first --limit requests) instead")
    p.add_argument("--limit", type=int, default=500, help="with --trace: first K requests (default 500)")
    p.add_argument("--fib-table", help="with an SFS trace: the fib table")
    p.add_argument("--slice-rule", choices=["iat", "percentile"], default="iat")
    p.add_argument("--policies", default="cfs,sfs",
                   help="comma-separated runnable policies, cfs first as the baseline (default cfs,sfs; "
                        "every one after cfs is checked against the targets)")
    from sfs.commands.replay import add_preemption_arguments, add_tenant_arguments
    add_preemption_arguments(p)
    add_tenant_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default="sfs-bench-cdf.png", help="CDF plot of short-invocation slowdowns")
    p.add_argument("--out-dir", help="write each run's records CSV here")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--http", action="store_true", help="benchmark against `sfs serve` (the FaaS host)")


@dataclass
class Row:
    """One policy on one trace: slowdowns by class, mean turnaround, scheduler CPU share."""
    short_p50: float
    short_p99: float
    short_mean: float
    medium_mean: float
    long_mean: float
    mean_slowdown: float
    mean_turnaround: float
    cpu_share: float | None
    short: list[float]
    lag_p99: float | None = None   # fork-to-arrival lag: large values mean the machine interfered


    @classmethod
    def of(cls, records, services: dict[str, float], cpu_share: float | None,
           lags: list[float] | None = None) -> "Row":
        from sfs.records import ClassSummary, by_class
        groups = by_class(records, lambda r: services[r.invocation_id])
        s = {name: ClassSummary.of(name, [r.slowdown for r in rows]) for name, rows in groups.items()}
        turnaround = [r.turnaround_s for r in records]
        return cls(s["short"].p50, s["short"].p99, s["short"].mean, s["medium"].mean, s["long"].mean,
                   s["all"].mean, sum(turnaround) / len(turnaround) if turnaround else math.nan, cpu_share,
                   [r.slowdown for r in groups["short"] if not math.isnan(r.slowdown)],
                   quantile(lags, 0.99) if lags else None)


def verdict(row: Row, oracle: Row, cfs: Row, intact: bool) -> list[tuple[str, bool | None, str]]:
    """(target, passed or None when it does not apply, measured value) for one policy on one trace."""
    t = TARGETS
    ratio = row.short_p99 / oracle.short_p99 if oracle.short_p99 > 0 else math.nan
    checks = [
        (f"short p99 <= {t['short_p99_vs_oracle']} x oracle's", None if math.isnan(ratio) else
         ratio <= t["short_p99_vs_oracle"], f"{row.short_p99:.2f} vs {oracle.short_p99:.2f} = {ratio:.2f}x"),
        (f"short p50 <= {t['short_p50']}", None if math.isnan(row.short_p50) else row.short_p50 <= t["short_p50"],
         f"{row.short_p50:.2f}"),
        (f"long mean <= {t['long_vs_cfs']} x CFS's", None if math.isnan(row.long_mean) else
         row.long_mean <= t["long_vs_cfs"] * cfs.long_mean,
         f"{row.long_mean:.2f} vs {cfs.long_mean:.2f} = {row.long_mean / cfs.long_mean:.2f}x"),
        (f"scheduler CPU <= {100 * t['scheduler_cpu']:.0f}% of one core",
         row.cpu_share <= t["scheduler_cpu"], f"{100 * row.cpu_share:.2f}%"),
        ("no invocation lost or run twice", intact, ""),
    ]
    return checks


def lower_than_cfs(value: float, cfs_value: float) -> float:
    """How much lower `value` is than CFS's, in percent (ALPS's "57% lower mean duration than CFS")."""
    return 100.0 * (1.0 - value / cfs_value) if cfs_value > 0 else math.nan


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


def _traces(args, ncores: int) -> dict[str, list]:
    from workloads.load import limit, rescale_to_load
    if args.trace:
        from sfs.commands.replay import resolve_trace
        from workloads.invocation import TraceError
        from workloads.traces import load_trace
        try:
            invs = limit(load_trace(resolve_trace(args.trace), fib_table=args.fib_table), args.limit)
            return {os.path.basename(args.trace): rescale_to_load(invs, 0.8, ncores)}
        except (TraceError, FileNotFoundError, ValueError) as exc:
            raise UsageError(str(exc)) from None
    from workloads.bench_traces import NAMES, bench_trace
    out = {}
    for name in [n.strip() for n in args.traces.split(",") if n.strip()]:
        if name not in NAMES:
            raise UsageError(f"--traces: unknown trace {name!r} (choose from {', '.join(NAMES)})")
        invs = bench_trace(name, ncores, quick=args.quick, seed=args.seed)
        if invs is None:
            print(f"{name}: skipped, the trace file is not here (set $SHAREKIT_TRACE_DIR)", file=sys.stderr)
            continue
        out[name] = invs
    if not out:
        raise UsageError("--traces: no trace to run")
    return out


def run(args) -> int:
    if args.http:
        try:
            from sfs.faas.bench_http import run_http_bench
        except ImportError:
            raise UsageError("the HTTP benchmark (sfs.faas.bench_http) is not installed") from None
        return int(run_http_bench(args) or 0)
    from sfs.commands.replay import assign_tenants, make_policy, preemption_options
    from sfs.privilege import PrivilegeError, require_realtime
    from sfs.records import write_csv
    from sfs.replay import replay
    from sfs.scheduler import SchedulerConfig
    from sfs.slice import SliceConfig

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
        config = SchedulerConfig(slice=SliceConfig(rule=args.slice_rule), **preemption_options(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    traces = {name: assign_tenants(invs, args) for name, invs in _traces(args, ncores).items()}
    started = time.monotonic()
    rows: dict[tuple[str, str], Row] = {}
    intact = {}
    for trace, invs in traces.items():
        services = {str(i.id): i.duration_s for i in invs}
        print(f"{trace}: {len(invs)} invocations, {sum(services.values()):.1f} CPU-s over "
              f"{invs[-1].arrival_s:.1f} s (80% load on cores {cores})", file=sys.stderr)
        measured = None
        for policy in names + SIMULATED:
            if policy in SIMULATED:
                res = replay(invs, policy, cores, services=measured)
            else:
                res = replay(invs, make_policy(policy, args, strict=False), cores, config,
                             progress=not args.no_progress)
            if policy == "cfs":
                measured = {r.invocation_id: r.cpu_s for r in res.records}
            if args.out_dir and policy not in SIMULATED:
                os.makedirs(args.out_dir, exist_ok=True)
                write_csv(os.path.join(args.out_dir, f"{trace}-{policy}.csv"), res.records)
            rows[(trace, policy)] = Row.of(res.records, services,
                                           None if policy in SIMULATED else res.scheduler_cpu_share,
                                           res.launch_lag_s)
            intact[(trace, policy)] = res.lost == 0 and res.duplicates == 0 and not res.failed
    elapsed = time.monotonic() - started
    _table(traces, names, rows)
    print(f"(bench took {elapsed:.0f} s)")
    _plot(args.plot, traces, rows, names)
    print(f"plot: {args.plot}")
    ok = True
    for policy in names[1:]:
        for trace in traces:
            ok &= _print_verdict(trace, policy, rows, intact)
    return 0 if ok else 1


def _table(traces, names, rows) -> None:
    print(f"{'trace':<10} {'policy':<12} {'short p50':>9} {'short p99':>9} {'short mean':>10} {'medium mean':>11} "
          f"{'long mean':>9} {'mean slowdown':>13} {'mean turnaround':>15} {'sched CPU':>9} {'lag p99':>8}")
    for trace in traces:
        for policy in names + SIMULATED:
            r = rows[(trace, policy)]
            cpu = "-" if r.cpu_share is None else f"{100 * r.cpu_share:.2f}%"
            lag = "-" if r.lag_p99 is None else f"{1000 * r.lag_p99:.1f}ms"
            print(f"{trace:<10} {policy:<12} {r.short_p50:>9.2f} {r.short_p99:>9.2f} {r.short_mean:>10.2f} "
                  f"{r.medium_mean:>11.2f} {r.long_mean:>9.2f} {r.mean_slowdown:>13.2f} "
                  f"{r.mean_turnaround:>14.3f}s {cpu:>9} {lag:>8}")


def _print_verdict(trace: str, policy: str, rows, intact) -> bool:
    row, cfs, oracle = rows[(trace, policy)], rows[(trace, "cfs")], rows[(trace, "srtf-oracle")]
    print(f"{policy} on {trace}: mean turnaround {lower_than_cfs(row.mean_turnaround, cfs.mean_turnaround):.0f}% "
          f"lower than CFS's, mean slowdown {lower_than_cfs(row.mean_slowdown, cfs.mean_slowdown):.0f}% lower "
          f"(oracle: {lower_than_cfs(oracle.mean_turnaround, cfs.mean_turnaround):.0f}% / "
          f"{lower_than_cfs(oracle.mean_slowdown, cfs.mean_slowdown):.0f}%)")
    ok = True
    for name, passed, value in verdict(row, oracle, cfs, intact[(trace, policy)] and intact[(trace, "cfs")]):
        if passed is None:
            print(f"  N/A   {name}  (no invocation of that class in this trace)")
            continue
        ok &= passed
        print(f"  {'PASS' if passed else 'MISS'}  {name}  {value}")
    return ok


def _plot(path, traces, rows, names) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(traces), figsize=(4.2 * len(traces), 3.4), squeeze=False)
    for ax, trace in zip(axes[0], traces):
        for policy, style in [(n, "-") for n in names] + [(n, "--") for n in SIMULATED]:
            values = sorted(rows[(trace, policy)].short)
            if values:
                ax.step(values, [(k + 1) / len(values) for k in range(len(values))], style, where="post",
                        label=policy)
        ax.set_xscale("log")
        ax.set_xlabel("slowdown (turnaround / CPU time)")
        ax.set_title(f"short calls, {trace}, load 0.8")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("CDF")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
