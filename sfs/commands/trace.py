"""Trace what the kernel scheduler did to processes, with eBPF (bcc).

Per process, and per invocation and tenant for processes the SFS scheduler
or the FaaS host labelled: on-CPU time split into RT (SCHED_FIFO/RR) and
fair (CFS) time, run-queue latency (sum, max, log2 histogram), involuntary
context switches (preempted or yielded while runnable) and voluntary ones.
Sources: sched:sched_switch, sched_wakeup, sched_wakeup_new,
sched_process_exit, and sched_setscheduler/sched_setattr calls (to split a
running stretch at a FIFO -> CFS demotion).  Needs root.

examples:
  sfs trace                      # all processes, one report at Ctrl-C
  sfs trace 1 5                  # five 1-second reports
  sfs trace -p 1234 -p 1240      # only these processes (all their threads)
  sfs trace --comm python3 2     # processes named python3, every 2 s
  sfs trace --cgroup /sys/fs/cgroup/unified/sfs 1 10 -j   # a cgroup-v2 subtree, JSON lines
  sfs trace --per-process-hist -p 1234                    # one histogram per process
"""
from __future__ import annotations

import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

import psutil

from ebpf import histogram, loop, prereq
from ebpf.cgroups import CgroupTarget, resolve, v1_member_tgids
from sharekit.cli import UsageError

TOOL = "sfs trace"
RT_PRIO_LIMIT = 100


def add_arguments(parser) -> None:
    parser.add_argument("-p", "--pid", action="append", default=[], metavar="PID",
                        help="trace this process (all its threads); repeat or comma-separate for several")
    parser.add_argument("--cgroup", metavar="PATH",
                        help="trace processes in this cgroup and below (v2 in BPF; v1 from cgroup.procs, "
                             "refreshed every second)")
    parser.add_argument("--comm", metavar="NAME", help="trace threads whose comm is NAME (first 15 bytes)")
    parser.add_argument("--top", type=int, default=20, metavar="N",
                        help="rows in the per-process table (by on-CPU time; default 20; JSON has all)")
    parser.add_argument("--per-process-hist", action="store_true",
                        help="print a run-queue latency histogram per process (top rows only)")
    loop.add_arguments(parser)


@dataclass
class Totals:
    """Counters of a group of threads over some span."""
    threads: set = field(default_factory=set)
    oncpu_ns: int = 0
    rt_ns: int = 0
    runq_ns: int = 0
    runq_count: int = 0
    runq_max_ns: int = 0
    involuntary: int = 0
    voluntary: int = 0
    runq_hist: dict = field(default_factory=lambda: defaultdict(int))

    def add(self, tid: int, d: dict) -> None:
        self.threads.add(tid)
        for name in ("oncpu_ns", "rt_ns", "runq_ns", "runq_count", "involuntary", "voluntary"):
            setattr(self, name, getattr(self, name) + d[name])
        self.runq_max_ns = max(self.runq_max_ns, d["runq_max_ns"])
        for slot, count in d["runq_hist"].items():
            self.runq_hist[slot] += count

    def as_json(self) -> dict:
        return {"threads": len(self.threads), "oncpu_ns": self.oncpu_ns, "rt_ns": self.rt_ns,
                "fair_ns": self.oncpu_ns - self.rt_ns, "runq_ns": self.runq_ns,
                "runq_count": self.runq_count, "runq_max_ns": self.runq_max_ns,
                "involuntary": self.involuntary, "voluntary": self.voluntary,
                "runq_hist_us": histogram.to_json(self.runq_hist)}


_COUNTERS = ("oncpu_ns", "rt_ns", "runq_ns", "runq_count", "involuntary", "voluntary")


def _as_dict(sample) -> dict:
    d = {name: getattr(sample, name) for name in _COUNTERS}
    d["runq_max_ns"] = sample.runq_max_ns
    d["runq_max_window_ns"] = sample.runq_max_window_ns
    d["runq_hist"] = dict(sample.runq_hist)
    return d


def _delta(now: dict, before: dict | None) -> dict:
    if before is None:
        return dict(now, runq_max_ns=now["runq_max_window_ns"])
    d = {name: now[name] - before[name] for name in _COUNTERS}
    d["runq_max_ns"] = now["runq_max_window_ns"]
    d["runq_hist"] = {s: c - before["runq_hist"].get(s, 0) for s, c in now["runq_hist"].items()
                      if c - before["runq_hist"].get(s, 0)}
    return d


class Aggregator:
    """Turns cumulative per-thread samples into per-interval and whole-run reports."""

    def __init__(self) -> None:
        self.last: dict[int, dict] = {}      # tid -> cumulative counters at the last tick
        self.final: dict[int, dict] = {}     # tid -> latest cumulative counters (summary)
        self.tgid: dict[int, int] = {}
        self.comm: dict[int, str] = {}
        self.labels: dict = {}               # tgid -> InvocationLabel, every label seen

    def refresh_labels(self) -> None:
        from sharekit.invocation_registry import snapshot
        try:
            self.labels.update(snapshot())
        except OSError:
            pass

    def interval(self, samples) -> dict[int, dict]:
        """Per-thread deltas since the previous call."""
        deltas = {}
        for tid, sample in samples.items():
            now = _as_dict(sample)
            deltas[tid] = _delta(now, self.last.get(tid))
            self.tgid[tid] = sample.tgid
            self.comm[tid] = sample.comm
            self.final[tid] = now
            if sample.exited:
                self.last.pop(tid, None)
            else:
                self.last[tid] = now
        return deltas

    def group(self, per_thread: dict[int, dict]):
        processes: dict[int, Totals] = defaultdict(Totals)
        invocations: dict[str, Totals] = defaultdict(Totals)
        tenants: dict[str, Totals] = defaultdict(Totals)
        everything = Totals()
        for tid, d in per_thread.items():
            tgid = self.tgid.get(tid, tid)
            processes[tgid].add(tid, d)
            everything.add(tid, d)
            label = self.labels.get(tgid)
            if label is not None:
                invocations[label.invocation_id].add(tid, d)
                tenants[label.tenant].add(tid, d)
        return processes, invocations, tenants, everything

    def process_comm(self, tgid: int) -> str:
        if tgid in self.comm:
            return self.comm[tgid]
        return next((c for t, c in self.comm.items() if self.tgid.get(t) == tgid), "?")


def _ms(ns: int) -> str:
    return f"{ns / 1e6:.1f}"


def _us(ns: float) -> str:
    return f"{ns / 1e3:.1f}"


def _print_tables(agg: Aggregator, per_thread, title: str, args) -> None:
    processes, invocations, tenants, everything = agg.group(per_thread)
    out = [f"{time.strftime('%H:%M:%S')} {title}: {len(processes)} processes, "
           f"{len(everything.threads)} threads"]
    header = (f"{'PID':>8} {'COMM':<16} {'ON-CPU ms':>10} {'RT ms':>9} {'FAIR ms':>9} {'RUNQ n':>7} "
              f"{'RUNQ avg us':>11} {'RUNQ max us':>11} {'INVOL':>7} {'VOL':>7}  LABEL")
    out.append(header)
    ranked = sorted(processes.items(), key=lambda kv: -kv[1].oncpu_ns)
    for tgid, t in ranked[:args.top]:
        avg = t.runq_ns / t.runq_count if t.runq_count else 0
        label = agg.labels.get(tgid)
        tag = f"{label.invocation_id} {label.function} tenant={label.tenant}" if label else ""
        out.append(f"{tgid:>8} {agg.process_comm(tgid)[:16]:<16} {_ms(t.oncpu_ns):>10} {_ms(t.rt_ns):>9} "
                   f"{_ms(t.oncpu_ns - t.rt_ns):>9} {t.runq_count:>7} {_us(avg):>11} "
                   f"{_us(t.runq_max_ns):>11} {t.involuntary:>7} {t.voluntary:>7}  {tag}")
    if len(ranked) > args.top:
        out.append(f"{'':>8} ... {len(ranked) - args.top} more processes (--top, or -j for all)")
    for name, groups in (("INVOCATION", invocations), ("TENANT", tenants)):
        if not groups:
            continue
        out.append("")
        out.append(f"{name:<24} {'PROCS':>5} {'ON-CPU ms':>10} {'RT ms':>9} {'FAIR ms':>9} "
                   f"{'RUNQ avg us':>11} {'RUNQ max us':>11} {'INVOL':>7}")
        for key, t in sorted(groups.items(), key=lambda kv: -kv[1].oncpu_ns):
            avg = t.runq_ns / t.runq_count if t.runq_count else 0
            procs = len({agg.tgid.get(tid, tid) for tid in t.threads})
            out.append(f"{key[:24]:<24} {procs:>5} {_ms(t.oncpu_ns):>10} {_ms(t.rt_ns):>9} "
                       f"{_ms(t.oncpu_ns - t.rt_ns):>9} {_us(avg):>11} {_us(t.runq_max_ns):>11} "
                       f"{t.involuntary:>7}")
    out.append("")
    if args.per_process_hist:
        for tgid, t in ranked[:args.top]:
            out.append(f"run-queue latency, pid {tgid} ({agg.process_comm(tgid)}):")
            out.append(histogram.render(t.runq_hist, "usecs"))
    else:
        out.append("run-queue latency, all traced threads:")
        out.append(histogram.render(everything.runq_hist, "usecs"))
    print("\n".join(out) + "\n", flush=True)


def _json(agg: Aggregator, per_thread, kind: str, span_s: float) -> dict:
    processes, invocations, tenants, everything = agg.group(per_thread)
    rows = []
    for tgid, t in sorted(processes.items(), key=lambda kv: -kv[1].oncpu_ns):
        row = {"pid": tgid, "comm": agg.process_comm(tgid), **t.as_json()}
        label = agg.labels.get(tgid)
        if label is not None:
            row.update(invocation_id=label.invocation_id, function=label.function, tenant=label.tenant)
        rows.append(row)
    return {"kind": kind, "time": time.time(), "span_s": round(span_s, 6), "processes": rows,
            "invocations": [{"invocation_id": k, **t.as_json()} for k, t in invocations.items()],
            "tenants": [{"tenant": k, **t.as_json()} for k, t in tenants.items()],
            "total": everything.as_json()}


def _pids(values) -> list[int] | None:
    if not values:
        return None
    pids = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit() or int(part) <= 0:
                raise UsageError(f"-p: not a process id: {part!r}")
            if not psutil.pid_exists(int(part)):
                raise UsageError(f"-p {part}: no such process")
            pids.append(int(part))
    return pids


def run(args) -> int:
    problem = loop.check(args.interval, args.count)
    if problem:
        raise UsageError(problem)
    if args.top <= 0:
        raise UsageError(f"--top must be >= 1 (got {args.top})")
    pids = _pids(args.pid)
    cgroup: CgroupTarget | None = None
    if args.cgroup:
        try:
            cgroup = resolve(args.cgroup)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.comm is not None and not args.comm:
        raise UsageError("--comm: empty name")
    from ebpf.sched import EVENTS, CgroupFilter, SchedTracer   # bcc itself loads only when compiling
    status = prereq.report(TOOL, EVENTS)
    if status:
        return status

    def v1_tgids() -> set[int]:
        members = v1_member_tgids(cgroup)
        return members & set(pids) if pids is not None else members

    tgids = None
    if pids is not None:
        tgids = pids
    if cgroup is not None and cgroup.version == 1:
        tgids = v1_tgids()
    bpf_cgroup = CgroupFilter(cgroup.cgroup_id, cgroup.level) if cgroup and cgroup.version == 2 else None
    try:
        tracer = SchedTracer(tgids=tgids, cgroup=bpf_cgroup, comm=args.comm)
    except RuntimeError as exc:
        print(f"{TOOL}: {exc}", file=sys.stderr)
        return 1
    agg = Aggregator()
    agg.refresh_labels()
    started = last_tick = time.monotonic()
    if not args.json:
        what = "all processes" if tgids is None and cgroup is None and args.comm is None else "selected processes"
        print(f"Tracing scheduling of {what}... "
              + ("Hit Ctrl-C to end." if args.interval is None else f"{args.interval:g} s intervals."),
              file=sys.stderr, flush=True)

    def tick() -> None:
        nonlocal last_tick
        now = time.monotonic()
        agg.refresh_labels()
        deltas = agg.interval(tracer.sample())
        if args.json:
            loop.emit_json(_json(agg, deltas, "interval", now - last_tick))
        else:
            _print_tables(agg, deltas, f"interval {now - last_tick:.2f} s", args)
        last_tick = now

    def summary() -> None:
        agg.refresh_labels()
        agg.interval(tracer.sample())
        span = time.monotonic() - started
        if args.json:
            loop.emit_json(_json(agg, agg.final, "summary", span))
        else:
            _print_tables(agg, agg.final, f"summary over {span:.2f} s", args)

    def poll() -> bool:
        agg.refresh_labels()
        if cgroup is not None and cgroup.version == 1:
            tracer.set_tgids(v1_tgids())
        return True

    try:
        loop.run(args.interval, args.count, tick, summary, poll)
    finally:
        tracer.close()
    return 0
