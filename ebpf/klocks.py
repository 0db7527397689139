"""Kernel lock contention per task, from lock:contention_begin/end.

The kernel emits contention_begin when a task starts waiting for a kernel
lock (mutex, rwsem, spinlock slow path, ...) and contention_end when it
stops.  Kept in BPF per thread: count, total and max wait, a log2
histogram (usecs), the last contended lock address and its flags, and the
total wait on each lock it waited for (which locks a thread shares with
others: its last lock alone says only where its most recent wait was); and
per lock address: count, total and max wait, flags seen.

A task may report several begins for one wait (a mutex spins, then
sleeps): the first begin for a (task, lock) pair starts the clock and the
end stops it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ebpf.bpfload import compile_text

EVENTS = ("lock/contention_begin", "lock/contention_end")
FLAG_NAMES = ((1 << 0, "SPIN"), (1 << 1, "READ"), (1 << 2, "WRITE"), (1 << 3, "RT"),
              (1 << 4, "PERCPU"), (1 << 5, "MUTEX"))

_PROGRAM = r"""
struct wait_key {
    u64 lock;
    u32 tid;
    u32 pad;
};

struct wait_start {
    u64 since;
    u32 flags;
};

struct task_wait {
    u64 count;
    u64 total_ns;
    u64 max_ns;
    u64 last_lock;
    u32 last_flags;
    u32 tgid;
    char comm[16];
};

struct lock_wait {
    u64 count;
    u64 total_ns;
    u64 max_ns;
    u32 flags;
    u32 pad;
};

struct hist_key {
    u32 tid;
    u32 slot;
};

BPF_HASH(waiting, struct wait_key, struct wait_start, 65536);
BPF_HASH(tasks, u32, struct task_wait, 32768);
BPF_HASH(lock_table, u64, struct lock_wait, 32768);
BPF_HASH(wait_hist, struct hist_key, u64, 65536);
BPF_HASH(task_lock_ns, struct wait_key, u64, 65536);   /* (lock, tid) -> total wait */
BPF_HASH(filter_tgids, u32, u8, 4096);

TRACEPOINT_PROBE(lock, contention_begin)
{
    u64 id = bpf_get_current_pid_tgid();
#ifdef FILTER_TGIDS
    u32 tgid = id >> 32;
    if (!filter_tgids.lookup(&tgid))
        return 0;
#endif
    struct wait_key key = {};
    key.lock = (u64)args->lock_addr;
    key.tid = (u32)id;
    struct wait_start start = {};
    start.since = bpf_ktime_get_ns();
    start.flags = args->flags;
    waiting.insert(&key, &start);   /* keeps the first begin of a wait */
    return 0;
}

TRACEPOINT_PROBE(lock, contention_end)
{
    u64 id = bpf_get_current_pid_tgid();
    struct wait_key key = {};
    key.lock = (u64)args->lock_addr;
    key.tid = (u32)id;
    struct wait_start *start = waiting.lookup(&key);
    if (!start)
        return 0;
    u64 delta = bpf_ktime_get_ns() - start->since;
    u32 flags = start->flags;
    waiting.delete(&key);

    struct task_wait *t = tasks.lookup(&key.tid);
    if (!t) {
        struct task_wait zero = {};
        zero.tgid = id >> 32;
        bpf_get_current_comm(&zero.comm, sizeof(zero.comm));
        tasks.insert(&key.tid, &zero);
        t = tasks.lookup(&key.tid);
    }
    if (t) {
        t->count++;
        t->total_ns += delta;
        if (delta > t->max_ns)
            t->max_ns = delta;
        t->last_lock = key.lock;
        t->last_flags = flags;
    }
    struct lock_wait *l = lock_table.lookup(&key.lock);
    if (!l) {
        struct lock_wait zero = {};
        lock_table.insert(&key.lock, &zero);
        l = lock_table.lookup(&key.lock);
    }
    if (l) {
        l->count++;
        l->total_ns += delta;
        if (delta > l->max_ns)
            l->max_ns = delta;
        l->flags |= flags;
    }
    u64 *per_lock = task_lock_ns.lookup_or_try_init(&key, &(u64){0});
    if (per_lock)
        __sync_fetch_and_add(per_lock, delta);
    struct hist_key hk = {};
    hk.tid = key.tid;
    hk.slot = bpf_log2l(delta / 1000);
    wait_hist.increment(hk);
    return 0;
}
"""


def flag_names(flags: int) -> str:
    names = [name for bit, name in FLAG_NAMES if flags & bit]
    return "|".join(names) if names else "-"


@dataclass
class TaskWait:
    tid: int
    tgid: int
    comm: str
    count: int
    total_ns: int
    max_ns: int
    last_lock: int
    last_flags: int
    hist: dict = field(default_factory=dict)
    locks: dict = field(default_factory=dict)    # lock address -> total wait (ns)


@dataclass
class LockWait:
    lock: int
    count: int
    total_ns: int
    max_ns: int
    flags: int


class KernelLockTracer:
    def __init__(self, tgids=None):
        cflags = ["-DFILTER_TGIDS=1"] if tgids is not None else []
        self.bpf = compile_text(_PROGRAM, cflags)
        if tgids is not None:
            table = self.bpf["filter_tgids"]
            for tgid in tgids:
                table[table.Key(int(tgid))] = table.Leaf(1)

    def sample(self) -> tuple[dict[int, TaskWait], dict[int, LockWait]]:
        tasks = {}
        for key, t in self.bpf["tasks"].items():
            tasks[key.value] = TaskWait(key.value, t.tgid, t.comm.decode(errors="replace"), t.count,
                                        t.total_ns, t.max_ns, t.last_lock, t.last_flags)
        for key, count in self.bpf["wait_hist"].items():
            if key.tid in tasks:
                tasks[key.tid].hist[key.slot] = count.value
        for key, total in self.bpf["task_lock_ns"].items():
            if key.tid in tasks:
                tasks[key.tid].locks[key.lock] = total.value
        locks = {key.value: LockWait(key.value, l.count, l.total_ns, l.max_ns, l.flags)
                 for key, l in self.bpf["lock_table"].items()}
        return tasks, locks

    def close(self) -> None:
        self.bpf.cleanup()
