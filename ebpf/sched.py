"""Kernel-side view of scheduling, per thread, from sched tracepoints.

Attached to sched:sched_switch, sched_wakeup, sched_wakeup_new,
sched_process_exit and the sched_setscheduler/sched_setattr syscalls, the
BPF program keeps, per thread (tid), cumulative:

- on-CPU time, split into time under an RT policy (prio < 100 at switch-in,
  i.e. SCHED_FIFO/RR or a PI boost) and under the fair class;
- run-queue latency (wakeup, or preemption, to switch-in): sum, count, max
  and a log2 histogram in microseconds;
- involuntary switches (switched out still runnable: preempted, or yielded,
  as the kernel's nonvoluntary_ctxt_switches counts them) and voluntary ones.

Per-event work is a few hash-map operations; user space reads cumulative
counters and takes differences, so nothing is streamed per event.

Filters (process ids, a cgroup-v2 subtree, a comm) are evaluated in BPF
when a thread is switched out, the one moment its identity is "current"
without reading kernel structs.  A thread's verdict is cached so events of
filtered-out threads cost a single lookup.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from ebpf.bpfload import compile_text

EVENTS = ("sched/sched_switch", "sched/sched_wakeup", "sched/sched_wakeup_new",
          "sched/sched_process_exit")
MAX_TASKS = 32768

_PROGRAM = r"""
#include <uapi/linux/ptrace.h>

/* prev_state bits below TASK_REPORT_MAX (0x100): 0 means still runnable
 * (preempted: the kernel reports TASK_REPORT_MAX; or yielded: 0).  X/Z set
 * means the thread is dying. */
#define STATE_MASK 0xff
#define STATE_DYING 0x30
#define VERDICT_TRACED 1
#define VERDICT_SKIPPED 2

struct task_stats {
    u64 oncpu_ns;
    u64 rt_ns;
    u64 runq_ns;
    u64 runq_count;
    u64 runq_max_ns;
    u64 involuntary;
    u64 voluntary;
    u32 tgid;
    u32 verdict;
    u32 exited;
    char comm[16];
};

struct running {
    u64 since;
    u32 rt;
};

struct hist_key {
    u32 tid;
    u32 slot;
};

BPF_HASH(stats, u32, struct task_stats, MAX_TASKS);
BPF_HASH(oncpu_since, u32, struct running, MAX_TASKS);
BPF_HASH(queued_since, u32, u64, MAX_TASKS);
BPF_HASH(runq_hist, struct hist_key, u64, MAX_TASKS * 4);
BPF_HASH(filter_tgids, u32, u8, 65536);
/* max run-queue latency since user space last read (and deleted) the row */
BPF_HASH(runq_max_window, u32, u64, MAX_TASKS);

static __always_inline int comm_matches(const char *comm)
{
#ifdef FILTER_COMM
    const char want[16] = FILTER_COMM;
#pragma unroll
    for (int i = 0; i < 16; i++) {
        if (comm[i] != want[i])
            return 0;
        if (want[i] == 0)
            break;
    }
#endif
    return 1;
}

/* Only valid while the thread is current (at its switch-out). */
static __always_inline int current_passes(u32 tgid, const char *comm)
{
#ifdef FILTER_TGIDS
    if (!filter_tgids.lookup(&tgid))
        return 0;
#endif
#ifdef FILTER_CGROUP_ID
    if (bpf_get_current_ancestor_cgroup_id(FILTER_CGROUP_LEVEL) != FILTER_CGROUP_ID)
        return 0;
#endif
    return comm_matches(comm);
}

static __always_inline struct task_stats *stats_of(u32 tid)
{
    struct task_stats *s = stats.lookup(&tid);
    if (s)
        return s;
    struct task_stats zero = {};
    stats.insert(&tid, &zero);
    return stats.lookup(&tid);
}

TRACEPOINT_PROBE(sched, sched_switch)
{
    u64 now = bpf_ktime_get_ns();
    u32 prev = args->prev_pid;
    u32 next = args->next_pid;

    if (prev != 0) {
        u32 tgid = bpf_get_current_pid_tgid() >> 32;
        char comm[16] = {};
        bpf_get_current_comm(&comm, sizeof(comm));
        long state = args->prev_state;
        int dying = (state & STATE_DYING) != 0;
        struct task_stats *s = stats.lookup(&prev);
        if (current_passes(tgid, comm)) {
            if (!s)
                s = stats_of(prev);
            if (s) {
                if (dying)
                    s->exited = 1;
                s->tgid = tgid;
                s->verdict = VERDICT_TRACED;
                __builtin_memcpy(s->comm, comm, sizeof(comm));
                struct running *r = oncpu_since.lookup(&prev);
                if (r) {
                    u64 delta = now - r->since;
                    s->oncpu_ns += delta;
                    if (r->rt)
                        s->rt_ns += delta;
                }
                if ((state & STATE_MASK) == 0) {
                    s->involuntary++;
                    queued_since.update(&prev, &now);
                } else {
                    s->voluntary++;
                    queued_since.delete(&prev);
                }
            }
        } else if (s) {
            s->verdict = VERDICT_SKIPPED;
            s->tgid = tgid;   /* set_tgids() finds it by process when it becomes traced */
            queued_since.delete(&prev);
            if (dying)
                stats.delete(&prev);
        } else if (!dying) {
            struct task_stats skipped = {};
            skipped.verdict = VERDICT_SKIPPED;
            skipped.tgid = tgid;
            stats.update(&prev, &skipped);
            queued_since.delete(&prev);
        }
        oncpu_since.delete(&prev);
        if (dying)
            queued_since.delete(&prev);
    }

    if (next != 0) {
        struct task_stats *n = stats.lookup(&next);
        if (n && n->verdict == VERDICT_SKIPPED) {
            queued_since.delete(&next);
            return 0;
        }
        struct running r = {};
        r.since = now;
        r.rt = args->next_prio < 100;
        oncpu_since.update(&next, &r);
        u64 *queued = queued_since.lookup(&next);
        if (queued) {
            u64 delta = now - *queued;
            queued_since.delete(&next);
            if (!n)
                n = stats_of(next);
            if (n) {
                n->runq_ns += delta;
                n->runq_count++;
                if (delta > n->runq_max_ns)
                    n->runq_max_ns = delta;
            }
            u64 *window = runq_max_window.lookup(&next);
            if (!window)
                runq_max_window.update(&next, &delta);
            else if (delta > *window)
                *window = delta;
            struct hist_key key = {};
            key.tid = next;
            key.slot = bpf_log2l(delta / 1000);
            runq_hist.increment(key);
        }
    }
    return 0;
}

static __always_inline int queue(u32 tid)
{
    struct task_stats *s = stats.lookup(&tid);
    if (s && s->verdict == VERDICT_SKIPPED)
        return 0;
    u64 now = bpf_ktime_get_ns();
    queued_since.update(&tid, &now);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_wakeup) { return queue(args->pid); }
TRACEPOINT_PROBE(sched, sched_wakeup_new) { return queue(args->pid); }

TRACEPOINT_PROBE(sched, sched_process_exit)
{
    u32 tid = args->pid;
    struct task_stats *s = stats.lookup(&tid);
    if (s) {
        /* unclassified threads get their verdict at the final switch-out */
        if (s->verdict == VERDICT_SKIPPED)
            stats.delete(&tid);
        else
            s->exited = 1;
    }
    queued_since.delete(&tid);
    return 0;
}

/* A policy change of a running thread splits its current stretch on the CPU
 * so that RT and fair time stay apart (SFS demotes running invocations). */
static __always_inline int policy_change(u32 tid, int policy)
{
    if (tid == 0)
        tid = (u32)bpf_get_current_pid_tgid();
    struct running *r = oncpu_since.lookup(&tid);
    if (!r)
        return 0;   /* not on a CPU: its next switch-in reads the new prio */
    struct task_stats *s = stats.lookup(&tid);
    if (s && s->verdict == VERDICT_SKIPPED)
        return 0;
    if (!s)
        s = stats_of(tid);
    if (!s)
        return 0;
    u64 now = bpf_ktime_get_ns();
    u64 delta = now - r->since;
    s->oncpu_ns += delta;
    if (r->rt)
        s->rt_ns += delta;
    policy &= ~0x40000000;   /* SCHED_RESET_ON_FORK */
    r->since = now;
    r->rt = policy == 1 || policy == 2;   /* SCHED_FIFO, SCHED_RR */
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_sched_setscheduler)
{
    return policy_change((u32)args->pid, (int)args->policy);
}

TRACEPOINT_PROBE(syscalls, sys_enter_sched_setattr)
{
    u32 policy = 0;
    /* struct sched_attr { u32 size; u32 sched_policy; ... } (uapi, stable) */
    bpf_probe_read_user(&policy, sizeof(policy), (char *)args->uattr + 4);
    return policy_change((u32)args->pid, (int)policy);
}
"""


@dataclass
class ThreadSample:
    """Cumulative counters of one thread since tracing began."""
    tid: int
    tgid: int
    comm: str
    oncpu_ns: int = 0
    rt_ns: int = 0
    runq_ns: int = 0
    runq_count: int = 0
    runq_max_ns: int = 0
    runq_max_window_ns: int = 0     # max since the previous sample()
    involuntary: int = 0
    voluntary: int = 0
    exited: bool = False
    runq_hist: dict = field(default_factory=dict)   # log2 slot of usecs -> count

    @property
    def fair_ns(self) -> int:
        return self.oncpu_ns - self.rt_ns


@dataclass
class CgroupFilter:
    """A cgroup-v2 subtree: its id (inode) and depth below the v2 root."""
    cgroup_id: int
    level: int


class SchedTracer:
    """Load the BPF program; `sample()` returns cumulative per-thread counters.

    Threads that exited are returned one last time (exited=True) and then
    forgotten by the kernel side; the caller keeps their totals.
    """

    def __init__(self, tgids=None, cgroup: CgroupFilter | None = None, comm: str | None = None):
        cflags = [f"-DMAX_TASKS={MAX_TASKS}"]
        if tgids is not None:
            cflags.append("-DFILTER_TGIDS=1")
        if cgroup is not None:
            cflags += [f"-DFILTER_CGROUP_ID={cgroup.cgroup_id}ULL", f"-DFILTER_CGROUP_LEVEL={cgroup.level}"]
        if comm is not None:
            raw = comm.encode()[:15]
            cflags.append('-DFILTER_COMM={' + ",".join(str(b) for b in raw) + ",0}")
        self.bpf = compile_text(_PROGRAM, cflags)
        self.started = time.monotonic()
        self._tgids: set[int] | None = None
        self._comm = comm.encode()[:15].decode(errors="replace") if comm is not None else None
        self._cgroup = cgroup
        if tgids is not None:
            self.set_tgids(tgids)

    def set_tgids(self, tgids) -> None:
        """Replace the set of traced processes (only with a tgid filter)."""
        table = self.bpf["filter_tgids"]
        wanted = {int(t) for t in tgids}
        self._tgids = wanted
        present = {k.value for k in table.keys()}
        for tgid in present - wanted:
            del table[table.Key(tgid)]
        for tgid in wanted - present:
            table[table.Key(tgid)] = table.Leaf(1)
        # Threads of newly traced processes were cached as filtered out; drop
        # that verdict so their very next switch-in is timed.
        added = wanted - present
        if added:
            stats = self.bpf["stats"]
            dropped = set()
            for key, s in list(stats.items()):
                if s.verdict == 2 and s.tgid in added:
                    dropped.add(key.value)
                    try:
                        del stats[key]
                    except KeyError:
                        pass
            # and what they left from before they were filtered out
            hist = self.bpf["runq_hist"]
            for key in [k for k in hist.keys() if k.tid in dropped]:
                try:
                    del hist[key]
                except KeyError:
                    pass
            window = self.bpf["runq_max_window"]
            for key in [k for k in window.keys() if k.value in dropped]:
                try:
                    del window[key]
                except KeyError:
                    pass

    def sample(self) -> dict[int, ThreadSample]:
        stats = self.bpf["stats"]
        threads: dict[int, ThreadSample] = {}
        gone = []
        unclassified = set()
        for key, s in stats.items():
            if s.verdict != 1:
                if s.verdict == 0:
                    unclassified.add(key.value)
                continue
            tid = key.value
            threads[tid] = ThreadSample(
                tid=tid, tgid=s.tgid, comm=s.comm.decode(errors="replace"),
                oncpu_ns=s.oncpu_ns, rt_ns=s.rt_ns, runq_ns=s.runq_ns, runq_count=s.runq_count,
                runq_max_ns=s.runq_max_ns, involuntary=s.involuntary, voluntary=s.voluntary,
                exited=bool(s.exited))
            if s.exited:
                gone.append(key)
        window = self.bpf["runq_max_window"]
        for key, value in window.items():
            thread = threads.get(key.value)
            if thread is not None:
                thread.runq_max_window_ns = value.value
            if thread is not None or key.value not in unclassified:
                try:
                    del window[key]
                except KeyError:
                    pass
        hist = self.bpf["runq_hist"]
        stale = []
        for key, count in hist.items():
            thread = threads.get(key.tid)
            if thread is None:
                # rows of threads not yet classified wait; the rest are orphans
                if key.tid not in unclassified:
                    stale.append(key)
                continue
            thread.runq_hist[key.slot] = count.value
            if thread.exited:
                stale.append(key)
        for key in stale:
            try:
                del hist[key]
            except KeyError:
                pass
        for key in gone:
            try:
                del stats[key]
            except KeyError:
                pass
        self._add_running_stretches(threads, unclassified)
        return threads

    def _add_running_stretches(self, threads: dict[int, ThreadSample], unclassified: set[int]) -> None:
        """Count the time threads have been on a CPU since their last switch-in.

        The kernel side adds a stretch only when the thread is switched out,
        and a thread that has a core to itself may not be for seconds.
        The map is only read here, so the stretch is counted once, in full,
        at its eventual switch-out; these cumulative samples stay monotonic.
        bpf_ktime_get_ns() is CLOCK_MONOTONIC.
        """
        now = time.monotonic_ns()
        for key, running in self.bpf["oncpu_since"].items():
            tid = key.value
            thread = threads.get(tid)
            if thread is None and tid in unclassified:
                # Never switched out yet, so BPF has not applied the filters.
                thread = self._classify(tid)
                if thread is not None:
                    threads[tid] = thread
            if thread is None or thread.exited or now <= running.since:
                continue
            thread.oncpu_ns += now - running.since
            if running.rt:
                thread.rt_ns += now - running.since

    def _classify(self, tid: int) -> ThreadSample | None:
        """Apply the process and comm filters from /proc (cgroup-filtered runs wait for BPF)."""
        if self._cgroup is not None:
            return None
        try:
            with open(f"/proc/{tid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            tgid, comm = int(fields["Tgid"]), fields["Name"].strip()
        except (OSError, KeyError, ValueError):
            return None
        if self._tgids is not None and tgid not in self._tgids:
            return None
        if self._comm is not None and comm != self._comm:
            return None
        return ThreadSample(tid=tid, tgid=tgid, comm=comm)

    def close(self) -> None:
        self.bpf.cleanup()

