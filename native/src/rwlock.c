/*
 * rwlock.c - RW-SCL, the scheduler-cooperative reader-writer lock.
 *
 * Time alternates between a read phase and a write phase.  Phase lengths
 * split period_ns in the ratio read_weight : write_weight (default 20 ms,
 * 1:1).  Readers enter only in a read phase and share it; writers enter only
 * in a write phase, one at a time.  A phase ends when its time is up and the
 * other class waits, or earlier when its own class has nobody holding or
 * waiting (work-conserving).  Since a phase always ends within its length
 * once the other class waits, neither writers nor readers can starve.
 *
 * State: one 32-bit word `state` (bit 0: a writer holds it; readers << 1),
 * no per-CPU or per-node arrays, so there are no topology assumptions.
 *
 * Invariants:
 *  R1 a reader is inside only if it incremented state while the WRITER bit
 *     was clear and afterwards read phase == READ;
 *  R2 a writer is inside only if its CAS moved state from 0 to WRITER while
 *     phase == WRITE (checked before the CAS; see below why that suffices).
 *  Mutual exclusion (R1, R2, all SEQ_CST): a reader increments state then
 *  loads phase; the phase switcher stores phase = WRITE before a writer's
 *  CAS(0 -> WRITER) can run in that phase.  If the reader's increment comes
 *  first in the total order, the writer's CAS fails (state != 0); otherwise
 *  the increment sees WRITER set, or the reader's phase load (after the
 *  store of WRITE) sees WRITE and the reader backs out.  A writer that CASed
 *  in a write phase keeps the lock across a phase change: readers then see
 *  the WRITER bit and wait.
 *
 *  Phase changes happen under the small spin lock `plock` and bump the futex
 *  word phase_seq; threads waiting for their phase sleep on phase_seq with
 *  the phase end as timeout (re-checked under plock, so no lost wake-up:
 *  they load phase_seq before checking the phase).  Threads blocked by a
 *  holder of their own phase sleep on `state` (state_sleepers counts them;
 *  releasers wake all when it is nonzero).
 */
#include "scl_internal.h"

#include <math.h>

#define WRITER 1u
#define READER 2u
#define PH_READ 0u
#define PH_WRITE 1u
#define SEQ __ATOMIC_SEQ_CST
#define NO_DEADLINE UINT64_MAX

SCL_API void scl_rwlockattr_init(scl_rwlockattr_t *a)
{
    memset(a, 0, sizeof *a);
    a->period_ns = 20000000;
    a->read_weight = 1.0;
    a->write_weight = 1.0;
}

SCL_API int scl_rwlock_init(scl_rwlock_t *l, const scl_rwlockattr_t *attr)
{
    scl_rwlockattr_t a;
    if (!l)
        return EINVAL;
    if (attr)
        a = *attr;
    else
        scl_rwlockattr_init(&a);
    if (a.period_ns < 1000 || a.period_ns > 100000000000ull ||
        !(a.read_weight > 0) || !isfinite(a.read_weight) ||
        !(a.write_weight > 0) || !isfinite(a.write_weight))
        return EINVAL;
    memset(l, 0, sizeof *l);
    double sum = a.read_weight + a.write_weight;
    l->weight[PH_READ] = a.read_weight;
    l->weight[PH_WRITE] = a.write_weight;
    l->len[PH_READ] = (uint64_t)((double)a.period_ns * a.read_weight / sum);
    l->len[PH_WRITE] = (uint64_t)((double)a.period_ns * a.write_weight / sum);
    for (int c = 0; c < 2; c++)
        if (l->len[c] < 1000)
            l->len[c] = 1000;
    l->pshared = !!a.pshared;
    l->phase = PH_READ;
    l->phase_end = 0;   /* expired: the first arrival picks its phase */
    l->stats_start = scl_now();
    l->phase_start = l->stats_start;
    __atomic_store_n(&l->magic, SCL_RWLOCK_MAGIC, __ATOMIC_RELEASE);
    return 0;
}

SCL_API int scl_rwlock_destroy(scl_rwlock_t *l)
{
    if (!l || LDA(&l->magic) != SCL_RWLOCK_MAGIC)
        return EINVAL;
    if (LD(&l->state) || LD(&l->waiting[0]) || LD(&l->waiting[1]))
        return EBUSY;
    ST(&l->magic, 0);
    return 0;
}

static inline int class_busy(scl_rwlock_t *l, unsigned c)
{
    uint32_t s = __atomic_load_n(&l->state, SEQ);
    int holders = c == PH_READ ? (s >> 1) != 0 : (s & WRITER) != 0;
    return holders || __atomic_load_n(&l->waiting[c], SEQ) != 0;
}

/* Switches to phase `want` if its turn has come; returns 1 when the phase is
 * `want` afterwards. */
static int maybe_switch(scl_rwlock_t *l, unsigned want, uint64_t now)
{
    if (__atomic_load_n(&l->phase, SEQ) == want)
        return 1;
    spin_lock32(&l->plock);
    unsigned cur = __atomic_load_n(&l->phase, SEQ);
    int ok = cur == want;
    if (!ok && (now >= LD(&l->phase_end) || !class_busy(l, cur))) {
        /* the phase that ends was its class's opportunity (under plock) */
        uint64_t start = LD(&l->phase_start);
        ST(&l->phase_ns[cur], LD(&l->phase_ns[cur]) + (now > start ? now - start : 0));
        ST(&l->phase_start, now > start ? now : start);
        __atomic_store_n(&l->phase_end, now + l->len[want], SEQ);
        __atomic_store_n(&l->phase, want, SEQ);
        ST(&l->phases, LD(&l->phases) + 1);
        __atomic_add_fetch(&l->phase_seq, 1, SEQ);
        futex_wake(&l->phase_seq, INT_MAX, l->pshared);
        ok = 1;
    } else if (ok && now >= LD(&l->phase_end) && !class_busy(l, cur ^ 1)) {
        /* nobody of the other class: extend our phase */
        __atomic_store_n(&l->phase_end, now + l->len[want], SEQ);
    }
    spin_unlock32(&l->plock);
    return ok;
}

static int try_enter(scl_rwlock_t *l, unsigned c)
{
    if (c == PH_READ) {
        uint32_t s = __atomic_fetch_add(&l->state, READER, SEQ);
        if (!(s & WRITER) && __atomic_load_n(&l->phase, SEQ) == PH_READ)
            return 1;
        s = __atomic_sub_fetch(&l->state, READER, SEQ);
        if (s == 0 && __atomic_load_n(&l->state_sleepers, SEQ))
            futex_wake(&l->state, INT_MAX, l->pshared);   /* a writer may wait for 0 */
        return 0;
    }
    if (__atomic_load_n(&l->phase, SEQ) != PH_WRITE)
        return 0;
    uint32_t z = 0;
    return __atomic_compare_exchange_n(&l->state, &z, WRITER, 0, SEQ, SEQ);
}

static void note_read(scl_rwlock_t *l);

static void entered(scl_rwlock_t *l, unsigned c, uint64_t now, uint64_t wait_start)
{
    if (c == PH_WRITE) {
        ST(&l->writer, scl__tid());
        ST(&l->busy_start[c], now);
    } else {
        note_read(l);
        if ((__atomic_load_n(&l->state, __ATOMIC_RELAXED) >> 1) == 1)
            ST(&l->busy_start[c], now);
    }
    __atomic_add_fetch(&l->acquisitions[c], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&l->wait_ns[c], sat_sub(now, wait_start), __ATOMIC_RELAXED);
}

/* Read locks a thread already holds, so a recursive rdlock (allowed by
 * POSIX, and relied upon by programs run under the interposer) is granted at
 * once instead of deadlocking behind a waiting writer's phase. */
#define TLS_READS 8
static __thread struct { scl_rwlock_t *l; int n; } tls_reads[TLS_READS];

static int *read_count_slot(scl_rwlock_t *l, int create)
{
    int free_i = -1;
    for (int i = 0; i < TLS_READS; i++) {
        if (tls_reads[i].l == l && tls_reads[i].n)
            return &tls_reads[i].n;
        if (!tls_reads[i].n && free_i < 0)
            free_i = i;
    }
    if (!create || free_i < 0)
        return NULL;
    tls_reads[free_i].l = l;
    return &tls_reads[free_i].n;
}

static void note_read(scl_rwlock_t *l)
{
    int *n = read_count_slot(l, 1);
    if (n)
        (*n)++;
}

static int lock_class(scl_rwlock_t *l, unsigned c, uint64_t deadline, int try)
{
    if (!l || LD(&l->magic) != SCL_RWLOCK_MAGIC)
        return EINVAL;
    if (c == PH_READ) {
        int *held = read_count_slot(l, 0);
        if (held) {
            /* we hold a read lock: no writer can be inside, join at once */
            __atomic_fetch_add(&l->state, READER, SEQ);
            (*held)++;
            __atomic_add_fetch(&l->acquisitions[c], 1, __ATOMIC_RELAXED);
            return 0;
        }
    }
    /* The writer asking again, for either class, would wait for itself
     * (a try just fails, EBUSY, as in glibc). */
    if (!try && LD(&l->writer) == scl__tid() && (LD(&l->state) & WRITER))
        return EDEADLK;
    uint64_t now = scl_now(), start = now;
    if (maybe_switch(l, c, now) && try_enter(l, c)) {
        entered(l, c, now, start);
        return 0;
    }
    if (try)
        return EBUSY;
    __atomic_add_fetch(&l->waiting[c], 1, SEQ);
    int r = 0;
    unsigned spins = 0;
    for (;;) {
        uint32_t seq = __atomic_load_n(&l->phase_seq, SEQ);
        if (maybe_switch(l, c, now)) {
            if (try_enter(l, c)) {
                entered(l, c, scl_now(), start);
                break;
            }
            if (++spins < 64) {
                cpu_relax();
                now = scl_now();
                continue;
            }
            /* blocked by a holder: sleep on state until it changes */
            __atomic_add_fetch(&l->state_sleepers, 1, SEQ);
            uint32_t s = __atomic_load_n(&l->state, SEQ);
            int blocked = c == PH_READ ? (s & WRITER) != 0 : s != 0;
            if (blocked) {
                uint64_t wake = LD(&l->phase_end);
                if (deadline < wake)
                    wake = deadline;
                /* the phase may need switching back once it ends */
                futex_wait_rel(&l->state, s, wake > now + 50000 ? wake - now : 50000, l->pshared);
            }
            __atomic_sub_fetch(&l->state_sleepers, 1, SEQ);
        } else {
            uint64_t wake = LD(&l->phase_end);
            if (deadline < wake)
                wake = deadline;
            if (wake > now)
                futex_wait_rel(&l->phase_seq, seq, wake - now, l->pshared);
        }
        spins = 0;
        now = scl_now();
        if (deadline != NO_DEADLINE && now >= deadline) {
            r = ETIMEDOUT;
            break;
        }
    }
    __atomic_sub_fetch(&l->waiting[c], 1, SEQ);
    if (r == ETIMEDOUT) {
        /* our class may have been the reason the phase stays: let it go */
        spin_lock32(&l->plock);
        if (__atomic_load_n(&l->phase, SEQ) == c && !class_busy(l, c) && class_busy(l, c ^ 1)) {
            __atomic_store_n(&l->phase_end, 0, SEQ);
            __atomic_add_fetch(&l->phase_seq, 1, SEQ);
            futex_wake(&l->phase_seq, INT_MAX, l->pshared);
        }
        spin_unlock32(&l->plock);
    }
    return r;
}

SCL_API int scl_rwlock_rdlock(scl_rwlock_t *l) { return lock_class(l, PH_READ, NO_DEADLINE, 0); }
SCL_API int scl_rwlock_wrlock(scl_rwlock_t *l) { return lock_class(l, PH_WRITE, NO_DEADLINE, 0); }
SCL_API int scl_rwlock_tryrdlock(scl_rwlock_t *l) { return lock_class(l, PH_READ, NO_DEADLINE, 1); }
SCL_API int scl_rwlock_trywrlock(scl_rwlock_t *l) { return lock_class(l, PH_WRITE, NO_DEADLINE, 1); }

/* Like glibc's rwlocks, the clock and the timespec are checked before the
 * lock is tried (POSIX allows either order for a lock free at once); a
 * passed deadline still takes a free lock: lock_class() tries once before
 * it looks at the deadline. */
static int clocklock(scl_rwlock_t *l, unsigned c, clockid_t clock, const struct timespec *abstime)
{
    uint64_t dl;
    int r = scl__deadline(clock, abstime, &dl);
    if (r)
        return r;
    return lock_class(l, c, dl, 0);
}

SCL_API int scl_rwlock_clockrdlock(scl_rwlock_t *l, clockid_t clock, const struct timespec *abstime)
{
    return clocklock(l, PH_READ, clock, abstime);
}

SCL_API int scl_rwlock_clockwrlock(scl_rwlock_t *l, clockid_t clock, const struct timespec *abstime)
{
    return clocklock(l, PH_WRITE, clock, abstime);
}

/* Work-conserving hand-off after the last holder of class c left. */
static void after_release(scl_rwlock_t *l, unsigned c, uint64_t now)
{
    if (__atomic_load_n(&l->state_sleepers, SEQ))
        futex_wake(&l->state, INT_MAX, l->pshared);
    if (__atomic_load_n(&l->waiting[c ^ 1], SEQ) &&
        (now >= LD(&l->phase_end) || !class_busy(l, c)))
        maybe_switch(l, c ^ 1, now);
}

SCL_API int scl_rwlock_unlock(scl_rwlock_t *l)
{
    if (!l || LD(&l->magic) != SCL_RWLOCK_MAGIC)
        return EINVAL;
    uint32_t s = __atomic_load_n(&l->state, SEQ);
    uint64_t now = scl_now();
    if (s & WRITER) {
        if (LD(&l->writer) != scl__tid())
            return EPERM;
        ST(&l->writer, 0);
        __atomic_add_fetch(&l->hold_ns[PH_WRITE], sat_sub(now, LD(&l->busy_start[PH_WRITE])),
                           __ATOMIC_RELAXED);
        __atomic_and_fetch(&l->state, ~WRITER, SEQ);
        after_release(l, PH_WRITE, now);
        return 0;
    }
    if ((s >> 1) == 0)
        return EPERM;
    int *held = read_count_slot(l, 0);
    if (held)
        (*held)--;
    /* Readers are not tracked individually: any thread may release a read
     * hold, as with pthread_rwlock (undefined when it holds none). */
    uint32_t left = __atomic_sub_fetch(&l->state, READER, SEQ);
    if ((left >> 1) == 0) {
        __atomic_add_fetch(&l->hold_ns[PH_READ], sat_sub(now, LD(&l->busy_start[PH_READ])),
                           __ATOMIC_RELAXED);
        after_release(l, PH_READ, now);
    }
    return 0;
}

/* Statistics per class: record 0 = readers, record 1 = writers (tid 0). */
SCL_API int scl_rwlock_stats(scl_rwlock_t *l, scl_lock_stats_t *out,
                             scl_thread_stats_t *threads, uint32_t cap)
{
    if (!l || LDA(&l->magic) != SCL_RWLOCK_MAGIC)
        return -EINVAL;
    uint64_t now = scl_now();
    scl_thread_stats_t rec[2];
    double hold[2], opp[2], w[2];
    uint64_t phase_ns[2];
    uint32_t k = 0;
    /* Opportunity of a class = the time its phases lasted (the lock was
     * reserved for it then, used or not), the current phase up to now.
     * Read under plock so the phase and its start belong together. */
    spin_lock32(&l->plock);
    for (unsigned c = 0; c < 2; c++)
        phase_ns[c] = LD(&l->phase_ns[c]);
    phase_ns[LD(&l->phase)] += sat_sub(now, LD(&l->phase_start));
    spin_unlock32(&l->plock);
    for (unsigned c = 0; c < 2; c++) {
        memset(&rec[c], 0, sizeof rec[c]);
        rec[c].tid = 0;
        rec[c].weight = l->weight[c];
        rec[c].active = LD(&l->waiting[c]) != 0;
        rec[c].acquisitions = LD(&l->acquisitions[c]);
        rec[c].hold_ns = LD(&l->hold_ns[c]);
        rec[c].wait_ns = LD(&l->wait_ns[c]);
        rec[c].opportunity_ns = phase_ns[c];
        if (rec[c].acquisitions) {
            hold[k] = (double)rec[c].hold_ns;
            opp[k] = (double)phase_ns[c];
            w[k] = l->weight[c];
            k++;
        }
    }
    if (out) {
        memset(out, 0, sizeof *out);
        out->elapsed_ns = sat_sub(now, l->stats_start);
        out->hold_ns = rec[0].hold_ns + rec[1].hold_ns;
        out->slices = LD(&l->phases);
        out->jain_hold = scl_jain_weighted(hold, w, k);
        out->jain_opportunity = scl_jain_weighted(opp, w, k);
        out->nthreads = 2;
    }
    for (uint32_t i = 0; i < 2 && i < cap && threads; i++)
        threads[i] = rec[i];
    return 2;
}
