"""glibc mutex hold times from the lock's owner field: no probe on the lock path.

A uprobe is a trap of about 2 us; on 1-3 us critical sections three of
them per section change what is measured (the program runs about ten times
slower, preemptions land in the traps), and no single subtraction of the
probe cost holds for every thread.  This tracer never touches the lock path:

- **which locks**: a contended glibc mutex sleeps in futex(FUTEX_WAIT) on
  its lock word, so `syscalls:sys_enter_futex`/`sys_exit_futex` (filtered to
  the traced process in BPF) name the contended locks (the first MAX_LOCKS)
  and give each thread's futex sleep count and time on each.  Uncontended
  locks never show up: they cannot subvert anything.
- **who holds them**: glibc keeps the holder's tid in the mutex
  (`__data.__owner`, 8 bytes into pthread_mutex_t on x86-64 and aarch64),
  set right after the lock word is taken and cleared right before it is
  released.  BPF reads it from the traced process's own memory (the current
  task's, so only while one of its threads is current):
  * **on-CPU hold, sampled**: a perf cpu-clock event interrupts each CPU
    every SAMPLE_PERIOD_NS; a sample that finds a traced thread current
    counts for it, and as owned when it is the owner of a lock.  Its on-CPU
    hold is its exact on-CPU time (from `sched_switch`) times the fraction of
    its sampled time that was owned: with n samples the fraction's standard
    error is at most 0.5/sqrt(n) (0.16 points at 10,000 samples).
  * **off-CPU hold, exact**: at `sched_switch`, a traced thread switched out
    while it owns a lock holds it until it runs again; that stretch is added
    to its hold exactly (a preempted holder, or one sleeping on another lock).

Hold = on-CPU hold + off-CPU hold, the wall-clock interval a clock read
inside the critical section would see.  Each sample stands for the time
since its CPU's previous sample (or the thread's switch-in): on a VM,
samples come late after VM exits (the IPI of a futex wake-up, the host
running another vCPU), and counting samples instead of time under-weighted
the kernel paths of lock hand-overs by up to 10 points of share.  The
sampling costs one short BPF run per CPU per period (10 kHz per CPU by
default) on whatever runs; traced threads are slowed uniformly, which
leaves their shares unchanged.  The stretch from a CPU's last sample to a
traced thread's switch-out is credited the same way, with the state at
switch-out: without it the tails of stretches (a waiter's way into
futex_wait, never owned) went missing and the owned fraction of threads
that sleep often was over-stated.  Measured against the program's own
clock: see docs/ebpf.md, Accuracy.  Acquisition counts are not observed
(futex sleep time is the wait).  Futex words that are not glibc mutexes
(condition variables, semaphores) are never charged: their "owner" field
does not hold the reading thread's tid.
"""
from __future__ import annotations

import time

from ebpf.bpfload import compile_text
from ebpf.ulocks import LockSample, LockThreadSample, Snapshot

EVENTS = ("syscalls/sys_enter_futex", "syscalls/sys_exit_futex", "sched/sched_switch")
OWNER_OFFSET = 8            # pthread_mutex_t.__data.__owner (x86-64, aarch64 glibc)
MAX_LOCKS = 16              # contended locks followed per run (the first ones seen)
SAMPLE_PERIOD_NS = 99_991   # ~10 kHz per CPU; not a round number, so it does not beat with periodic work

_PROGRAM = r"""
#define FUTEX_CMD_MASK 0x7f     /* without FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME */
#define FUTEX_WAIT 0
#define FUTEX_WAIT_BITSET 9

struct key {
    u64 lock;
    u32 tid;
    u32 pad;
};

struct per_thread {
    u64 oncpu_samples;   /* perf samples that found it running and owning the lock */
    u64 owned_ns;        /* the time those samples stand for (see on_sample) */
    u64 offcpu_hold_ns;  /* switched out while owning it: exact */
    u64 futex_sleeps;
    u64 futex_ns;
};

struct pending {
    u64 lock;
    u64 since;
};

BPF_HASH(tgids, u32, u8, 64);
BPF_ARRAY(lock_addr, u64, MAX_LOCKS);      /* 0 = unused; filled in order, never cleared */
BPF_ARRAY(lock_free_samples, u64, MAX_LOCKS);
BPF_HASH(in_wait, u32, struct pending, 65536);
BPF_HASH(off_holding, u32, struct pending, 65536);
BPF_HASH(stats, struct key, struct per_thread, 65536);
BPF_ARRAY(totals, u64, 1);                 /* samples that found a traced thread current */
struct cpu_time {
    u64 on_since;        /* switch-in time, 0 while off-CPU */
    u64 oncpu_ns;        /* exact, from sched_switch */
    u64 samples;         /* perf samples that found it current */
    u64 sampled_ns;      /* the time they stand for */
};
BPF_HASH(cpu, u32, struct cpu_time, 65536);   /* traced threads, keyed by tid */
BPF_PERCPU_ARRAY(last_sample, u64, 1);        /* this CPU's previous sample */

static __always_inline int traced(u32 tgid)
{
    return tgids.lookup(&tgid) != 0;
}

static __always_inline struct per_thread *stats_of(u64 lock, u32 tid)
{
    struct key k = {};
    k.lock = lock;
    k.tid = tid;
    struct per_thread zero = {};
    return stats.lookup_or_try_init(&k, &zero);
}

static __always_inline void remember_lock(u64 uaddr)
{
    #pragma unroll
    for (int i = 0; i < MAX_LOCKS; i++) {
        int idx = i;
        u64 *slot = lock_addr.lookup(&idx);
        if (!slot)
            return;
        if (*slot == uaddr)
            return;
        if (*slot == 0) {
            if (__sync_val_compare_and_swap(slot, 0, uaddr) == 0)
                return;
            if (*slot == uaddr)
                return;
        }
    }
}

/* Owner tid of lock slot i as seen from the current task's memory; 0 if none. */
static __always_inline u32 owner_of(int i, u64 *lock)
{
    int idx = i;
    u64 *slot = lock_addr.lookup(&idx);
    if (!slot || *slot == 0)
        return 0;
    *lock = *slot;
    s32 owner = 0;
    if (bpf_probe_read_user(&owner, sizeof(owner), (void *)(*slot + OWNER_OFFSET)) != 0)
        return 0;
    return owner > 0 ? (u32)owner : 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_futex)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 tid = (u32)id;
    if (!traced(id >> 32))
        return 0;
    int cmd = args->op & FUTEX_CMD_MASK;
    if (cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET)
        return 0;
    remember_lock((u64)args->uaddr);
    struct pending p = {};
    p.lock = (u64)args->uaddr;
    p.since = bpf_ktime_get_ns();
    in_wait.update(&tid, &p);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_futex)
{
    u32 tid = (u32)bpf_get_current_pid_tgid();
    struct pending *p = in_wait.lookup(&tid);
    if (!p)
        return 0;
    u64 lock = p->lock, ns = bpf_ktime_get_ns() - p->since;
    in_wait.delete(&tid);
    struct per_thread *s = stats_of(lock, tid);
    if (s) {
        s->futex_sleeps++;
        s->futex_ns += ns;
    }
    return 0;
}

/* The current task is still `prev` here: its memory is the one read. */
TRACEPOINT_PROBE(sched, sched_switch)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 prev = args->prev_pid;
    u64 now = bpf_ktime_get_ns();
    if (traced(id >> 32) && (u32)id == prev) {
        struct cpu_time zero_cpu = {};
        struct cpu_time *c = cpu.lookup_or_try_init(&prev, &zero_cpu);
        /* The stretch since this CPU's last sample ends here: it is
         * credited like a sample, with the state at switch-out.  Left out,
         * the tails of stretches (a waiter's way into futex_wait, never
         * owned) would go missing from the sampled time and over-state
         * the owned fraction of threads that sleep often. */
        int zero = 0;
        u64 *last = last_sample.lookup(&zero);
        u64 span = 0;
        if (c && c->on_since) {
            u64 from = last && *last > c->on_since ? *last : c->on_since;
            span = now > from ? now - from : 0;
            c->oncpu_ns += now - c->on_since;
            c->sampled_ns += span;
            c->on_since = 0;
        }
        if (last)
            *last = now;
        #pragma unroll
        for (int i = 0; i < MAX_LOCKS; i++) {
            u64 lock = 0;
            if (owner_of(i, &lock) == prev) {
                struct per_thread *s = stats_of(lock, prev);
                if (s)
                    s->owned_ns += span;
                struct pending p = {};
                p.lock = lock;
                p.since = now;
                off_holding.update(&prev, &p);
                break;   /* nested holds: the first lock in slot order is charged */
            }
        }
    }
    u32 next = args->next_pid;
    struct cpu_time *nc = cpu.lookup(&next);   /* known once seen switched out or sampled */
    if (nc)
        nc->on_since = now;
    struct pending *p = off_holding.lookup(&next);
    if (p) {
        u64 lock = p->lock, ns = bpf_ktime_get_ns() - p->since;
        off_holding.delete(&next);
        struct per_thread *s = stats_of(lock, next);
        if (s)
            s->offcpu_hold_ns += ns;
    }
    return 0;
}

/* A sample stands for the time since this CPU's previous sample or the
 * thread's switch-in, whichever is later: the period normally, more when
 * the sample comes late.  Samples do come late after stretches the guest
 * cannot interrupt (a VM exit, e.g. the IPI of a futex wake-up, or the
 * host running another vCPU); the state did not change meanwhile, so the
 * late sample's state is the stretch's.  Counting samples instead would
 * under-weight exactly the kernel paths of lock hand-overs. */
int on_sample(struct bpf_perf_event_data *ctx)
{
    u64 now = bpf_ktime_get_ns();
    int zero = 0;
    u64 *last = last_sample.lookup(&zero);
    u64 prev = 0;
    if (last) {
        prev = *last;
        *last = now;
    }
    u64 id = bpf_get_current_pid_tgid();
    if (!traced(id >> 32))
        return 0;
    u32 tid = (u32)id;
    totals.increment(zero);
    struct cpu_time zero_cpu = {};
    struct cpu_time *c = cpu.lookup_or_try_init(&tid, &zero_cpu);
    if (!c)
        return 0;
    if (c->on_since == 0) {
        /* running since before it was known (tracing began, or a new
         * thread): its on-CPU time counts from now, and so do its samples */
        c->on_since = now;
        return 0;
    }
    u64 from = prev > c->on_since ? prev : c->on_since;
    u64 span = now > from ? now - from : 0;
    c->samples++;
    c->sampled_ns += span;
    #pragma unroll
    for (int i = 0; i < MAX_LOCKS; i++) {
        u64 lock = 0;
        u32 owner = owner_of(i, &lock);
        if (!lock)
            break;
        if (owner == tid) {
            struct per_thread *s = stats_of(lock, tid);
            if (s) {
                s->oncpu_samples++;
                s->owned_ns += span;
            }
        } else if (owner == 0) {
            int idx = i;
            lock_free_samples.increment(idx);
        }
    }
    return 0;
}
"""


class OwnerSampler:
    """Hold times of the contended glibc mutexes of process `pid`; sample() -> Snapshot."""

    attached = ("sys_enter_futex", "sys_exit_futex", "sched_switch", "cpu-clock sampling")
    overhead_ns = 0

    def __init__(self, pid: int, period_ns: int = SAMPLE_PERIOD_NS):
        from bcc import PerfSWConfig, PerfType
        if not 10_000 <= period_ns <= 100_000_000:
            raise ValueError(f"sampling period must be between 10 us and 100 ms (got {period_ns} ns)")
        self.pid, self.period_ns = pid, period_ns
        self.source = "glibc pthread_mutex_t owner field"
        self.bpf = compile_text(_PROGRAM, [f"-DMAX_LOCKS={MAX_LOCKS}", f"-DOWNER_OFFSET={OWNER_OFFSET}"])
        try:
            tgids = self.bpf["tgids"]
            tgids[tgids.Key(pid)] = tgids.Leaf(1)
            self.bpf.attach_perf_event(ev_type=PerfType.SOFTWARE, ev_config=PerfSWConfig.CPU_CLOCK,
                                       fn_name="on_sample", sample_period=period_ns, cpu=-1)
        except Exception as exc:
            self.bpf.cleanup()
            raise RuntimeError(f"cannot attach the cpu-clock sampler: {exc}") from exc

    def sample(self) -> Snapshot:
        snap = Snapshot()
        locks = [v.value for _k, v in sorted(self.bpf["lock_addr"].items(), key=lambda kv: kv[0].value)]
        free = [v.value for _k, v in sorted(self.bpf["lock_free_samples"].items(), key=lambda kv: kv[0].value)]
        followed = {lock: free[i] for i, lock in enumerate(locks) if lock}
        charged = set()
        now = time.monotonic_ns()   # bpf_ktime_get_ns() is CLOCK_MONOTONIC
        cpu = {k.value: v for k, v in self.bpf["cpu"].items()}
        for k, v in self.bpf["stats"].items():
            if k.lock not in followed:
                continue
            c = cpu.get(k.tid)
            # ratio estimator: exact on-CPU time x the fraction of its sampled
            # time that found it owning the lock (the timer's real rate drops out);
            # a thread running right now has its current stretch added
            running = max(0, now - c.on_since) if c and c.on_since else 0
            oncpu = (c.oncpu_ns + running) * v.owned_ns / c.sampled_ns if c and c.sampled_ns else 0
            hold = round(oncpu) + v.offcpu_hold_ns
            snap.threads[(k.lock, k.tid)] = LockThreadSample(
                k.lock, k.tid, self.pid, 0, 0, hold, v.futex_ns, 0, 0, 0, 0, samples=v.oncpu_samples)
            if hold:
                charged.add(k.lock)
        for lock in charged:   # a futex word nobody was ever seen owning is not a mutex
            # free time is sampled from traced threads' CPUs only: a lower bound
            snap.locks[lock] = LockSample(lock, followed[lock] * self.period_ns, 0)
        snap.threads = {key: t for key, t in snap.threads.items() if t.lock in charged}
        return snap

    def total_samples(self) -> int:
        return self.bpf["totals"][0].value

    def close(self) -> None:
        self.bpf.cleanup()
