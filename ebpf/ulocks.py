"""User-space lock tracing with uprobes: who held which lock, for how long.

Probes, for one library (glibc's pthread mutex, or the kit's libscl.so):
lock entry and return (the wait; the acquisition happens at return),
unlock entry (the end of the hold), trylock/timed-lock returns, and, for
libscl, the `scl_trace_slice_handover(lock, from_tid, to_tid)` hook.

Kept in BPF per (lock address, thread): acquisitions, hold and wait sums,
log2 histograms of hold and wait; per lock: time it was free outside any
slice, and per thread time it was free inside that thread's own slice.
Lock opportunity (the SCL paper's measure) is then, per thread and lock,

    hold + free time inside its own slice + free time outside any slice

which for a plain mutex (no slices) is hold + the time the lock was free.
Events of one lock are serialised by the lock itself (unlock-entry of the
owner precedes the next owner's lock-return), so the per-lock state needs
no extra locking.

Probe cost: each uprobe is a trap into the kernel (order of a microsecond),
three per critical section.  Every measured hold (lock-return probe to
unlock-entry probe) contains a fixed part of that cost, which would skew
shares toward threads with many short sections.  `calibrate()` measures it
on 1 us critical sections in a helper process, and the reports subtract
it once per acquisition (see docs/ebpf.md, Accuracy).
"""
from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass, field

from ebpf.bpfload import compile_text

LIBC = "c"
GLIBC_SYMBOLS = {"lock": "pthread_mutex_lock", "unlock": "pthread_mutex_unlock",
                 "trylock": "pthread_mutex_trylock", "timedlock": "pthread_mutex_timedlock",
                 "clocklock": "pthread_mutex_clocklock"}
SCL_SYMBOLS = {"lock": "scl_mutex_lock", "unlock": "scl_mutex_unlock", "trylock": "scl_mutex_trylock",
               "timedlock": "scl_mutex_timedlock", "clocklock": "scl_mutex_clocklock",
               "handover": "scl_trace_slice_handover"}
EOWNERDEAD = 130
CALIB_BIN_NS = 25
CALIB_BINS = 1024
CALIB_CS_NS = 0      # the helper's critical section: empty, so its own clock (which counts
                     # preemptions the traced mean leaves out) adds next to nothing; with
                     # 1 us sections preempted holds pulled the figure down to 636-913 ns

_PROGRAM = r"""
#include <uapi/linux/ptrace.h>

struct tl_key {
    u64 lock;
    u32 tid;
    u32 pad;
};

struct tl_stats {
    u64 probe_preempt_ns;
    u64 acquisitions;
    u64 failures;
    u64 hold_ns;
    u64 wait_ns;
    u64 wait_max_ns;
    u64 hold_max_ns;
    u64 own_slice_free_ns;
    u64 slices;
    u32 tgid;
    u32 pad;
};

struct lock_state {
    u64 last_ts;
    u64 free_ns;
    u64 handovers;
    u32 holder;
    u32 slice_owner;
};

struct pending {
    u64 lock;
    u64 since;
};

struct hist_key {
    u32 tid;
    u32 slot;
};

/* A hold that has not yet run a user instruction: the thread is still on
 * the uretprobe's way back to the caller (ret_ip = where it resumes). */
struct fresh {
    u64 lock;
    u64 ret_ip;
    u64 off_since;
};

BPF_HASH(in_lock, u32, struct pending, 65536);
BPF_HASH(holding, struct tl_key, u64, 65536);
BPF_HASH(stats, struct tl_key, struct tl_stats, 65536);
BPF_HASH(locks, u64, struct lock_state, 16384);
BPF_HASH(hold_hist, struct hist_key, u64, 65536);
BPF_HASH(wait_hist, struct hist_key, u64, 65536);
BPF_HASH(fresh_holds, u32, struct fresh, 65536);
/* Calibration: holds of process calib[0] in CALIB_BIN_NS bins (last = overflow). */
BPF_ARRAY(calib_tgid, u32, 1);
BPF_ARRAY(calib_hist, u64, CALIB_BINS);

static __always_inline struct tl_stats *stats_of(u64 lock, u32 tid, u32 tgid)
{
    struct tl_key key = {};
    key.lock = lock;
    key.tid = tid;
    struct tl_stats *s = stats.lookup(&key);
    if (s)
        return s;
    struct tl_stats zero = {};
    zero.tgid = tgid;
    stats.insert(&key, &zero);
    return stats.lookup(&key);
}

/* Integrate the lock's state up to `now`: free time outside slices goes to
 * the lock, free time inside a slice to the slice owner. */
static __always_inline struct lock_state *advance(u64 lock, u64 now, u32 tgid)
{
    struct lock_state *st = locks.lookup(&lock);
    if (!st) {
        struct lock_state fresh = {};
        fresh.last_ts = now;
        locks.insert(&lock, &fresh);
        return locks.lookup(&lock);
    }
    u64 elapsed = now > st->last_ts ? now - st->last_ts : 0;
    if (st->holder == 0) {
        if (st->slice_owner == 0) {
            st->free_ns += elapsed;
        } else {
            struct tl_stats *owner = stats_of(lock, st->slice_owner, tgid);
            if (owner)
                owner->own_slice_free_ns += elapsed;
        }
    }
    st->last_ts = now;
    return st;
}

/* Only the target and the calibration helper count (a guard: probes are
 * attached per process anyway). */
BPF_HASH(allowed_tgids, u32, u8, 64);

static __always_inline int foreign(void)
{
#ifdef FILTER_TGIDS
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    return allowed_tgids.lookup(&tgid) == 0;
#else
    return 0;
#endif
}

int lock_enter(struct pt_regs *ctx)
{
    if (foreign())
        return 0;
    u32 tid = (u32)bpf_get_current_pid_tgid();
    struct pending p = {};
    p.lock = (u64)PT_REGS_PARM1(ctx);
    p.since = bpf_ktime_get_ns();
    in_lock.update(&tid, &p);
    return 0;
}

int lock_return(struct pt_regs *ctx)
{
    u64 now = bpf_ktime_get_ns();
    u64 id = bpf_get_current_pid_tgid();
    u32 tid = (u32)id, tgid = id >> 32;
    struct pending *p = in_lock.lookup(&tid);
    if (!p)
        return 0;
    u64 lock = p->lock, wait = now - p->since;
    in_lock.delete(&tid);
    int ret = (int)PT_REGS_RC(ctx);
    struct tl_stats *s = stats_of(lock, tid, tgid);
    if (!s)
        return 0;
    if (ret != 0 && ret != EOWNERDEAD) {
        s->failures++;
        return 0;
    }
    s->acquisitions++;
    s->wait_ns += wait;
    if (wait > s->wait_max_ns)
        s->wait_max_ns = wait;
    struct hist_key hk = {};
    hk.tid = tid;
    hk.slot = bpf_log2l(wait);
    wait_hist.increment(hk);
    struct tl_key key = {};
    key.lock = lock;
    key.tid = tid;
    holding.update(&key, &now);
    struct fresh f = {};
    f.lock = lock;
    f.ret_ip = PT_REGS_IP(ctx);
    fresh_holds.update(&tid, &f);
    struct lock_state *st = advance(lock, now, tgid);
    if (st)
        st->holder = tid;
    return 0;
}

int unlock_enter(struct pt_regs *ctx)
{
    if (foreign())
        return 0;
    u64 now = bpf_ktime_get_ns();
    u64 id = bpf_get_current_pid_tgid();
    u32 tid = (u32)id, tgid = id >> 32;
    struct tl_key key = {};
    key.lock = (u64)PT_REGS_PARM1(ctx);
    key.tid = tid;
    u64 *since = holding.lookup(&key);
    if (!since)
        return 0;   /* acquired before tracing began, or inside the library */
    u64 hold = now - *since;
    holding.delete(&key);
    fresh_holds.delete(&tid);
    struct tl_stats *s = stats_of(key.lock, tid, tgid);
    if (s) {
        s->hold_ns += hold;
        if (hold > s->hold_max_ns)
            s->hold_max_ns = hold;
    }
    struct hist_key hk = {};
    hk.tid = tid;
    hk.slot = bpf_log2l(hold);
    hold_hist.increment(hk);
    int zero = 0;
    u32 *calib = calib_tgid.lookup(&zero);
    if (calib && *calib == tgid) {
        int bin = hold / CALIB_BIN_NS;
        if (bin >= CALIB_BINS)
            bin = CALIB_BINS - 1;
        calib_hist.increment(bin);
    }
    struct lock_state *st = advance(key.lock, now, tgid);
    if (st)
        st->holder = 0;
    return 0;
}

/* The return from a uretprobe is a preemption point: a thread preempted
 * there holds the lock off-CPU before its critical section starts, time no
 * uninstrumented run would have in that place (its preemption would land
 * anywhere).  Such stretches are cut out of the hold: a switch-out whose
 * user IP is still the return address starts one, the switch-in ends it
 * and moves the hold's start forward. */
#define XOL_HI 0x7ffffffff000ULL            /* x86-64 TASK_SIZE */
#define XOL_LO (XOL_HI - 4096 * 4)
TRACEPOINT_PROBE(sched, sched_switch)
{
    u32 prev = args->prev_pid;
    struct fresh *f = fresh_holds.lookup(&prev);
    if (f && f->ret_ip) {
        u64 ips[1] = {};
        long got = bpf_get_stack(args, ips, sizeof(ips), BPF_F_USER_STACK);
        /* still in the uretprobe trampoline (the [uprobes] page at the top
         * of the address space), or back at the return address */
        if (got > 0 && (ips[0] == f->ret_ip || (ips[0] >= XOL_LO && ips[0] < XOL_HI)))
            f->off_since = bpf_ktime_get_ns();
        else
            f->ret_ip = 0;   /* ran user code since: later preemptions are the program's own */
    }
    u32 next = args->next_pid;
    f = fresh_holds.lookup(&next);
    if (f && f->off_since) {
        u64 off = bpf_ktime_get_ns() - f->off_since;
        f->off_since = 0;
        struct tl_key key = {};
        key.lock = f->lock;
        key.tid = next;
        u64 *since = holding.lookup(&key);
        if (since)
            *since += off;
        struct tl_stats *s = stats.lookup(&key);
        if (s)
            s->probe_preempt_ns += off;
    }
    return 0;
}

/* scl_trace_slice_handover(const void *lock, pid_t from_tid, pid_t to_tid) */
int slice_handover(struct pt_regs *ctx)
{
    if (foreign())
        return 0;
    u64 now = bpf_ktime_get_ns();
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    u64 lock = (u64)PT_REGS_PARM1(ctx);
    u32 to = (u32)PT_REGS_PARM3(ctx);
    struct lock_state *st = advance(lock, now, tgid);
    if (!st)
        return 0;
    st->slice_owner = to;
    st->handovers++;
    if (to != 0) {
        struct tl_stats *s = stats_of(lock, to, tgid);
        if (s)
            s->slices++;
    }
    return 0;
}
"""


@dataclass
class LockThreadSample:
    """Cumulative counters of one thread on one lock."""
    lock: int
    tid: int
    tgid: int
    acquisitions: int
    failures: int
    hold_ns: int
    wait_ns: int
    wait_max_ns: int
    hold_max_ns: int
    own_slice_free_ns: int
    slices: int
    probe_preempt_ns: int = 0     # cut out of hold_ns: preempted on the probe's return path
    opportunity_ns: int | None = None   # when the source computes it (libscl's own statistics)
    lock_weight: float | None = None    # the weight the lock itself uses, when known
    samples: int | None = None          # owner samples naming this thread (sampled sources)


@dataclass
class LockSample:
    lock: int
    free_ns: int
    handovers: int


@dataclass
class Snapshot:
    threads: dict = field(default_factory=dict)     # (lock, tid) -> LockThreadSample
    locks: dict = field(default_factory=dict)       # lock -> LockSample
    hold_hist: dict = field(default_factory=dict)   # tid -> {slot: count}, ns
    wait_hist: dict = field(default_factory=dict)


def resolve_library(lib: str | None) -> tuple[str, dict]:
    """(library name/path for bcc, symbols to probe); ValueError if unusable."""
    if lib is None:
        return LIBC, dict(GLIBC_SYMBOLS)
    if not os.path.isfile(lib):
        raise ValueError(f"--lib {lib}: no such file")
    exported = _dynamic_symbols(lib)
    if "scl_mutex_lock" in exported:
        table = SCL_SYMBOLS
    elif "pthread_mutex_lock" in exported:
        table = GLIBC_SYMBOLS
    else:
        raise ValueError(f"--lib {lib}: exports neither scl_mutex_lock nor pthread_mutex_lock")
    return os.path.realpath(lib), {k: v for k, v in table.items() if v in exported}


def _dynamic_symbols(path: str) -> set[str]:
    from bcc import BPF
    names = set()
    for name, _addr in BPF.get_user_functions_and_addresses(path, b".*"):
        names.add(name.decode() if isinstance(name, bytes) else name)
    return names


class LockTracer:
    """Attach uprobes for `symbols` of `library` (in process `pid`, or all).

    With calibrate=True, first measures the probe overhead included in each
    hold (`overhead_ns`) on a helper process, before attaching to the target.
    """

    def __init__(self, library: str, symbols: dict, pid: int | None = None, calibrate: bool = False):
        cflags = [f"-DEOWNERDEAD={EOWNERDEAD}", f"-DCALIB_BIN_NS={CALIB_BIN_NS}", f"-DCALIB_BINS={CALIB_BINS}"]
        self.bpf = compile_text(_PROGRAM, cflags + (["-DFILTER_TGIDS=1"] if pid is not None else []))
        self.overhead_ns = 0
        if calibrate:
            try:
                # the median of five short runs: one run on a busy machine
                # can be starved (no hold measured: 0, retried, at most ten
                # runs) or slowed as a whole (measured: 902 ns once among
                # runs of 1450-1600)
                threads = _concurrency(pid)
                runs = []
                for _ in range(10):
                    cost = self._calibrate(0.15, threads)
                    if cost:
                        runs.append(cost)
                    if len(runs) == 5:
                        break
                self.overhead_ns = sorted(runs)[len(runs) // 2] if runs else 0
            except Exception:
                self.bpf.cleanup()
                raise
        if pid is not None:
            self._allow(pid, True)
        target = -1 if pid is None else pid
        self.attached = []
        for role, fn_enter, fn_return in (("lock", "lock_enter", "lock_return"),
                                          ("trylock", "lock_enter", "lock_return"),
                                          ("timedlock", "lock_enter", "lock_return"),
                                          ("clocklock", "lock_enter", "lock_return"),
                                          ("unlock", "unlock_enter", None),
                                          ("handover", "slice_handover", None)):
            sym = symbols.get(role)
            if sym is None:
                continue
            try:
                self._attach(library, sym, fn_enter, fn_return, target)
            except Exception as exc:
                if role in ("lock", "unlock"):
                    self.bpf.cleanup()
                    raise RuntimeError(f"cannot attach to {sym} in {library}: {exc}") from exc
                continue
            self.attached.append(sym)

    def _allow(self, tgid: int, allowed: bool) -> None:
        table = self.bpf["allowed_tgids"]
        if allowed:
            table[table.Key(tgid)] = table.Leaf(1)
        else:
            try:
                del table[table.Key(tgid)]
            except KeyError:
                pass

    def _attach(self, library, sym, fn_enter, fn_return, pid) -> None:
        self.bpf.attach_uprobe(name=library, sym=sym, fn_name=fn_enter, pid=pid)
        if fn_return:
            self.bpf.attach_uretprobe(name=library, sym=sym, fn_name=fn_return, pid=pid)

    def _calibrate(self, seconds: float, threads: int = 1) -> int:
        """Probe cost inside one measured hold, in ns: the mean traced hold of
        CALIB_CS_NS critical sections minus the helper's own mean measurement.
        Holds over CALIB_BINS * CALIB_BIN_NS (25.6 us: the helper was
        preempted, which programs see too) are left out of the mean; the
        occasional slow trap is not, since traced programs pay it as well."""
        import json
        import subprocess

        from workloads.locks import binary
        helper = subprocess.Popen([str(binary("subversion")), "--cs", ",".join([str(CALIB_CS_NS)] * threads),
                                   "--seconds", str(seconds), "--gate"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            helper.stderr.readline()   # "ready PID": its threads exist, nothing locked yet
            self.bpf["calib_tgid"][ctypes.c_int(0)] = ctypes.c_uint32(helper.pid)
            self._allow(helper.pid, True)
            probes = [("pthread_mutex_lock", "lock_enter", False), ("pthread_mutex_lock", "lock_return", True),
                      ("pthread_mutex_unlock", "unlock_enter", False)]
            for sym, fn, is_return in probes:
                attach = self.bpf.attach_uretprobe if is_return else self.bpf.attach_uprobe
                attach(name=LIBC, sym=sym, fn_name=fn, pid=helper.pid)
            helper.stdin.write("go\n")
            helper.stdin.flush()
            own = json.loads(helper.stdout.readline())
            helper.stdin.close()   # lets it exit
            helper.wait(timeout=30)
        finally:
            if helper.poll() is None:
                helper.kill()
                helper.wait()
        # The helper's probes stay until cleanup: they are inert now that it
        # exited, and detaching needs its (gone) pid to resolve the symbols.
        self.bpf["calib_tgid"][ctypes.c_int(0)] = ctypes.c_uint32(0)
        self._allow(helper.pid, False)
        bins = [v.value for _k, v in sorted(self.bpf["calib_hist"].items(), key=lambda kv: kv[0].value)]
        self.bpf["calib_hist"].clear()   # an array: zeroes every bin
        for name in ("stats", "locks", "holding", "in_lock", "hold_hist", "wait_hist", "fresh_holds"):
            _clear(self.bpf[name])
        acquisitions = sum(t["acquisitions"] for t in own["threads"])
        counted = bins[:-1]   # the last bin collects preempted holds: left out
        if not sum(counted) or not acquisitions:
            return 0
        mean = sum((index + 0.5) * CALIB_BIN_NS * count for index, count in enumerate(counted)) / sum(counted)
        return max(0, round(mean - sum(t["hold_ns"] for t in own["threads"]) / acquisitions))

    def sample(self) -> Snapshot:
        snap = Snapshot()
        for key, s in self.bpf["stats"].items():
            snap.threads[(key.lock, key.tid)] = LockThreadSample(
                key.lock, key.tid, s.tgid, s.acquisitions, s.failures, s.hold_ns, s.wait_ns,
                s.wait_max_ns, s.hold_max_ns, s.own_slice_free_ns, s.slices, s.probe_preempt_ns)
        for key, st in self.bpf["locks"].items():
            snap.locks[key.value] = LockSample(key.value, st.free_ns, st.handovers)
        for name, target in (("hold_hist", snap.hold_hist), ("wait_hist", snap.wait_hist)):
            for key, count in self.bpf[name].items():
                target.setdefault(key.tid, {})[key.slot] = count.value
        return snap

    def close(self) -> None:
        self.bpf.cleanup()


def _concurrency(pid: int | None) -> int:
    """Threads the calibration helper runs: as many as the target's threads
    that can be on a CPU at once.  A trap costs more while other CPUs trap
    into probes of the same process (shared uprobe and mm state bounce
    between caches), so an idle single-thread calibration under-estimates
    the cost inside a contended lock."""
    cpus = len(os.sched_getaffinity(0)) or 1
    if pid is None:
        return cpus
    try:
        return max(1, min(len(os.listdir(f"/proc/{pid}/task")), cpus))
    except OSError:
        return 1


def _clear(table) -> None:
    """Empty a BPF hash map that BPF programs may be changing meanwhile."""
    for key in list(table.keys()):
        try:
            del table[key]
        except KeyError:
            pass
