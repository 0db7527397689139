"""Lock subversion benchmark: pthread mutex, a spinlock, a ticket lock and
u-SCL side by side, plus `preload` (the pthread-mutex harness, unmodified,
under LD_PRELOAD=libscl-preload.so).

The workloads, their titles and their targets are one table,
scl/bench_scenarios.py (a new workload is one entry there):
  a  2 threads pinned to 2 CPUs, critical sections 1 us vs 3 us
  b  4 threads on 2 CPUs, 1/1/3/3 us
  c  2 threads on 2 CPUs, 2 us each, nice 0 vs nice 5 (ideal 0.754 : 0.246)
  d  3 threads, 2 us, one exits at half time: lock utilisation before/after
  e  uncontended lock+unlock, alternating pairs against glibc's mutex
  f  contended throughput (2 threads, tiny critical section)

Targets (u-SCL and preload): Jain(hold) >= 0.99 in a, b, c; utilisation
>= 0.97 in a; share error <= 0.01 in c; utilisation >= 0.90 after the exit
in d; uncontended lock+unlock <= 1.2x glibc's (native API) and <= 1.5x
(interposer); throughput >= 0.9x the pthread mutex.  Timing numbers depend
on the machine and its load; this is a benchmark, not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from sharekit.cli import UsageError
from scl.bench_harness import LOCKS, BenchError, Harness
from scl.bench_metrics import check_targets, median_run, metrics
from scl.bench_report import plot, table
from scl.bench_scenarios import SCENARIOS
from scl.paths import NativeBuildMissing
from sharekit.rt import realtime_tasks


def _csv(kind: str, allowed):
    def parse(text: str) -> list[str]:
        items = [s.strip() for s in text.split(",") if s.strip()]
        bad = [s for s in items if s not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"unknown {kind} {', '.join(bad) or '(none)'}; choose from {', '.join(allowed)}")
        return list(dict.fromkeys(items))
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=float, default=2.0, metavar="S",
                        help="seconds per run (default 2)")
    parser.add_argument("--scenarios", type=_csv("scenario", SCENARIOS), default=list(SCENARIOS),
                        help=f"comma-separated subset of {','.join(SCENARIOS)} (default all)")
    parser.add_argument("--locks", type=_csv("lock", LOCKS), default=list(LOCKS),
                        help=f"comma-separated subset of {','.join(LOCKS)} (default all)")
    parser.add_argument("--preload", action="store_true",
                        help="make sure the `preload` lock (the pthread-mutex harness under "
                             "LD_PRELOAD=$(scl config --preload)) is among --locks")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="runs per scenario and lock; the table shows the median run "
                             "by the scenario's main metric (default 1)")
    parser.add_argument("--slice-us", type=int, default=None,
                        help="u-SCL slice length in microseconds (default: the library's 2 ms)")
    parser.add_argument("--out", type=Path, default=Path("results/scl-bench"),
                        help="directory for results.json and scl-bench.png (default ./results/scl-bench)")
    parser.add_argument("-j", "--json", action="store_true",
                        help="print the results as JSON instead of the table")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a target is missed")


def run(args: argparse.Namespace) -> int:
    if not 0.05 <= args.duration <= 600:
        raise UsageError(f"--duration must be between 0.05 and 600 s, got {args.duration:g}")
    if args.slice_us is not None and args.slice_us <= 0:
        raise UsageError(f"--slice-us must be > 0, got {args.slice_us}")
    if not 1 <= args.repeat <= 50:
        raise UsageError(f"--repeat must be between 1 and 50, got {args.repeat}")
    if args.preload and "preload" not in args.locks:
        args.locks = [*args.locks, "preload"]
    try:
        harness = Harness.for_locks(args.locks)
    except (NativeBuildMissing, BenchError) as exc:
        raise UsageError(str(exc)) from None

    from tqdm import tqdm
    load_before, rt_before = os.getloadavg()[0], len(realtime_tasks())
    # Repetitions are interleaved (a/mutex, a/uscl, ..., a/mutex, ...) so a
    # burst of load from elsewhere hits every lock rather than one.
    plan = [(s, lock, rep) for s in args.scenarios for rep in range(args.repeat)
            for lock in args.locks]
    attempts: dict[tuple[str, str], list[dict]] = {}
    started = time.time()
    with tqdm(plan, desc="scl bench", unit="run", file=sys.stderr,
              disable=not sys.stderr.isatty() and args.json) as bar:
        for scenario, lock, rep in bar:
            bar.set_postfix_str(f"{scenario}/{lock}" + (f" #{rep + 1}" if args.repeat > 1 else ""))
            try:
                raw = harness.run(lock, scenario, args.duration, args.slice_us)
            except BenchError as exc:
                print(f"scl bench: {exc}", file=sys.stderr)
                return 1
            attempts.setdefault((scenario, lock), []).append(
                {"scenario": scenario, "lock": lock, "raw": raw, "metrics": metrics(raw)})
    rows = []
    for runs in attempts.values():
        row = median_run(runs)
        if len(runs) > 1:
            row["repeats"] = [r["metrics"] for r in runs]
        rows.append(row)

    for row in rows:
        mutex = next((r["metrics"] for r in rows
                      if r["scenario"] == row["scenario"] and r["lock"] == "mutex"), None)
        row["targets"] = check_targets(row["scenario"], row["lock"], row["metrics"], mutex)

    # Timing numbers mean little on a loaded machine: say how loaded it was.
    machine = {"cpus": os.cpu_count(), "loadavg_1min_start": load_before,
               "loadavg_1min_end": os.getloadavg()[0],
               "realtime_tasks_start": rt_before, "realtime_tasks_end": len(realtime_tasks())}
    verdicts = [v["pass"] for r in rows for v in r["targets"] if v["pass"] is not None]
    report = {
        "duration_s": args.duration, "scenarios": args.scenarios, "locks": args.locks,
        "slice_us": args.slice_us, "repeat": args.repeat, "started": started, "machine": machine, "runs": rows,
        "targets_passed": sum(verdicts), "targets_missed": len(verdicts) - sum(verdicts),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(report, indent=1))
    png = None if args.no_plot else plot(rows, args.out / "scl-bench.png")
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(table(rows), end="")
        print(f"targets: {report['targets_passed']} passed, {report['targets_missed']} missed")
        print(f"machine: {machine['cpus']} CPUs, load average {machine['loadavg_1min_start']:.1f} "
              f"at start, {machine['loadavg_1min_end']:.1f} at end; real-time user tasks "
              f"{machine['realtime_tasks_start']} / {machine['realtime_tasks_end']}")
        print(f"results: {args.out / 'results.json'}" + (f", plot: {png}" if png else ""))
    return 1 if args.strict and report["targets_missed"] else 0
