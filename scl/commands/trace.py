"""Trace lock hold, wait and opportunity per thread, without slowing the locks down.

User-space locks, per process (-p) or machine-wide:
- the kit's libscl: the statistics every lock keeps, read from the
  process's memory through the library's lock directory (no probe on the
  lock path: the figures are the untraced program's, counts exact);
- glibc mutexes of one process (-p): futex tracepoints find the contended
  mutexes; cpu-clock samples of their owner field and sched_switch give
  each thread's hold (no probe on the lock path; no acquisition counts);
- --uprobes (and glibc machine-wide, and the interposer libscl-preload.so):
  uprobes on every lock call, exact counts, hold and wait corrected for
  the probes' cost measured at start (--no-compensate: uncorrected), but
  1-3 us critical sections run about ten times slower.
Per thread and lock: acquisitions, hold time, wait time, lock opportunity
(hold + time the lock was free, or free inside the thread's own slice),
hold share vs CPU-weight share (weights from nice values), weighted Jain
indices, and a SUBVERSION verdict when a hold share and the weight share
differ by more than --threshold.

Kernel locks (--kernel): lock:contention_begin/end per task: waits, total
and max wait time, log2 histogram, the lock it waited on longest in the
interval and that lock's kind.

Without --lib/--glibc, a -p process with libscl (libscl.so, or linked in)
is read through its lock directory; one with the interposer is probed
there; anything else is glibc.  Needs root.

examples:
  scl trace -p 1234                  # one report at Ctrl-C
  scl trace -p 1234 1 5 -j           # five 1 s reports as JSON lines
  scl trace --glibc -p 1234 --threshold 0.05
  scl trace --uprobes -p 1234 1 3    # every lock call probed: exact counts, slower locks
  scl trace --lib ./libscl.so 2      # every process using that library
  scl trace --kernel -p 1234 1 3     # kernel lock contention of process 1234
  scl trace --kernel                 # all processes, until Ctrl-C
"""
from __future__ import annotations

import os
import sys
import time
from collections import defaultdict

import psutil

from ebpf import histogram, loop, prereq
from ebpf.lockreport import LockReport
from scl.paths import native_paths
from sharekit.cli import UsageError

TOOL = "scl trace"


def add_arguments(parser) -> None:
    parser.add_argument("-p", "--pid", type=int, metavar="PID", help="trace only this process")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--lib", metavar="PATH", help="lock library to probe (libscl.so, libscl-preload.so, "
                                                      "or any library exporting pthread_mutex_lock)")
    source.add_argument("--glibc", action="store_true", help="probe glibc's pthread_mutex_* (libc.so.6)")
    source.add_argument("--kernel", action="store_true",
                        help="kernel lock contention (lock:contention_begin/end) instead of user locks")
    parser.add_argument("--threshold", type=float, default=0.1, metavar="GAP",
                        help="SUBVERSION when |hold share - weight share| of a thread exceeds GAP (default 0.1)")
    parser.add_argument("--uprobes", action="store_true",
                        help="probe every lock call (exact acquisition counts; slows 1-3 us sections about "
                             "tenfold) instead of reading libscl's lock statistics or sampling glibc mutex owners")
    parser.add_argument("--no-compensate", action="store_true",
                        help="report raw probe-to-probe times (no probe-overhead correction)")
    parser.add_argument("--top", type=int, default=5, metavar="N",
                        help="locks (or tasks, with --kernel) shown per report (default 5; JSON has all)")
    parser.add_argument("--per-task-hist", action="store_true",
                        help="with --kernel: a wait histogram per task (top rows) instead of one overall")
    loop.add_arguments(parser)


def _maps_library(pid: int) -> str | None:
    """Path of libscl-preload.so or libscl.so mapped by `pid`, if any."""
    try:
        paths = {m.path for m in psutil.Process(pid).memory_maps(grouped=True)}
    except (psutil.Error, OSError):
        return None
    for name in ("libscl-preload.so", "libscl.so"):
        for path in sorted(paths):
            base = os.path.basename(path)   # maps names the file itself: libscl.so.0.1
            if (base == name or base.startswith(name + ".")) and os.path.isfile(path):
                return path
    return None


def choose_library(args) -> str | None:
    """--lib path, or None for glibc."""
    if args.glibc:
        return None
    if args.lib:
        return args.lib
    if args.pid is not None:
        return _maps_library(args.pid)
    kit = native_paths(require=False).library
    return str(kit) if kit.is_file() else None


# ---------------------------------------------------------------- user locks

def _print_user(fig: dict, title: str, top: int, span_s: float) -> None:
    out = [f"{time.strftime('%H:%M:%S')} {title}: {len(fig['locks'])} locks, {len(fig['threads'])} thread-lock pairs"]
    by_lock = defaultdict(list)
    for r in fig["threads"]:
        by_lock[r["lock"]].append(r)
    for lock in fig["locks"][:top]:
        util = lock["hold_ns"] / (span_s * 1e9) if span_s > 0 else 0.0
        out.append(f"lock {lock['lock']}: {lock['threads']} threads, {lock['acquisitions']} acquisitions, "
                   f"held {util:.0%} of {span_s:.2f} s, Jain(opportunity/weight) {lock['jain_opportunity']:.3f}, "
                   f"Jain(hold/weight) {lock['jain_hold']:.3f}, max |share-weight share| "
                   f"{lock['max_share_gap']:.3f}: {lock['verdict']}")
        out.append(f"  {'TID':>8} {'COMM':<15} {'NICE':>4} {'ACQ':>9} {'HOLD ms':>9} {'WAIT ms':>9} "
                   f"{'OPP ms':>9} {'HOLD SHARE':>10} {'WEIGHT SHARE':>12}")
        for r in by_lock[lock["lock"]]:
            nice = "?" if r["nice"] is None else r["nice"]
            out.append(f"  {r['tid']:>8} {r['comm'][:15]:<15} {nice:>4} {r['acquisitions']:>9} "
                       f"{r['hold_ns'] / 1e6:>9.1f} {r['wait_ns'] / 1e6:>9.1f} {r['opportunity_ns'] / 1e6:>9.1f} "
                       f"{r['share']:>10.3f} {r['weight_share']:>12.3f}")
    if len(fig["locks"]) > top:
        out.append(f"  ... {len(fig['locks']) - top} more locks (--top, or -j for all)")
    if not fig["locks"]:
        out.append("  (no lock acquisitions)")
    print("\n".join(out) + "\n", flush=True)


def _lock_directory_reader(args, library: str | None):
    """A LockStatsReader when the traced libscl publishes its lock directory, else None."""
    from ebpf.sclstats import LockStatsReader, NotTraceable, directory_symbol
    if args.uprobes or args.glibc:
        return None
    if library is None and args.pid is None:
        return None   # glibc, machine-wide
    if library is not None and directory_symbol(library) is None:
        return None   # the interposer, or a library of pthread_mutex_* only
    try:
        return LockStatsReader(library, pid=args.pid)
    except (OSError, NotTraceable) as exc:
        if library is not None:
            print(f"{TOOL}: note: {exc}; probing every lock call instead", file=sys.stderr)
        return None   # a program without libscl: glibc


def _samples_owners(args, library: str | None) -> bool:
    """glibc mutexes of one process are sampled, not probed (unless --uprobes)."""
    return library is None and args.pid is not None and not args.uprobes


def _run_user(args) -> int:
    from ebpf.ulocks import LockTracer, resolve_library
    library = choose_library(args)
    try:
        bcc_name, symbols = resolve_library(library)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    tracer = _lock_directory_reader(args, library)
    method = "lock statistics" if tracer else "uprobes"
    try:
        if tracer is None and _samples_owners(args, library):
            from ebpf.ownersample import OwnerSampler
            tracer, method = OwnerSampler(args.pid), "owner sampling"
        elif tracer is None:
            tracer = LockTracer(bcc_name, symbols, pid=args.pid, calibrate=not args.no_compensate)
    except RuntimeError as exc:
        if args.pid is not None and not os.path.exists(f"/proc/{args.pid}"):
            print(f"{TOOL}: process {args.pid} exited before the probes were attached", file=sys.stderr)
        else:
            print(f"{TOOL}: {exc}", file=sys.stderr)
        return 1
    report = LockReport(tracer.overhead_ns, args.threshold)
    source = tracer.source if method != "uprobes" else library or "glibc pthread_mutex_*"
    if args.pid is None and library is None:
        print(f"{TOOL}: note: without -p every pthread_mutex call on the machine traps into the probes",
              file=sys.stderr)
    who = f" of pid {args.pid}" if args.pid else " (all processes)"
    if args.json:
        pass
    elif method == "owner sampling":
        print(f"Sampling the owner of contended pthread mutexes of pid {args.pid} (futex tracepoints, "
              f"cpu-clock samples; no probes). " + ("Hit Ctrl-C to end." if args.interval is None else ""),
              file=sys.stderr, flush=True)
    elif method == "uprobes":
        print(f"Tracing {', '.join(tracer.attached)} in {source}{who}; probe overhead "
              f"{tracer.overhead_ns} ns per hold {'subtracted' if tracer.overhead_ns else '(not corrected)'}. "
              + ("Hit Ctrl-C to end." if args.interval is None else ""), file=sys.stderr, flush=True)
    else:
        print(f"Reading the statistics each lock of {source} keeps{who} (no probes). "
              + ("Hit Ctrl-C to end." if args.interval is None else ""), file=sys.stderr, flush=True)
    first = tracer.sample()
    state = {"before": first, "at": time.monotonic()}
    started = state["at"]

    def emit(fig, kind, span):
        if args.json:
            loop.emit_json({"kind": kind, "time": time.time(), "span_s": round(span, 6),
                            "library": source, "method": method, "probe_overhead_ns": tracer.overhead_ns,
                            **fig})
        else:
            _print_user(fig, f"{kind} {span:.2f} s", args.top, span)

    def tick():
        snap, now = tracer.sample(), time.monotonic()
        emit(report.figures(snap, state["before"]), "interval", now - state["at"])
        state.update(before=snap, at=now)

    def summary():
        snap = tracer.sample()
        emit(report.figures(snap, first), "summary", time.monotonic() - started)

    def poll():
        report.remember(tracer.sample())
        return args.pid is None or os.path.exists(f"/proc/{args.pid}")

    try:
        loop.run(args.interval, args.count, tick, summary, poll)
    finally:
        tracer.close()
    return 0


def _pid_alive(pid):
    """poll() for loop.run: False once the traced process is gone."""
    if pid is None:
        return None
    return lambda: os.path.exists(f"/proc/{pid}")


# -------------------------------------------------------------- kernel locks

def _kernel_figures(tasks, locks, before) -> dict:
    prev_tasks, prev_locks = before
    rows = []
    for tid, t in tasks.items():
        b = prev_tasks.get(tid)
        count = t.count - (b.count if b else 0)
        if count <= 0:
            continue
        hist = {s: c - (b.hist.get(s, 0) if b else 0) for s, c in t.hist.items()}
        # The lock this task waited on longest in the interval (its last one is only
        # where its most recent wait happened to be).
        waited = {addr: ns - (b.locks.get(addr, 0) if b else 0) for addr, ns in t.locks.items()}
        top = max(waited, key=waited.get, default=t.last_lock)
        flags = locks[top].flags if top in locks else t.last_flags
        rows.append({"tid": tid, "pid": t.tgid, "comm": t.comm, "count": count,
                     "total_ns": t.total_ns - (b.total_ns if b else 0), "max_ns": t.max_ns,
                     "lock": f"{top:#x}", "flags": _flag_names(flags),
                     "hist": {s: c for s, c in hist.items() if c}})
    lock_rows = []
    for addr, l in locks.items():
        b = prev_locks.get(addr)
        count = l.count - (b.count if b else 0)
        if count > 0:
            lock_rows.append({"lock": f"{addr:#x}", "count": count,
                              "total_ns": l.total_ns - (b.total_ns if b else 0), "max_ns": l.max_ns,
                              "flags": _flag_names(l.flags)})
    rows.sort(key=lambda r: -r["total_ns"])
    lock_rows.sort(key=lambda r: -r["total_ns"])
    return {"tasks": rows, "locks": lock_rows}


def _flag_names(flags: int) -> str:
    from ebpf.klocks import flag_names
    return flag_names(flags)


def _print_kernel(fig: dict, title: str, args) -> None:
    out = [f"{time.strftime('%H:%M:%S')} {title}: {len(fig['tasks'])} tasks waited on "
           f"{len(fig['locks'])} kernel locks"]
    out.append(f"{'TID':>8} {'PID':>8} {'COMM':<16} {'WAITS':>8} {'TOTAL ms':>10} {'AVG us':>9} {'MAX us':>9}  "
               f"{'TOP LOCK':<18} FLAGS")
    for r in fig["tasks"][:args.top]:
        out.append(f"{r['tid']:>8} {r['pid']:>8} {r['comm'][:16]:<16} {r['count']:>8} {r['total_ns'] / 1e6:>10.2f} "
                   f"{r['total_ns'] / r['count'] / 1e3:>9.1f} {r['max_ns'] / 1e3:>9.1f}  {r['lock']:<18} {r['flags']}")
    if len(fig["tasks"]) > args.top:
        out.append(f"{'':>8} ... {len(fig['tasks']) - args.top} more tasks (--top, or -j for all)")
    out.append("")
    out.append(f"{'LOCK':<18} {'WAITS':>8} {'TOTAL ms':>10} {'MAX us':>9}  FLAGS")
    for r in fig["locks"][:args.top]:
        out.append(f"{r['lock']:<18} {r['count']:>8} {r['total_ns'] / 1e6:>10.2f} {r['max_ns'] / 1e3:>9.1f}  {r['flags']}")
    out.append("")
    if args.per_task_hist:
        for r in fig["tasks"][:args.top]:
            out.append(f"wait time, tid {r['tid']} ({r['comm']}):")
            out.append(histogram.render(r["hist"], "usecs"))
    else:
        merged = defaultdict(int)
        for r in fig["tasks"]:
            for s, c in r["hist"].items():
                merged[s] += c
        out.append("wait time, all tasks:")
        out.append(histogram.render(merged, "usecs"))
    print("\n".join(out) + "\n", flush=True)


def _run_kernel(args) -> int:
    from ebpf.klocks import KernelLockTracer
    try:
        tracer = KernelLockTracer(tgids=[args.pid] if args.pid is not None else None)
    except RuntimeError as exc:
        print(f"{TOOL}: {exc}", file=sys.stderr)
        return 1
    if not args.json:
        print("Tracing kernel lock contention" + (f" of pid {args.pid}" if args.pid else "") + "... "
              + ("Hit Ctrl-C to end." if args.interval is None else ""), file=sys.stderr, flush=True)
    empty = ({}, {})
    state = {"before": empty, "at": time.monotonic()}
    started = state["at"]

    def emit(fig, kind, span):
        if args.json:
            for r in fig["tasks"]:
                r["hist_us"] = histogram.to_json(r.pop("hist"))
            loop.emit_json({"kind": kind, "time": time.time(), "span_s": round(span, 6), **fig})
        else:
            _print_kernel(fig, f"{kind} {span:.2f} s", args)

    def tick():
        snap, now = tracer.sample(), time.monotonic()
        emit(_kernel_figures(*snap, state["before"]), "interval", now - state["at"])
        state.update(before=snap, at=now)

    def summary():
        emit(_kernel_figures(*tracer.sample(), empty), "summary", time.monotonic() - started)

    try:
        loop.run(args.interval, args.count, tick, summary, _pid_alive(args.pid))
    finally:
        tracer.close()
    return 0


def run(args) -> int:
    problem = loop.check(args.interval, args.count)
    if problem:
        raise UsageError(problem)
    if args.pid is not None and (args.pid <= 0 or not os.path.exists(f"/proc/{args.pid}")):
        raise UsageError(f"-p {args.pid}: no such process")
    if not 0 < args.threshold < 1:
        raise UsageError(f"--threshold must be between 0 and 1 (got {args.threshold})")
    if args.top <= 0:
        raise UsageError(f"--top must be >= 1 (got {args.top})")
    if args.lib and not os.path.isfile(args.lib):
        raise UsageError(f"--lib {args.lib}: no such file")
    if args.kernel:
        from ebpf.klocks import EVENTS
        status = prereq.report(TOOL, EVENTS)
        return status or _run_kernel(args)
    if args.pid is not None and not args.uprobes:   # glibc mutexes may be sampled
        from ebpf.ownersample import EVENTS
        return prereq.report(TOOL, EVENTS) or _run_user(args)
    status = prereq.report(TOOL)
    return status or _run_user(args)
