"""Replay a trace under one policy and summarise the slowdowns.

TRACE is an Azure Functions 2019 invocations file (durations file beside it
or --durations), an Azure Functions 2021 CSV, an SFS standalone trace (fib
table beside it or --fib-table), or the word `synthetic` (the sfs bench
trace, see `python -m workloads.synthetic --help`).  Arrivals are open-loop:
each invocation is forked at its arrival time by a pre-started fork server
and burns its recorded duration of CPU time (or runs the real function with
--real-functions).  Turnaround counts from the scheduled arrival.
"""
from __future__ import annotations

import os
import sys

from sfs import policies
from sharekit.cli import UsageError


def add_arguments(p) -> None:
    p.add_argument("trace", metavar="TRACE", help="trace file, or 'synthetic'")
    p.add_argument("--policy", choices=policies.names(), default="sfs")
    p.add_argument("--cores", type=int, default=1, help="use cores 0..N-1 (default 1)")
    p.add_argument("--load", type=float, help="rescale inter-arrival times to this offered load per core")
    p.add_argument("--limit", type=int, help="replay only the first K invocations (by arrival)")
    p.add_argument("--out", help="results CSV")
    p.add_argument("--format", choices=["auto", "azure2019", "azure2021", "sfs"], default="auto")
    p.add_argument("--durations", help="Azure 2019 durations file (default: beside the invocations file)")
    p.add_argument("--fib-table", help="SFS fib table 'N ms' (default: beside the trace)")
    p.add_argument("--recalibrate", action="store_true", help="measure the fib table on this machine")
    p.add_argument("--real-functions", action="store_true",
                   help="run the named real function (e.g. fib(N)) instead of burning the duration")
    p.add_argument("--slice-rule", choices=["iat", "percentile"], default="iat")
    p.add_argument("--initial-slice", type=float, default=0.25, help="start value of T in seconds")
    p.add_argument("--slice-floor", type=float, default=0.006, help="floor of T in seconds")
    p.add_argument("--bypass-factor", type=float, default=3.0, help="k: queued longer than k*T -> CFS")
    p.add_argument("--aging", type=float, default=10.0, help="seconds in CFS before a re-filter")
    add_preemption_arguments(p)
    add_tenant_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")


def add_tenant_arguments(p) -> None:
    """Tenants and their shares, for tenant-aware policies (shared with `sfs bench`)."""
    p.add_argument("--tenants", type=int, metavar="N",
                   help="assign the invocations to tenants t0..tN-1 round robin (default: the trace's tenants)")
    p.add_argument("--tenant-shares", metavar="SHARES",
                   help="tenant weights NAME=W,... (e.g. t0=3,t1=1) or a published-shares file of a node agent; "
                        "for sfs-tenant (default: equal shares)")


def assign_tenants(invs, args):
    """The invocations with tenants t0..tN-1 round robin when --tenants N is given."""
    if args.tenants is None:
        return invs
    if not 1 <= args.tenants <= 1000:
        raise UsageError(f"--tenants must be between 1 and 1000 (got {args.tenants})")
    from dataclasses import replace
    return [replace(inv, tenant=f"t{k % args.tenants}") for k, inv in enumerate(invs)]


def make_policy(name: str, args, strict: bool = True):
    """The named policy, with --tenant-shares for a tenant-aware one (strict: refuse them for others)."""
    info = policies.info(name)
    if info.simulated:
        return name
    shares = None
    if args.tenant_shares is not None and (strict or info.tenant_aware):
        if not info.tenant_aware:
            raise UsageError(f"--tenant-shares: policy {name!r} does not weigh tenants (use sfs-tenant)")
        from sfs.policies.sfs_tenant import parse_shares
        try:
            shares = parse_shares(args.tenant_shares)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return policies.make_policy(name, shares=shares)


_CONFIG_DEFAULT = object()  # not a string: argparse would run it through the type converter


def _milliseconds_or_off(text: str) -> float | None:
    import argparse
    if text.strip().lower() in ("none", "off", "0"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of milliseconds (or 0/none): {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of milliseconds (or 0/none): {text!r}")
    return value / 1000.0


def add_preemption_arguments(p) -> None:
    """The least-attained-service preemption knobs inside FILTER (shared with `sfs bench`)."""
    from sfs.scheduler import SchedulerConfig
    d = SchedulerConfig()
    after = "none" if d.preempt_after_s is None else f"{d.preempt_after_s * 1000:g}"
    p.add_argument("--preempt-after", type=_milliseconds_or_off, default=_CONFIG_DEFAULT, metavar="MS",
                   help="a newcomer preempts a FILTER job that has attained MS more CPU than it "
                        f"(least attained service first); 0 or none = plain SFS, FCFS FILTER (default {after})")
    p.add_argument("--reorder-after", type=float, metavar="MS",
                   help="a preempted job gets its core back once it has attained MS less CPU than "
                        f"the job running there (default {d.reorder_after_s * 1000:g})")
    p.add_argument("--max-preemption-depth", type=int, metavar="N",
                   help=f"at most N jobs stacked above another on a core (0-19; default {d.max_preemption_depth})")
    p.add_argument("--cfs-shared", action="store_true",
                   help="demoted and bypassed jobs all share CFS, as plain SFS does (default: served in turn)")


def preemption_options(args) -> dict:
    """SchedulerConfig keyword arguments for the preemption options given on the command line."""
    options = {}
    if args.preempt_after is not _CONFIG_DEFAULT:
        options["preempt_after_s"] = args.preempt_after
    if args.reorder_after is not None:
        if not args.reorder_after >= 0:
            raise UsageError(f"--reorder-after must be at least 0 ms (got {args.reorder_after:g})")
        options["reorder_after_s"] = args.reorder_after / 1000.0
    if args.max_preemption_depth is not None:
        if not 0 <= args.max_preemption_depth <= 19:
            raise UsageError(f"--max-preemption-depth must be between 0 and 19 (got {args.max_preemption_depth})")
        options["max_preemption_depth"] = args.max_preemption_depth
    if args.cfs_shared:
        options["cfs_in_turn"] = False
    return options


def scheduler_config(args):
    from sfs.scheduler import SchedulerConfig
    from sfs.slice import SliceConfig
    try:
        return SchedulerConfig(slice=SliceConfig(rule=args.slice_rule, initial_s=args.initial_slice,
                                                 floor_s=args.slice_floor),
                               bypass_factor=args.bypass_factor, aging_s=args.aging,
                               **preemption_options(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def load_invocations(args, cores: int):
    from workloads.invocation import TraceError
    from workloads.load import limit, rescale_to_load
    from workloads.synthetic import generate
    from workloads.traces import load_trace
    if args.trace == "synthetic":
        invs = generate(args.limit or 100, cores, args.load or 0.8, seed=args.seed)
    else:
        path = resolve_trace(args.trace)
        try:
            invs = load_trace(path, args.format, durations=args.durations, fib_table=args.fib_table,
                              seed=args.seed, recalibrate=args.recalibrate)
        except (TraceError, FileNotFoundError, ValueError) as exc:
            raise UsageError(str(exc)) from None
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    invs = limit(invs, args.limit)
    if not invs:
        raise UsageError(f"{args.trace}: no invocations")
    if args.load is not None:
        if args.load <= 0:
            raise UsageError("--load must be positive")
        try:
            invs = rescale_to_load(invs, args.load, cores)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    else:
        first = invs[0].arrival_s
        from dataclasses import replace
        invs = [replace(i, arrival_s=i.arrival_s - first) for i in invs]
    return invs


def resolve_trace(name: str) -> str:
    """A path as given, else a file of that name in $SHAREKIT_TRACE_DIR or the workplace's shared traces."""
    from workloads.sfs_standalone import find_shared_trace
    if os.path.isfile(name):
        return name
    found = find_shared_trace(os.path.basename(name))
    if found is None:
        raise UsageError(f"no such trace file: {name} (also looked in $SHAREKIT_TRACE_DIR and the shared traces folder)")
    return str(found)


def check_cores(n: int) -> list[int]:
    available = os.cpu_count() or 1
    if not 1 <= n <= available:
        raise UsageError(f"--cores must be between 1 and {available} (this machine's cores)")
    return list(range(n))


def report(result, invs, out=None) -> None:
    from sfs.records import CLASS_LEGEND, format_summary, summarize
    out = out or sys.stdout
    services = {str(i.id): i.duration_s for i in invs}
    print(format_summary(summarize(result.records, services),
                         f"policy {result.policy} on cores {result.cores}: slowdown by class ({CLASS_LEGEND})"),
          file=out)
    line = (f"invocations {result.expected}, completed {len(result.records)}, lost {result.lost}, "
            f"duplicated {result.duplicates}")
    if not policies.info(result.policy).simulated:
        demoted = sum(r.demoted for r in result.records)
        bypassed = sum(r.bypassed for r in result.records)
        lag = sorted(result.launch_lag_s)
        line += (f", demoted {demoted}, bypassed {bypassed}, failed {len(result.failed)}"
                 f"\nscheduler CPU {result.scheduler_cpu_s:.3f} s over {result.wall_s:.1f} s "
                 f"= {100 * result.scheduler_cpu_share:.2f}% of one core")
        if lag:
            line += f"; launch lag p50 {lag[len(lag) // 2] * 1000:.2f} ms, max {lag[-1] * 1000:.2f} ms"
    print(line, file=out)
    print("lost = 0: " + ("PASS" if result.lost == 0 and result.duplicates == 0 else "MISS"), file=out)


def run(args) -> int:
    from sfs.privilege import PrivilegeError, require_realtime
    from sfs.records import write_csv
    from sfs.replay import replay
    cores = check_cores(args.cores)
    try:
        require_realtime(args.policy)
    except PrivilegeError as exc:
        raise UsageError(str(exc)) from None
    invs = assign_tenants(load_invocations(args, len(cores)), args)
    policy = make_policy(args.policy, args)
    try:
        result = replay(invs, policy, cores, scheduler_config(args), progress=not args.no_progress,
                        real_functions=args.real_functions)
    except PrivilegeError as exc:
        raise UsageError(str(exc)) from None
    if args.out:
        write_csv(args.out, sorted(result.records, key=lambda r: r.arrival_s))
    report(result, invs)
    if args.out:
        print(f"records: {args.out}")
    return 0 if result.lost == 0 and result.duplicates == 0 else 1

