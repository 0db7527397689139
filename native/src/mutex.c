/*
 * mutex.c - u-SCL, the scheduler-cooperative mutex.
 *
 * Policy (EuroSys'20 SCL, with the public prototype's defects fixed):
 *  - Lock slices: the slice owner re-acquires with one CAS and no queueing.
 *    When its slice ends and others wait, the releaser hands the slice to
 *    the eligible waiter with the smallest virtual clock; with nobody
 *    waiting, a banned owner gives the slice up (its next lock call serves
 *    the ban) and an unbanned one renews it.  Bans are enforced at slice
 *    boundaries, so there is one hand-over per slice.  A free lock inside a
 *    slice whose owner is neither waiting nor back within grace_ns (or whose
 *    handed-over owner has not woken within grace_ns) may be taken by
 *    anyone: the lock is work-conserving, unlike the prototype.
 *  - Bans: each participant has a virtual clock vclock (= banned_until).  On
 *    release vclock += hold * W_total / w (double; relative to the release
 *    time that is a ban of hold * (W/w) - hold when vclock started at the
 *    acquire time).  A thread with vclock > now sleeps (nanosleep, bounded by
 *    its deadline) before it may queue, unless every other participant is
 *    banned as well and its own clock is the smallest: nobody the ban
 *    protects could use the lock yet, and the ban would only leave it idle.
 *    The debt stays in the clock, so the order of turns is unchanged (the
 *    lock then runs as a stride scheduler over the virtual clocks).
 *  - Credit: banked credit is bounded on every lock call: lag gained while
 *    away from the lock counts at most credit_cap_ns (cap_credit()).
 *  - Participants: slots in the lock (pshared-safe).  A thread joins W_total
 *    on its first slow-path lock call and leaves on exit (TLS destructor,
 *    thread.c) or after idle_ns without touching the lock (scanned when a
 *    slice starts or is renewed).
 *
 * Waiting: eligible waiters register (slot flag SLOT_WAITING, nwaiters++).
 *  - In another thread's valid slice they sleep on the futex `slice_seq`
 *    with a timeout at slice_end (the head waiter really sleeps; it wakes
 *    early, by 3 * spin_ns plus how late its timed sleeps end, and spins
 *    through the hand-over).
 *  - When the slice is open (none, expired) or theirs but the word is held,
 *    they spin up to spin_ns, then sleep: the slice owner, and everyone
 *    while an expired slice's owner holds the word, on `word` (value 2,
 *    Drepper's protocol); with no slice at all, on `slice_seq`, which every
 *    slice change and every release of an open-slice lock with waiters
 *    bumps.
 *  - Banned threads are not registered; they sleep on `slice_seq` until
 *    shortly before the ban ends and spin the rest; a slice change wakes
 *    them to re-evaluate.
 *
 * Invariants:
 *  I1 word != 0 iff some thread holds the lock; owner/owner_slot/hold_start
 *     are written only by the holder (after winning `word`, before
 *     releasing it), so they are read race-free by the holder.
 *  I2 slice/slice_end are written by the holder (acquired(), unlock) or, for
 *     a slice whose owner left, by that owner's own timeout/exit path.
 *  I3 sleepers on `word` (which they set to 2 first) are the slice owner
 *     and waiters that saw the slice expire while its owner held the word;
 *     every release of a 2 wakes all of them, and whenever the slice changes
 *     hands, all `word` and `slice_seq` sleepers are woken.
 *  I4 a sleeper on `slice_seq` without a timeout exists only while the
 *     slice is open and the word held; the holder's release then bumps
 *     slice_seq (see D2).
 *  I5 slot fields are written by their thread, or by the holder of the lock
 *     (stats/accounting), or under `reg` (join/leave, W_total).
 *
 * Memory ordering:
 *  - Acquiring `word` (CAS or xchg) is ACQUIRE, releasing it (xchg) is
 *    SEQ_CST (a release plus the Dekker pairing below): everything the
 *    previous holder wrote in the critical section and in its accounting
 *    happens-before the next holder's reads.  That is the only ordering the
 *    critical section needs.
 *  - D1 (waiter registers vs. holder decides): the waiter does
 *    nwaiters++ (SEQ_CST RMW) then loads slice and word (SEQ_CST); the
 *    holder stores slice / exchanges word (SEQ_CST) then loads nwaiters
 *    (SEQ_CST).  In the single total order one of them sees the other: the
 *    holder wakes the waiter, or the waiter sees the new slice (and sleeps
 *    with its end as timeout) or the free word (and takes it).
 *  - D2 (futex lost wake-ups): waiters load slice_seq before re-checking the
 *    condition and pass the loaded value to FUTEX_WAIT; wakers bump
 *    slice_seq after changing the condition.  The kernel compares under its
 *    hash-bucket lock, so a bump between the check and the sleep makes the
 *    wait return EAGAIN.
 *  - D3 (batched release with waiters): the batched unlock reads no clock
 *    and wakes only `word` sleepers.  It runs only while the releaser owns
 *    the slice, so every other waiter either sleeps with a timeout no later
 *    than the slice end (valid slice), or saw the slice expire with the
 *    word held and then sleeps on the word: it exchanges a 2 into the word
 *    (SEQ_CST RMW) before FUTEX_WAIT compares it, and the release is an
 *    exchange that returns that 2, so either the sleeper finds 0 (and takes
 *    the lock) or the releaser sees the 2 and wakes it.
 *  - Statistics are relaxed atomics: exact values are only needed once the
 *    threads have stopped, approximate ones are fine while they run.
 */
#include "scl_internal.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>

#define SLOT_ACTIVE 1u   /* counted in W_total */
#define SLOT_WAITING 2u  /* eligible waiter (not banned), may be handed the slice */
#define SLOT_EXITED 4u   /* thread exited: record kept, slot reusable */
#define SLOT_QUIET 8u    /* sole participant: lock calls skip the accounting */

#define MSTATE_OWNER_DIED 1u
#define MSTATE_NOTRECOVERABLE 2u

#define ROBUST_POLL_NS 20000000ull  /* owner-alive check period while waiting */
#define BAN_EARLY_NS 100000ull      /* end ban sleeps this early, spin the rest */
#define SEQ __ATOMIC_SEQ_CST

/* In-slice clock batching (see the unlock comment). */
#define BATCH_TARGET_NS 10000ull  /* clock reads at most ~10 us apart in a slice */
#define PRECISE_OP_NS 500ull      /* slower lock-to-lock periods: time every CS
                                     (two clock reads cost <~10% of such an op).
                                     Batching longer ones would save that, but a
                                     batch charges a holder preempted inside it
                                     at most its cap, not the preemption; see
                                     docs/native.md, "Utilisation". */
#define BATCH_MAX 32u            /* bounds how stale a batching thread's state gets */

static inline uint64_t slice_pack(int slot, pid_t tid)
{
    return ((uint64_t)(uint32_t)(slot + 1) << 32) | (uint32_t)tid;
}
static inline pid_t slice_tid(uint64_t s) { return (pid_t)(uint32_t)s; }
static inline int slice_slot(uint64_t s) { return (int)(s >> 32) - 1; }

static inline double wtotal(struct scl_mutex *m) { return bits_to_double(LD(&m->wtotal_bits)); }
static inline double slot_weight(struct scl_slot *s) { return bits_to_double(LD(&s->weight_bits)); }

SCL_API __attribute__((noinline)) void scl_trace_slice_handover(const void *lock, pid_t from_tid, pid_t to_tid)
{
    __asm__ __volatile__("" : : "r"(lock), "r"(from_tid), "r"(to_tid) : "memory");
}

SCL_HIDDEN void scl__tls_forget(struct scl_mutex *m);

/* ------------------------------------------------------------------ */
/* attributes, init, destroy                                           */
/* ------------------------------------------------------------------ */

SCL_API void scl_mutexattr_init(scl_mutexattr_t *a)
{
    memset(a, 0, sizeof *a);
    a->slice_ns = 2000000;
    a->idle_ns = 100000000;
    a->credit_cap_ns = 0;      /* 0: same as slice_ns */
    a->spin_ns = 20000;
    a->weight_source = SCL_WEIGHT_NICE;
}

static uint64_t grace_for(uint64_t slice_ns)
{
    uint64_t g = slice_ns / 40;
    return g < 2000 ? 2000 : g;
}

/* Batches must stay well below the idle grace: waiters judge idleness from
 * last_release, which batched unlocks refresh only once per batch. */
static uint64_t batch_target_for(uint64_t grace)
{
    return grace / 4 < BATCH_TARGET_NS ? grace / 4 : BATCH_TARGET_NS;
}

SCL_API int scl_mutex_init(scl_mutex_t *m, const scl_mutexattr_t *attr)
{
    scl_mutexattr_t a;
    if (!m)
        return EINVAL;
    if (attr)
        a = *attr;
    else
        scl_mutexattr_init(&a);
    if (a.slice_ns == 0 || a.slice_ns > 10000000000ull || a.idle_ns == 0 ||
        a.spin_ns > 1000000000u || a.weight_source < SCL_WEIGHT_NICE ||
        a.weight_source > SCL_WEIGHT_CGROUP)
        return EINVAL;
    memset(m, 0, sizeof *m);
    m->slice_ns = a.slice_ns;
    m->idle_ns = a.idle_ns;
    m->credit_cap_ns = a.credit_cap_ns ? a.credit_cap_ns : a.slice_ns;
    m->grace_ns = grace_for(a.slice_ns);
    m->batch_target_ns = batch_target_for(m->grace_ns);
    m->spin_ns = a.spin_ns;
    m->weight_source = a.weight_source;
    m->pshared = !!a.pshared;
    m->robust = !!a.robust;
    m->owner_slot = -1;
    uint64_t now = scl_now();
    m->stats_start = now;
    m->last_release = now;
    m->last_scan = now;
    if (!m->pshared)
        m->id = scl__registry_add(m);
    /* Publish: a thread that sees the magic sees the initialised fields. */
    __atomic_store_n(&m->magic, SCL_MUTEX_MAGIC, __ATOMIC_RELEASE);
    scl__trace_register(m);
    return 0;
}

SCL_API int scl_mutex_destroy(scl_mutex_t *m)
{
    if (!m || LDA(&m->magic) != SCL_MUTEX_MAGIC)
        return EINVAL;
    if (LD(&m->word) != 0 || LD(&m->nwaiters) != 0)
        return EBUSY;
    if (!m->pshared)
        scl__registry_remove(m);
    scl__trace_unregister(m);
    scl__tls_forget(m);
    ST(&m->quiet_tid, 0);
    ST(&m->magic, 0);
    return 0;
}

SCL_API int scl_mutex_set_slice(scl_mutex_t *m, uint64_t slice_ns)
{
    if (!m || LDA(&m->magic) != SCL_MUTEX_MAGIC || slice_ns == 0 || slice_ns > 10000000000ull)
        return EINVAL;
    if (LD(&m->word) != 0 || LD(&m->nwaiters) != 0)
        return EBUSY;
    ST(&m->slice_ns, slice_ns);
    ST(&m->grace_ns, grace_for(slice_ns));
    ST(&m->batch_target_ns, batch_target_for(grace_for(slice_ns)));
    return 0;
}

/* ------------------------------------------------------------------ */
/* participants                                                        */
/* ------------------------------------------------------------------ */

static void quiet_fold(struct scl_mutex *m, struct scl_slot *s);

static void recompute_wtotal(struct scl_mutex *m)  /* under reg */
{
    double w = 0;
    uint32_t n = LD(&m->nslots);
    for (uint32_t i = 0; i < n; i++)
        if (LD(&m->slots[i].flags) & SLOT_ACTIVE)
            w += slot_weight(&m->slots[i]);
    ST(&m->wtotal_bits, double_to_bits(w));
    /* Q1, Q2: quiet only while alone in W_total */
    if (LD(&m->quiet_tid)) {
        struct scl_slot *q = &m->slots[LD(&m->quiet_slot)];
        if (!(LD(&q->flags) & SLOT_ACTIVE) || LD(&q->weight_bits) != LD(&m->wtotal_bits))
            ST(&m->quiet_tid, 0);
    }
}

/* A departure shrinks W_total.  The survivors' outstanding bans were
 * charged at the old rate (hold * W_old / w): sized to let a participant
 * that is gone use the lock.  Each future debt (vclock - now) is scaled by
 * W_new / W_old, i.e. to what the same holds cost without the leaver, so
 * the survivors do not sit out turns nobody will take.  Under reg.  The
 * holder's unlock updates its own vclock without reg (load, add, store),
 * so this uses a CAS: losing that race loses only this rescale (the longer
 * ban stands), never the holder's charge.  Returns whether a ban shrank
 * (the caller then wakes ban sleepers, which sleep until the old end). */
static int rescale_bans(struct scl_mutex *m, double w_old, double w_new)
{
    if (!(w_new > 0) || !(w_new < w_old * (1 - 1e-9)))
        return 0;
    double f = w_new / w_old;
    uint64_t now = scl_now();
    int any = 0;
    uint32_t n = LD(&m->nslots);
    for (uint32_t i = 0; i < n; i++) {
        struct scl_slot *o = &m->slots[i];
        if (!(LD(&o->flags) & SLOT_ACTIVE))
            continue;
        uint64_t v = LD(&o->vclock);
        while (v > now) {
            uint64_t nv = now + (uint64_t)((double)(v - now) * f);
            if (__atomic_compare_exchange_n(&o->vclock, &v, nv, 0, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED)) {
                any = 1;
                break;
            }
        }
    }
    return any;
}

/* Removes a participant from W_total, banking the free time it saw, and
 * re-scales the survivors' bans.  Under reg.  Returns rescale_bans(). */
static int leave_locked(struct scl_mutex *m, struct scl_slot *s, uint32_t extra_flags)
{
    quiet_fold(m, s);     /* Q1: by s's thread or the holder */
    uint32_t f = LD(&s->flags);
    double w_old = wtotal(m);
    if (f & SLOT_ACTIVE) {
        ST(&s->free_banked, LD(&s->free_banked) + sat_sub(LD(&m->free_ns), LD(&s->free_mark)));
    }
    ST(&s->flags, (f & ~(SLOT_ACTIVE | SLOT_WAITING)) | extra_flags);
    recompute_wtotal(m);
    return (f & SLOT_ACTIVE) ? rescale_bans(m, w_old, wtotal(m)) : 0;
}

static int find_slot(struct scl_mutex *m, pid_t me)
{
    uint32_t n = LD(&m->nslots);
    for (uint32_t i = 0; i < n; i++)
        if (LD(&m->slots[i].tid) == me && !(LD(&m->slots[i].flags) & SLOT_EXITED))
            return (int)i;
    return -1;
}

static void slot_reset(struct scl_slot *s, pid_t me, uint64_t now)
{
    ST(&s->flags, 0);
    ST(&s->weight_bits, double_to_bits(0));
    ST(&s->vclock, 0);
    /* claimed now: not reusable until idle_ns passes (see slot_for) */
    ST(&s->last_use, now);
    ST(&s->acquisitions, 0);
    ST(&s->hold_ns, 0);
    ST(&s->wait_ns, 0);
    ST(&s->opp_ns, 0);
    ST(&s->free_mark, 0);
    ST(&s->free_banked, 0);
    ST(&s->op_ns, 0);
    ST(&s->batch_start, 0);
    ST(&s->batch_n, 0);
    ST(&s->batch_k, 1);
    ST(&s->tid, me);
}

/* The caller's slot, claiming one if needed; -1 when the table is full of
 * threads still using the lock (the caller becomes a guest).
 *
 * A record is reused only when its thread has left: it exited, or it has
 * not been in W_total nor touched the lock for idle_ns.  Being outside
 * W_total is not enough: a thread whose lock calls all took the free-lock
 * fast path never joins W_total, yet it is still a user, and taking its
 * record would silently drop its statistics. */
static int slot_for(struct scl_mutex *m, pid_t me)
{
    struct scl_tls_entry *e = scl__tls_find(m);
    if (likely(e && e->id == LD(&m->id) && LD(&m->slots[e->slot].tid) == me &&
               !(LD(&m->slots[e->slot].flags) & SLOT_EXITED)))
        return e->slot;
    uint64_t now = scl_now();
    spin_lock32(&m->reg);
    int i = find_slot(m, me);
    if (i < 0) {
        uint32_t n = LD(&m->nslots);
        if (n < SCL_MAX_THREADS) {
            i = (int)n;
            ST(&m->nslots, n + 1);
        } else {
            /* Reuse the least recently used record of a thread that left. */
            uint64_t best = UINT64_MAX, idle = LD(&m->idle_ns);
            for (uint32_t k = 0; k < n; k++) {
                struct scl_slot *s = &m->slots[k];
                uint64_t lu = LD(&s->last_use);
                uint32_t f = LD(&s->flags);
                int left = (f & SLOT_EXITED) ||
                           (!(f & (SLOT_ACTIVE | SLOT_WAITING)) && sat_sub(now, lu) >= idle);
                if (left && lu < best &&
                    slice_slot(LD(&m->slice)) != (int)k && LD(&m->owner_slot) != (int)k) {
                    best = lu;
                    i = (int)k;
                }
            }
        }
        if (i >= 0)
            slot_reset(&m->slots[i], me, now);
    }
    spin_unlock32(&m->reg);
    if (i >= 0)
        scl__tls_add(m, i);
    return i;
}

/* Virtual time seen by participant `self`: now, or, when every other
 * active participant is itself banned (virtual clock ahead of now), the
 * smallest of their virtual clocks. */
static uint64_t virtual_now(struct scl_mutex *m, int self, uint64_t now)
{
    uint64_t vmin = UINT64_MAX;
    uint32_t n = LD(&m->nslots);
    for (uint32_t i = 0; i < n; i++) {
        struct scl_slot *o = &m->slots[i];
        if ((int)i == self || !(LD(&o->flags) & SLOT_ACTIVE))
            continue;
        uint64_t v = LD(&o->vclock);
        if (v <= now)
            return now;
        if (v < vmin)
            vmin = v;
    }
    return vmin == UINT64_MAX ? now : vmin;
}

/* Joins W_total if needed and refreshes the weight (cached per thread). */
static void leave_quiet(struct scl_mutex *m, struct scl_slot *s, uint64_t now);

static void ensure_active(struct scl_mutex *m, int slot, uint64_t now)
{
    struct scl_slot *s = &m->slots[slot];
    double w = scl__thread_weight(LD(&m->weight_source), now);
    uint32_t f = LD(&s->flags);
    if (unlikely(f & SLOT_QUIET)) {
        leave_quiet(m, s, now);
        f = LD(&s->flags);
    }
    if (likely((f & SLOT_ACTIVE) && slot_weight(s) == w))
        return;
    spin_lock32(&m->reg);
    f = LD(&s->flags);
    ST(&s->weight_bits, double_to_bits(w));
    if (!(f & SLOT_ACTIVE)) {
        ST(&s->free_mark, LD(&m->free_ns));
        ST(&s->flags, f | SLOT_ACTIVE);
        uint64_t floor = sat_sub(now, LD(&m->credit_cap_ns));
        if (LD(&s->vclock) < floor)
            ST(&s->vclock, floor);
        ST(&s->last_use, now);
    }
    recompute_wtotal(m);
    spin_unlock32(&m->reg);
}

static void wake_all(struct scl_mutex *m);

/* Removes participants idle for idle_ns.  Called by the holder when a slice
 * starts, at most twice per idle_ns. */
static void idle_scan(struct scl_mutex *m, uint64_t now, int holder_slot)
{
    uint64_t idle = LD(&m->idle_ns);
    if (now - LD(&m->last_scan) < idle / 2)
        return;
    ST(&m->last_scan, now);
    spin_lock32(&m->reg);
    uint32_t n = LD(&m->nslots);
    int shrank = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct scl_slot *s = &m->slots[i];
        uint32_t f = LD(&s->flags);
        if ((f & SLOT_ACTIVE) && !(f & SLOT_WAITING) && (int)i != holder_slot &&
            LD(&s->last_use) + idle < now)
            shrank |= leave_locked(m, s, 0);
    }
    spin_unlock32(&m->reg);
    if (shrank)
        wake_all(m);   /* D2: ban sleepers re-evaluate their shorter bans */
}

/* Bounded credit.  A thread's lag (now - vclock) is credit for lock time it
 * was denied.  Lag gained while waiting for the lock is owed and kept; lag
 * gained while away from the lock (since last_use) is capped at
 * credit_cap_ns, so a thread returning from idleness cannot burst. */
static void cap_credit(struct scl_mutex *m, struct scl_slot *s, uint64_t now)
{
    uint64_t v = LD(&s->vclock), lu = LD(&s->last_use);
    if (lu > now)
        lu = now;
    uint64_t floor = sat_sub(now, sat_sub(lu, v) + LD(&m->credit_cap_ns));
    if (v < floor)
        ST(&s->vclock, floor);
}

static void set_waiting(struct scl_mutex *m, int slot, int on)
{
    if (slot >= 0) {
        if (on)
            __atomic_or_fetch(&m->slots[slot].flags, SLOT_WAITING, SEQ);
        else
            __atomic_and_fetch(&m->slots[slot].flags, ~SLOT_WAITING, SEQ);
    }
    if (on)
        __atomic_add_fetch(&m->nwaiters, 1, SEQ);
    else
        __atomic_sub_fetch(&m->nwaiters, 1, SEQ);
}

static void wake_all(struct scl_mutex *m)
{
    __atomic_add_fetch(&m->slice_seq, 1, SEQ);
    futex_wake(&m->slice_seq, INT_MAX, m->pshared);
    futex_wake(&m->word, INT_MAX, m->pshared);
}

/* Eligible waiter with the smallest virtual clock, other than `except`. */
static int pick_next(struct scl_mutex *m, int except)
{
    int best = -1;
    uint64_t bv = UINT64_MAX;
    uint32_t n = LD(&m->nslots);
    for (uint32_t i = 0; i < n; i++) {
        struct scl_slot *s = &m->slots[i];
        if ((int)i != except && (LD(&s->flags) & SLOT_WAITING) && LD(&s->vclock) < bv) {
            bv = LD(&s->vclock);
            best = (int)i;
        }
    }
    return best;
}

/* ------------------------------------------------------------------ */
/* acquire / release                                                   */
/* ------------------------------------------------------------------ */

/* Bookkeeping once `word` is ours (slow path: not a plain in-slice
 * re-acquire).  t = acquire time. */
static __attribute__((noinline)) void acquired(struct scl_mutex *m, int slot, pid_t me, uint64_t t,
                                               uint64_t wait_start)
{
    if (slot >= 0 && unlikely(LD(&m->slots[slot].flags) & SLOT_QUIET)) {
        /* Q1, e.g. a trylock in its own slice.  The quiet time was counted
         * by the samples: it is not a free interval to hand out below. */
        leave_quiet(m, &m->slots[slot], t);
        ST(&m->last_release, t);
    }
    {
        /* Q1: a second user; the quiet thread's next call leaves quiet mode */
        int32_t q = LD(&m->quiet_tid);
        if (unlikely(q && q != me))
            ST(&m->quiet_tid, 0);
    }
    ST(&m->owner, me);
    ST(&m->owner_slot, slot);
    uint64_t sl = LD(&m->slice), se = LD(&m->slice_end);

    /* The interval the lock was free is opportunity for the slice owner
     * while its slice lasted (for another thread's acquire: at most grace_ns
     * past the release), and for every participant outside any slice. */
    uint64_t rel = LD(&m->last_release);
    if (t > rel) {
        int so = slice_slot(sl);
        uint64_t own = 0;
        if (so >= 0) {
            uint64_t end = se;
            if (so != slot && rel + LD(&m->grace_ns) < end)
                end = rel + LD(&m->grace_ns);
            if (end > t)
                end = t;
            own = sat_sub(end, rel);
            ST(&m->slots[so].opp_ns, LD(&m->slots[so].opp_ns) + own);
        }
        ST(&m->free_ns, LD(&m->free_ns) + (t - rel) - own);
    }
    ST(&m->hold_start, t);

    int mine = slot >= 0 && slice_tid(sl) == me;
    if (mine && LD(&m->slice_fresh)) {
        /* handed-over slice: it starts when its owner first takes the lock */
        ST(&m->slice_fresh, 0);
        __atomic_store_n(&m->slice_end, t + LD(&m->slice_ns), SEQ);
    } else if (!mine || t >= se) {
        pid_t from = slice_tid(sl);
        __atomic_store_n(&m->slice_end, t + LD(&m->slice_ns), SEQ);
        __atomic_store_n(&m->slice, slot >= 0 ? slice_pack(slot, me) : 0, SEQ);
        ST(&m->slice_fresh, 0);
        if (from != me) {
            ST(&m->slices, LD(&m->slices) + 1);
            scl_trace_slice_handover(m, from, slot >= 0 ? me : 0);
        }
        /* D1: waiters that slept while the slice was open must learn its end. */
        if (__atomic_load_n(&m->nwaiters, SEQ) > 0)
            wake_all(m);
        idle_scan(m, t, slot);
    }
    if (slot >= 0) {
        struct scl_slot *s = &m->slots[slot];
        ST(&s->acquisitions, LD(&s->acquisitions) + 1);
        ST(&s->last_use, t);
        ST(&s->wait_ns, LD(&s->wait_ns) + sat_sub(t, wait_start));
        ST(&s->batch_start, t);
        ST(&s->batch_n, 0);
        /* re-learn the lock-to-lock period: batching needs two fast samples */
        ST(&s->batch_k, 1);
        ST(&s->op_ns, 0);
    } else {
        ST(&m->overflow_acquisitions, LD(&m->overflow_acquisitions) + 1);
    }
}

/* The thread no longer exists, or is a zombie nobody has reaped yet. */
static int owner_dead(pid_t tid)
{
    if (tid <= 0)
        return 0;
    int saved = errno;
    int dead = 0;
    if (kill(tid, 0) == -1) {
        dead = errno == ESRCH;
    } else {
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)tid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            dead = errno == ENOENT;
        } else {
            ssize_t n = read(fd, buf, sizeof buf - 1);
            close(fd);
            if (n > 0) {
                buf[n] = 0;
                char *p = strrchr(buf, ')');
                dead = p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
            }
        }
    }
    errno = saved;
    return dead;
}

/* Robust locks: the holder died.  Take the lock over (one taker wins the CAS
 * on owner); the word stays held, now by us. */
static int try_take_dead(struct scl_mutex *m, int slot, pid_t me, uint64_t now, uint64_t wait_start)
{
    pid_t o = LD(&m->owner);
    if (!m->robust || !o || !LD(&m->word) || !owner_dead(o))
        return 0;
    if (!__atomic_compare_exchange_n(&m->owner, &o, me, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return 0;
    int ds = LD(&m->owner_slot);
    if (ds >= 0 && LD(&m->slots[ds].tid) == o) {
        spin_lock32(&m->reg);
        int shrank = leave_locked(m, &m->slots[ds], SLOT_EXITED);
        spin_unlock32(&m->reg);
        if (shrank)
            wake_all(m);
    }
    __atomic_or_fetch(&m->state, MSTATE_OWNER_DIED, SEQ);
    __atomic_store_n(&m->slice, 0, SEQ);
    acquired(m, slot, me, now, wait_start);
    return 1;
}

#define NO_DEADLINE UINT64_MAX

/* How late this thread's timed futex sleeps end: the head waiter wakes this
 * much earlier (plus 3 * spin_ns) so that it is spinning, not asleep, when
 * the slice changes hands.  Timer slack (50 us for normal threads) plus the
 * wake-up itself made timed wake-ups 70-120 us late on a 2-vCPU VM, so a
 * fixed 60 us margin woke the head waiter after the hand-over every time
 * and each slice change idled the lock for that long (2-3% of a 2 ms slice).
 * A property of the thread and the machine, not of one lock: thread-local.
 * Estimate of a high quantile: a later sample raises it at once, an earlier
 * one lowers it by 1/16 of the difference. */
static __thread uint64_t tls_wake_late_ns;
#define WAKE_LATE_MAX_NS 1000000ull /* beyond 1 ms something else is wrong: do not spin for it */

static void note_wake_lateness(uint64_t late)
{
    uint64_t est = tls_wake_late_ns;
    if (late > WAKE_LATE_MAX_NS)
        late = WAKE_LATE_MAX_NS;
    tls_wake_late_ns = late > est ? late : est - (est - late) / 16;
}

/* Out of line: keeps the fast path in lock_common() free of the slow
 * path's register pressure (no callee-saved spills on the fast path). */
static __attribute__((noinline)) int lock_slow(struct scl_mutex *m, pid_t me, uint64_t now,
                                               uint64_t deadline)
{
    int slot = slot_for(m, me);
    uint64_t wait_start = now;
    uint64_t spin_ns = LD(&m->spin_ns);
    uint64_t spin_until = now + spin_ns;
    int waiting = 0, slept_on_word = 0, r = 0;
    unsigned spins = 0;
    uint64_t head_spun = 0;   /* bounded: at most 8 * early per lock call */

    if (slot >= 0) {
        /* Credit cap, applied when the call starts; time spent waiting in
         * this call is not clamped. */
        ensure_active(m, slot, now);
        cap_credit(m, &m->slots[slot], now);
    }
    for (;;) {
        if (unlikely(LD(&m->state) & MSTATE_NOTRECOVERABLE)) {
            r = ENOTRECOVERABLE;
            break;
        }
        if (deadline != NO_DEADLINE && now >= deadline) {
            r = ETIMEDOUT;
            break;
        }
        if (slot >= 0) {
            struct scl_slot *s = &m->slots[slot];
            ensure_active(m, slot, now);
            /* D2: loaded before the ban decision, so a slice given up after
             * it (which may make us the one to go) wakes the sleep below */
            uint32_t ban_seq = __atomic_load_n(&m->slice_seq, SEQ);
            uint64_t v = LD(&s->vclock);
            if (v > now && wtotal(m) > slot_weight(s) * (1 + 1e-9) &&
                v > virtual_now(m, slot, now)) {
                /* Banned: sleep it off, unregistered so the slice is not
                 * handed to us.  last_use in the future keeps the idle scan
                 * from removing a thread that is only serving its ban. */
                if (waiting) {
                    set_waiting(m, slot, 0);
                    waiting = 0;
                }
                uint64_t until = v < deadline ? v : deadline;
                ST(&s->last_use, until);
                /* Sleep on slice_seq, waking BAN_EARLY_NS before the end
                 * (timer slack plus a wake-up), then spin: a thread whose ban
                 * ends as the current slice ends is awake to take the
                 * hand-over.  A slice change wakes the sleep early: when the
                 * owner gives its slice up banned, the banned thread with
                 * the smallest clock may go (see virtual_now()). */
                uint64_t early = BAN_EARLY_NS > 3ull * spin_ns ? BAN_EARLY_NS : 3ull * spin_ns;
                if (until - now > early) {
                    futex_wait_rel(&m->slice_seq, ban_seq, until - now - early, m->pshared);
                    now = scl_now();
                    if (now + early < until) {
                        spin_until = now + spin_ns;
                        continue;                   /* woken: re-evaluate */
                    }
                }
                while (now < until) {
                    for (int i = 0; i < 32; i++)
                        cpu_relax();
                    now = scl_now();
                }
                spin_until = now + spin_ns;
                continue;
            }
        }
        if (!waiting) {
            set_waiting(m, slot, 1);   /* D1: SEQ_CST RMW before the loads below */
            waiting = 1;
        }

        uint32_t seq = __atomic_load_n(&m->slice_seq, SEQ);
        uint64_t sl = __atomic_load_n(&m->slice, SEQ);
        uint64_t se = __atomic_load_n(&m->slice_end, SEQ);
        uint32_t w = __atomic_load_n(&m->word, SEQ);
        pid_t so_tid = slice_tid(sl);
        int mine = sl && so_tid == me;
        int open = !sl || mine || now >= se;
        uint64_t wake_at = deadline;

        if (!open) {
            int so = slice_slot(sl);
            uint64_t rel = LD(&m->last_release);
            /* Idle: free, and its owner is neither in a lock call nor back
             * within grace_ns; or a handed-over slice whose new owner has not
             * woken up within grace_ns (an overloaded CPU must not leave the
             * lock idle: its virtual clock keeps it first in line). */
            if (w == 0 && (!(LD(&m->slots[so].flags) & SLOT_WAITING) || LD(&m->slice_fresh))) {
                if (now >= rel + LD(&m->grace_ns))
                    open = 1;                       /* slice owner went idle */
                else if (rel + LD(&m->grace_ns) < wake_at)
                    wake_at = rel + LD(&m->grace_ns);
            }
            if (!open && m->robust && owner_dead(so_tid))
                open = 1;
        }

        if (open) {
            if (w == 0) {
                uint32_t c = 0;
                int got = slept_on_word
                              ? __atomic_exchange_n(&m->word, 2, __ATOMIC_ACQUIRE) == 0
                              : __atomic_compare_exchange_n(&m->word, &c, 1, 0, __ATOMIC_ACQUIRE,
                                                            __ATOMIC_RELAXED);
                if (got) {
                    now = scl_now();
                    set_waiting(m, slot, 0);
                    acquired(m, slot, me, now, wait_start);
                    r = 0;
                    goto out;
                }
            }
            if (now < spin_until) {
                cpu_relax();
                if ((++spins & 31) == 0)
                    now = scl_now();
                continue;
            }
            if (m->robust && try_take_dead(m, slot, me, now, wait_start)) {
                set_waiting(m, slot, 0);
                r = EOWNERDEAD;
                goto out;
            }
            uint64_t cap = m->robust ? now + ROBUST_POLL_NS : NO_DEADLINE;
            if (cap < wake_at)
                wake_at = cap;
            uint64_t tmo = wake_at == NO_DEADLINE ? UINT64_MAX : sat_sub(wake_at, now);
            if (sl && (mine ? now < se : w != 0)) {
                /* I3: the slice owner, and waiters for a slice that expired
                 * while its owner still holds the word, sleep on the word
                 * itself (value 2).  The latter matters because the owner
                 * may be batching (no clock read, so it notices the end of
                 * its slice up to one batch late) and its batched unlock
                 * only looks at the word: a 2 makes it wake us. */
                if (__atomic_exchange_n(&m->word, 2, __ATOMIC_ACQUIRE) == 0) {
                    now = scl_now();
                    set_waiting(m, slot, 0);
                    acquired(m, slot, me, now, wait_start);
                    r = 0;
                    goto out;
                }
                slept_on_word = 1;
                futex_wait_rel(&m->word, 2, tmo, m->pshared);
            } else if (w != 0) {
                futex_wait_rel(&m->slice_seq, seq, tmo, m->pshared);
            }
        } else {
            /* Another thread's slice.  The head waiter (the one the slice
             * will be handed to) wakes a little early and spins through the
             * hand-over, so the lock does not idle for a wake-up latency;
             * the others sleep until the slice ends. */
            int so = slice_slot(sl);
            int head = slot >= 0 && pick_next(m, so) == slot;
            uint64_t early = head ? 3 * spin_ns + tls_wake_late_ns : 0;
            if (early > LD(&m->slice_ns) / 4)
                early = LD(&m->slice_ns) / 4; /* spin at most a quarter of the slice */
            uint64_t end = se;
            if (head) {
                /* The slice also ends when its owner gets banned: holding
                 * continuously from now, at now + (now - vclock) / (W/w - 1). */
                double r = wtotal(m) / slot_weight(&m->slots[so]);
                uint64_t v = LD(&m->slots[so].vclock);
                if (r > 1 + 1e-9) {
                    uint64_t tb = now + (uint64_t)((double)sat_sub(now, v) / (r - 1));
                    if (tb < end)
                        end = tb;
                }
            }
            if (head && end - now <= early && head_spun < 8 * early) {
                /* The owner notices the end up to one batch late and may be
                 * inside a critical section then: keep the spin window open
                 * until spin_ns past the end.  (It was last set when the
                 * sleep ended, `early` before the end, so it would run out
                 * before the end and send the head waiter to sleep on the
                 * word just as the hand-over comes.) */
                if (spin_until < end + spin_ns)
                    spin_until = end + spin_ns;
                uint64_t t0 = now;
                for (int i = 0; i < 64; i++)
                    cpu_relax();
                now = scl_now();
                head_spun += now - t0;
                continue;
            }
            wake_at = wake_at < se - early ? wake_at : se - early;
            if (head && head_spun < 8 * early && end - early < wake_at)
                wake_at = end - early;
            if (m->robust && now + ROBUST_POLL_NS < wake_at)
                wake_at = now + ROBUST_POLL_NS;
            int timed_out = futex_wait_rel(&m->slice_seq, seq, sat_sub(wake_at, now), m->pshared) == ETIMEDOUT;
            if (head && timed_out) {
                now = scl_now();
                note_wake_lateness(sat_sub(now, wake_at));
            }
        }
        now = scl_now();
        spin_until = now + spin_ns;
        if (m->robust && try_take_dead(m, slot, me, now, wait_start)) {
            set_waiting(m, slot, 0);
            r = EOWNERDEAD;
            goto out;
        }
    }
    /* Failed (timeout / not recoverable): unregister; a slice handed to us
     * but never used is given back. */
    if (waiting)
        set_waiting(m, slot, 0);
    {
        uint64_t sl = __atomic_load_n(&m->slice, SEQ);
        if (sl && slice_tid(sl) == me && LD(&m->owner) != me) {
            uint64_t expect = sl;
            if (__atomic_compare_exchange_n(&m->slice, &expect, 0, 0, SEQ, SEQ)) {
                scl_trace_slice_handover(m, me, 0);
                wake_all(m);
            }
        }
    }
    if (slot >= 0)
        ST(&m->slots[slot].wait_ns, LD(&m->slots[slot].wait_ns) + sat_sub(scl_now(), wait_start));
    return r;
out:
    return r;
}

/*
 * Quiet mode: the lock has one participant.
 *
 * While a thread is the only member of W_total and owns the slice, nothing
 * it does can be unfair to anybody: a charge to its virtual clock would ban
 * it for nobody's sake, and there is nobody to hand the slice to.  So its
 * lock calls do no accounting at all, and everything they touch is in the
 * lock's first cache line: m->quiet_tid says who may take the quiet path
 * (one load and compare decides it), lock is that check, one CAS, the
 * owner stores and a countdown; unlock is the check, the owner stores and
 * the releasing exchange.  Neither reads the clock.  Only the statistics
 * still need the time: when the countdown m->quiet_left reaches 0 the
 * acquisition is timed at both ends and stands for the batch_n acquisitions
 * since the previous sample (hold += its length * batch_n); the next
 * countdown is 1 while critical sections are long, up to QUIET_SAMPLE_MAX
 * while lock-to-lock periods are short.  The slot's acquisitions count
 * takes the batch at each sample; scl_mutex_stats() adds the part of the
 * current batch already done (batch_n - quiet_left).
 *
 * Q1 SLOT_QUIET and m->quiet_tid are set only by the slot's thread while it
 *    holds the lock in its own slice, with nobody waiting, under `reg` with
 *    W_total == its own weight (enter_quiet(), from the full unlock).
 *    quiet_tid == T implies T's slot has SLOT_QUIET and the slice is T's:
 *    every other way the slice changes hands clears quiet_tid first (an
 *    acquire by another thread in acquired(), which holds the word; a
 *    departure or a join through recompute_wtotal() under `reg`; the owner's
 *    own slow paths through leave_quiet()).  SLOT_QUIET is cleared, and the
 *    batch folded into the statistics, by the thread itself (leave_quiet(),
 *    on its first full unlock or slow-path call) or when its slot leaves
 *    W_total (leave_locked(), by itself or by the holder of the word).
 * Q2 A joiner raises W_total (ensure_active() under `reg`), which clears
 *    quiet_tid, before it registers as a waiter (set_waiting).  The quiet
 *    paths read quiet_tid relaxed and may miss that for a while; that is
 *    the batched release of D3 again: it runs only while the releaser owns
 *    the slice, so the joiner sleeps with the slice end as its timeout or,
 *    the slice having expired (quiet mode does not renew it), on the word
 *    with value 2, which the releasing exchange returns and answers with a
 *    wake-up.  The next non-quiet unlock then finds the expired slice and a
 *    waiter and hands the slice over.  A thief that took the free word in
 *    between cleared quiet_tid while holding it, so the quiet lock's
 *    re-check after its ACQUIRE CAS (which reads from the thief's release
 *    or later) sees 0 and does the bookkeeping of a slow acquire instead.
 * Q3 On leaving, the quiet thread gets what a joining thread gets: at most
 *    credit_cap_ns of credit (vclock >= now - credit_cap_ns).  Its clock
 *    was not charged while alone, and lag gained alone is not a debt the
 *    newcomers owe it.
 */
#define QUIET_SAMPLE_MAX 64u

/* Called by the holder from the full unlock, its conditions checked there
 * (own slice, nobody waiting, alone); re-checked under `reg` against a
 * concurrent join (Q1). */
static void enter_quiet(struct scl_mutex *m, int slot, pid_t me, uint64_t now)
{
    struct scl_slot *s = &m->slots[slot];
    spin_lock32(&m->reg);
    if ((LD(&s->flags) & SLOT_ACTIVE) && LD(&m->wtotal_bits) == LD(&s->weight_bits)) {
        ST(&s->batch_k, 1);                  /* time the next section */
        ST(&s->batch_n, 1);
        ST(&s->batch_start, now);
        __atomic_or_fetch(&s->flags, SLOT_QUIET, __ATOMIC_RELAXED);
        ST(&m->quiet_left, 1);
        ST(&m->quiet_slot, slot);
        ST(&m->quiet_tid, me);
    }
    spin_unlock32(&m->reg);
}

/* Ends s's quiet mode: counts the acquisitions of the current batch and
 * clears quiet_tid if it is still s's.  By s's thread, or under `reg` by
 * the holder of the word (Q1: never concurrently with s's quiet calls). */
static void quiet_fold(struct scl_mutex *m, struct scl_slot *s)
{
    if (!(LD(&s->flags) & SLOT_QUIET))
        return;
    if (&m->slots[LD(&m->quiet_slot)] == s) {
        uint32_t n = LD(&s->batch_n), left = LD(&m->quiet_left);
        ST(&s->acquisitions, LD(&s->acquisitions) + (n > left ? n - left : 0));
    }
    __atomic_and_fetch(&s->flags, ~SLOT_QUIET, __ATOMIC_RELAXED);
    int32_t t = LD(&s->tid);
    __atomic_compare_exchange_n(&m->quiet_tid, &t, 0, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static void leave_quiet(struct scl_mutex *m, struct scl_slot *s, uint64_t now)
{
    quiet_fold(m, s);
    uint64_t floor = sat_sub(now, LD(&m->credit_cap_ns));   /* Q3 */
    if (LD(&s->vclock) < floor)
        ST(&s->vclock, floor);
    ST(&s->last_use, now);
    /* re-learn the lock-to-lock period: batching needs two fast samples */
    ST(&s->batch_start, now);
    ST(&s->batch_n, 0);
    ST(&s->batch_k, 1);
    ST(&s->op_ns, 0);
}

/* The quiet lock's half of a sample: the acquisition is timed. */
static __attribute__((noinline)) int quiet_sample_start(struct scl_mutex *m)
{
    ST(&m->hold_start, scl_now());
    return 0;
}

/* The quiet release's statistics sample; hold_start was set by the lock
 * call of the same acquisition (the one that took quiet_left to 0). */
static __attribute__((noinline)) void quiet_sample(struct scl_mutex *m)
{
    struct scl_slot *s = &m->slots[LD(&m->quiet_slot)];
    uint64_t now = scl_now();
    uint32_t ops = LD(&s->batch_n);
    uint64_t start = LD(&m->hold_start), since = LD(&s->batch_start);
    /* scl_mutex_stats_reset() since the last sample: count from the reset
     * (it set batch_n to the acquisitions left in this batch) */
    if (since < LD(&m->stats_start))
        since = LD(&m->stats_start);
    uint64_t period = sat_sub(now, since);
    uint64_t hold = start >= since ? sat_sub(now, start) * (ops ? ops : 1) : 0;
    ST(&s->acquisitions, LD(&s->acquisitions) + ops);
    ST(&s->hold_ns, LD(&s->hold_ns) + hold);
    ST(&s->opp_ns, LD(&s->opp_ns) + (hold > period ? hold : period));
    ST(&m->total_hold, LD(&m->total_hold) + hold);
    ST(&s->last_use, now);
    uint64_t op = ops ? period / ops : period;
    uint32_t k = 1;
    if (op < PRECISE_OP_NS) {
        uint64_t want = LD(&m->batch_target_ns) / (op ? op : 1);
        while (k < QUIET_SAMPLE_MAX && 2ull * k <= want)
            k *= 2;
    }
    ST(&s->batch_k, k);
    ST(&s->batch_n, k);
    ST(&s->batch_start, now);
    ST(&m->quiet_left, k);
    /* A nice/cgroup change still shows in the statistics; W_total follows
     * (it stays equal to this weight, so the thread stays quiet). */
    double w = scl__thread_weight(LD(&m->weight_source), now);
    if (unlikely(w != slot_weight(s))) {
        spin_lock32(&m->reg);
        ST(&s->weight_bits, double_to_bits(w));
        recompute_wtotal(m);
        spin_unlock32(&m->reg);
    }
}

/* The quiet acquire after the CAS won the word (Q1, Q2). */
static inline __attribute__((always_inline)) int quiet_acquired(scl_mutex_t *m, pid_t me)
{
    ST(&m->owner, me);
    ST(&m->owner_slot, LD(&m->quiet_slot));
    uint32_t left = LD(&m->quiet_left) - 1;
    ST(&m->quiet_left, left);
    if (unlikely(left == 0))
        return quiet_sample_start(m);   /* tail call: no frame on the fast path */
    return 0;
}

static __attribute__((noinline)) int lock_general(scl_mutex_t *m, uint64_t deadline);
static __attribute__((noinline)) int acquired_after_steal(scl_mutex_t *m, pid_t me);

static inline __attribute__((always_inline)) int lock_common(scl_mutex_t *m, uint64_t deadline)
{
    if (unlikely(!m))
        return EINVAL;
    pid_t me = scl__cached_tid;       /* 0 until cached: never quiet */
    /* Quiet path: no magic check either, quiet_tid is 0 in a lock that is
     * not initialised or destroyed (and lock_general checks). */
    if (likely(LD(&m->quiet_tid) == me && me)) {
        uint32_t c = 0;
        if (likely(__atomic_compare_exchange_n(&m->word, &c, 1, 0, __ATOMIC_ACQUIRE,
                                               __ATOMIC_RELAXED))) {
            if (likely(LD(&m->quiet_tid) == me))   /* Q2: a thief came in between */
                return quiet_acquired(m, me);
            return acquired_after_steal(m, me);
        }
    }
    return lock_general(m, deadline);
}

/* The word is ours, but the slice or quiet mode changed hands since we
 * looked: a plain slow-path acquire's bookkeeping. */
static __attribute__((noinline)) int acquired_after_steal(scl_mutex_t *m, pid_t me)
{
    uint64_t t = scl_now();
    acquired(m, slot_for(m, me), me, t, t);
    return 0;
}

static __attribute__((noinline)) int lock_general(scl_mutex_t *m, uint64_t deadline)
{
    if (unlikely(LD(&m->magic) != SCL_MUTEX_MAGIC))
        return EINVAL;
    pid_t me = scl__tid();
    /* Fast path: the slice owner re-acquires with one CAS.  No clock read:
     * slice expiry is noticed at unlock (see there), and only threads in
     * precise mode (lock-to-lock period >= PRECISE_OP_NS) time the CS. */
    uint64_t sl = LD(&m->slice);
    if (likely(slice_tid(sl) == me)) {
        uint32_t c = 0;
        if (likely(__atomic_compare_exchange_n(&m->word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))) {
            /* Re-check under the lock: a thief may have taken the slice over
             * between our read and the CAS (it released the word since). */
            int slot = slice_slot(sl);
            struct scl_slot *s = &m->slots[slot];
            if (likely(LD(&m->slice) == sl && !(LD(&s->flags) & SLOT_QUIET))) {
                ST(&m->owner, me);
                ST(&m->owner_slot, slot);
                ST(&s->acquisitions, LD(&s->acquisitions) + 1);
                if (LD(&s->batch_k) <= 1) {
                    uint64_t t = scl_now(), rel = LD(&m->last_release);
                    if (t > rel)      /* free inside our own slice: our opportunity */
                        ST(&s->opp_ns, LD(&s->opp_ns) + (t - rel));
                    ST(&m->hold_start, t);
                }
                return 0;
            }
            /* stolen, or quiet mode ended by a joiner (acquired() leaves it) */
            return acquired_after_steal(m, me);
        }
    }
    /* Checked here, not before the fast path: a relock by the holder or a
     * poisoned lock (which never has a slice owner) cannot pass the CAS. */
    if (unlikely(LD(&m->owner) == me))
        return EDEADLK;
    if (unlikely(LD(&m->state) & MSTATE_NOTRECOVERABLE))
        return ENOTRECOVERABLE;
    return lock_slow(m, me, scl_now(), deadline);
}

SCL_API int scl_mutex_lock(scl_mutex_t *m) { return lock_common(m, NO_DEADLINE); }

/* The lock without waiting; `busy` when that is not possible.  A relock by
 * the owner is EDEADLK, as for every lock call. */
static int lock_at_once(scl_mutex_t *m, int busy)
{
    if (unlikely(!m || LD(&m->magic) != SCL_MUTEX_MAGIC))
        return EINVAL;
    if (LD(&m->owner) == scl__tid())
        return EDEADLK;
    int t = scl_mutex_trylock(m);
    return t == EBUSY ? busy : t;
}

/*
 * POSIX (and glibc): a mutex that can be locked at once is locked, whatever
 * the deadline - already passed, or not even a valid timespec; those only
 * matter when the caller would have to wait.  The clock is checked first.
 * "At once" means what scl_mutex_trylock() says: a free lock reserved for
 * another thread's slice (its owner is back within grace_ns) or a thread
 * serving a ban has to wait, so with a passed deadline that is ETIMEDOUT.
 */
SCL_API int scl_mutex_clocklock(scl_mutex_t *m, clockid_t clock, const struct timespec *abstime)
{
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return EINVAL;
    uint64_t dl;
    int r = scl__deadline(clock, abstime, &dl);
    if (r)
        return lock_at_once(m, r);
    if (dl <= scl_now())
        return lock_at_once(m, ETIMEDOUT);
    return lock_common(m, dl);
}

SCL_API int scl_mutex_timedlock(scl_mutex_t *m, const struct timespec *abstime)
{
    return scl_mutex_clocklock(m, CLOCK_REALTIME, abstime);
}

SCL_API int scl_mutex_trylock(scl_mutex_t *m)
{
    if (unlikely(!m))
        return EINVAL;
    pid_t me = scl__tid();
    if (LD(&m->quiet_tid) == me) {           /* as in lock_common() */
        uint32_t c = 0;
        if (__atomic_compare_exchange_n(&m->word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return LD(&m->quiet_tid) == me ? quiet_acquired(m, me) : acquired_after_steal(m, me);
    }
    if (unlikely(LD(&m->magic) != SCL_MUTEX_MAGIC))
        return EINVAL;
    if (LD(&m->owner) == me)
        return EBUSY;
    if (LD(&m->state) & MSTATE_NOTRECOVERABLE)
        return ENOTRECOVERABLE;
    uint64_t now = scl_now();
    if (m->robust && LD(&m->word) && LD(&m->owner) &&
        try_take_dead(m, slot_for(m, me), me, now, now))
        return EOWNERDEAD;
    uint64_t sl = __atomic_load_n(&m->slice, SEQ);
    uint64_t se = LD(&m->slice_end);
    int slot = -1;
    if (slice_tid(sl) != me) {
        slot = slot_for(m, me);
        if (slot >= 0) {
            struct scl_slot *s = &m->slots[slot];
            ensure_active(m, slot, now);
            cap_credit(m, s, now);
            uint64_t v = LD(&s->vclock);
            if (v > now && wtotal(m) > slot_weight(s) * (1 + 1e-9) &&
                v > virtual_now(m, slot, now))
                return EBUSY;            /* banned */
        }
        if (sl && now < se) {
            int so = slice_slot(sl);
            int idle = LD(&m->word) == 0 &&
                       (!(LD(&m->slots[so].flags) & SLOT_WAITING) || LD(&m->slice_fresh)) &&
                       now >= LD(&m->last_release) + LD(&m->grace_ns);
            if (!idle && m->robust && owner_dead(slice_tid(sl)))
                idle = 1;
            if (!idle)
                return EBUSY;            /* another thread's slice */
        }
    } else {
        slot = slice_slot(sl);
    }
    uint32_t c = 0;
    if (__atomic_compare_exchange_n(&m->word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        acquired(m, slot, me, now, now);
        return 0;
    }
    return EBUSY;
}

/*
 * Unlock reads the clock to charge the hold time to the virtual clock and
 * to notice the end of the slice.  On this path clock reads dominate the
 * cost (rdtsc is ~8 ns on bare metal, ~30 ns in some VMs; clock_gettime
 * 20-70 ns), so a slice owner that re-acquires quickly batches them: with
 * no waiters, only every batch_k-th unlock reads the clock and charges the
 * whole batch (lock-to-lock periods, i.e. CS plus the owner's gaps inside its
 * own slice, which are its opportunity anyway).  batch_k adapts so a batch
 * lasts about batch_target_ns (<= 10 us, < grace/4) and at most BATCH_MAX
 * unlocks; a thread whose lock-to-lock period is >= PRECISE_OP_NS (or was,
 * in the last sample, or has fewer than two samples since it last waited)
 * times every critical section exactly.  A batch much longer than expected means the owner spent time
 * away from the lock; its charge is capped at 4x the expected length.
 * Waiters do not stop batching: inside its slice the owner would keep the
 * lock anyway, and timing every release of a contended lock (a clock read,
 * the vclock update, the hand-over decision) cost 5-10x a batched one.  The
 * price is that the end of the slice is noticed up to one batch (<=
 * batch_target_ns) late, which the head waiter spins through (D3 for the
 * wake-ups).
 */
static int unlock_full(struct scl_mutex *m, pid_t me, int slot, struct scl_slot *s);

/* The release of the quiet and the batched unlock: the slice is the
 * releaser's and stays so, so only `word` sleepers need waking (D3, Q2). */
static __attribute__((noinline)) int wake_word_sleepers(struct scl_mutex *m)
{
    futex_wake(&m->word, INT_MAX, m->pshared);
    return 0;
}

/* The unlikely calls are tail calls, so the quiet fast paths need no stack
 * frame. */
static inline __attribute__((always_inline)) int release_in_own_slice(struct scl_mutex *m)
{
    ST(&m->owner_slot, -1);
    ST(&m->owner, 0);
    uint32_t prev = __atomic_exchange_n(&m->word, 0, SEQ);
    if (unlikely(prev == 2))
        return wake_word_sleepers(m);
    return 0;
}

static __attribute__((noinline)) int quiet_release_sampled(struct scl_mutex *m)
{
    quiet_sample(m);
    return release_in_own_slice(m);
}

static __attribute__((noinline)) int unlock_general(scl_mutex_t *m);

SCL_API int scl_mutex_unlock(scl_mutex_t *m)
{
    if (unlikely(!m))
        return EINVAL;
    pid_t me = scl__cached_tid;       /* 0 until cached: never equal below */
    /* Quiet release (Q1, Q2): no clock, no accounting, no magic check
     * (quiet_tid is 0 unless initialised). */
    if (likely(LD(&m->quiet_tid) == me && LD(&m->owner) == me && me)) {
        if (unlikely(LD(&m->quiet_left) == 0))
            return quiet_release_sampled(m);
        return release_in_own_slice(m);
    }
    return unlock_general(m);
}

static __attribute__((noinline)) int unlock_general(scl_mutex_t *m)
{
    if (unlikely(LD(&m->magic) != SCL_MUTEX_MAGIC))
        return EINVAL;
    pid_t me = scl__tid();
    if (unlikely(LD(&m->owner) != me))
        return EPERM;
    int slot = LD(&m->owner_slot);
    struct scl_slot *s = slot >= 0 ? &m->slots[slot] : NULL;
    if (likely(s)) {
        uint32_t f = LD(&s->flags);
        uint32_t k = LD(&s->batch_k), n = LD(&s->batch_n) + 1;
        if (k > 1 && n < k && !(f & SLOT_QUIET) && slice_tid(LD(&m->slice)) == me &&
            !LD(&m->state)) {
            /* Batched release, also with waiters present (see above).  The
             * slice is ours and stays ours until our next full unlock, so
             * no sleeper needs this release except those on the word (I3,
             * D3): waiters in our valid slice sleep with its end as the
             * timeout, waiters that saw it expire sleep on the word. */
            ST(&s->batch_n, n);
            return release_in_own_slice(m);
        }
    }
    return unlock_full(m, me, slot, s);
}

/* The accounted release: charge the hold time, decide the slice. */
static __attribute__((noinline)) int unlock_full(struct scl_mutex *m, pid_t me, int slot,
                                                 struct scl_slot *s)
{
    uint64_t now = scl_now();
    uint64_t hold;
    int banned = 0;
    if (s && unlikely(LD(&s->flags) & SLOT_QUIET)) {
        /* Leaving quiet mode (Q1): this section was not timed, charge it
         * nothing; accounting starts with the next one. */
        leave_quiet(m, s, now);
        ensure_active(m, slot, now);         /* weight re-read while quiet */
        ST(&m->hold_start, now);
    }
    if (s) {
        uint32_t n = LD(&s->batch_n) + 1;
        uint64_t period = sat_sub(now, LD(&s->batch_start));
        if (LD(&s->batch_k) > 1) {
            uint64_t cap = 4 * (uint64_t)n * LD(&s->op_ns) + LD(&m->batch_target_ns);
            hold = period < cap ? period : cap;
        } else {
            hold = sat_sub(now, LD(&m->hold_start));
        }
        uint64_t op = period / n, prev = LD(&s->op_ns);
        uint64_t ewma = prev ? (prev * 3 + op) / 4 : op;
        ST(&s->op_ns, ewma);
        uint64_t k = (!prev || ewma >= PRECISE_OP_NS || op >= PRECISE_OP_NS)
                         ? 1 : LD(&m->batch_target_ns) / (ewma ? ewma : 1);
        ST(&s->batch_k, (uint32_t)(k < 1 ? 1 : k > BATCH_MAX ? BATCH_MAX : k));
        ST(&s->batch_n, 0);
        ST(&s->batch_start, now);

        double w = slot_weight(s), W = wtotal(m);
        if (W < w)
            W = w;
        ST(&s->hold_ns, LD(&s->hold_ns) + hold);
        ST(&s->opp_ns, LD(&s->opp_ns) + hold);
        uint64_t v = LD(&s->vclock) + (uint64_t)((double)hold * (W / w) + 0.5);
        ST(&s->vclock, v);
        ST(&s->last_use, now);
        banned = v > now && W > w * (1 + 1e-9);
    } else {
        hold = sat_sub(now, LD(&m->hold_start));
    }
    ST(&m->total_hold, LD(&m->total_hold) + hold);

    uint32_t st = LD(&m->state);
    int poison = m->robust && (st & MSTATE_OWNER_DIED);
    if (poison) {
        __atomic_or_fetch(&m->state, MSTATE_NOTRECOVERABLE, SEQ);
        __atomic_store_n(&m->slice, 0, SEQ);   /* no fast path into a poisoned lock */
    }

    /* Slice hand-over decision (D1: nwaiters is read SEQ_CST). */
    uint64_t sl = LD(&m->slice), se = LD(&m->slice_end);
    int in_my_slice = sl && slice_tid(sl) == me && now < se;
    int foreign_valid = sl && slice_tid(sl) != me && now < se;
    int changed = 0;
    /* A ban is enforced at slice boundaries, not in the middle of a slice:
     * finishing the slice keeps hand-overs (and their wake-ups) to one per
     * slice; the debt stays in the virtual clock and lengthens the ban. */
    int hand_over = !poison && !foreign_valid && !in_my_slice &&
                    __atomic_load_n(&m->nwaiters, SEQ) > 0;
    int next = hand_over ? pick_next(m, slot) : -1;
    /* Stride order: an expired slice goes to the smallest virtual clock
     * among the waiters and its own unbanned owner (back within its work
     * outside the lock; if it is not, the idle rule lets the waiters in).
     * Handing it to any waiter instead made the unbanned threads a
     * round-robin of slices: whenever nobody is banned (the lock is not
     * saturated, e.g. each hand-over's wake-up waits for a CPU that other
     * groups' work holds), holds then split by slice count and by how long
     * each holder is preempted inside its slice, not by weight. */
    if (next >= 0 && s && slice_tid(sl) == me && !banned &&
        LD(&s->vclock) < LD(&m->slots[next].vclock))
        hand_over = 0;
    if (hand_over) {
        pid_t to = next >= 0 ? LD(&m->slots[next].tid) : 0;
        __atomic_store_n(&m->slice_end, now + LD(&m->slice_ns), SEQ);
        ST(&m->slice_fresh, next >= 0);
        __atomic_store_n(&m->slice, next >= 0 ? slice_pack(next, to) : 0, SEQ);
        if (to != slice_tid(sl)) {
            ST(&m->slices, LD(&m->slices) + 1);
            scl_trace_slice_handover(m, slice_tid(sl), to);
        }
        changed = 1;
    } else if (s && sl && slice_tid(sl) == me && now >= se) {
        if (banned && LD(&s->vclock) > virtual_now(m, slot, now)) {
            /* Used up its share: give the slice up, so its next lock call
             * serves the ban (trylock says EBUSY) even with nobody waiting.
             * Threads sleeping out their own bans re-evaluate (changed). */
            __atomic_store_n(&m->slice, 0, SEQ);
            scl_trace_slice_handover(m, me, 0);
            changed = 1;
        } else {
            /* Nobody waits, or no waiter is behind us in virtual time:
             * the slice is renewed in place, and this is the
             * "slice start" where weights are refreshed and idle
             * participants leave. */
            ensure_active(m, slot, now);
            idle_scan(m, now, slot);
            __atomic_store_n(&m->slice_end, now + LD(&m->slice_ns), SEQ);
        }
    }

    /* Q1: alone in our own slice with nobody waiting: the following
     * releases go quiet (the slice is not renewed while quiet; an expired
     * slice is what a joiner needs to get the lock handed over, Q2). */
    if (s && !poison && !changed && slice_tid(LD(&m->slice)) == me &&
        (LD(&s->flags) & SLOT_ACTIVE) && LD(&m->wtotal_bits) == LD(&s->weight_bits) &&
        __atomic_load_n(&m->nwaiters, SEQ) == 0)
        enter_quiet(m, slot, me, now);
    ST(&m->owner_slot, -1);
    ST(&m->last_release, now);
    ST(&m->owner, 0);
    uint32_t prev = __atomic_exchange_n(&m->word, 0, SEQ);
    if (prev == 2 && !(changed || poison))
        futex_wake(&m->word, INT_MAX, m->pshared);   /* I3: all, not one */
    if (changed || poison) {
        wake_all(m);
    } else if (__atomic_load_n(&m->nwaiters, SEQ) > 0) {
        /* I4/D1: waiters that registered after our decision sleep without
         * a timeout only when the slice is open; wake them. */
        uint64_t sl2 = __atomic_load_n(&m->slice, SEQ);
        if (!sl2 || now >= LD(&m->slice_end))
            wake_all(m);
    }
    return 0;
}

SCL_API int scl_mutex_consistent(scl_mutex_t *m)
{
    if (!m || LD(&m->magic) != SCL_MUTEX_MAGIC || !m->robust)
        return EINVAL;
    if (LD(&m->owner) != scl__tid() || !(LD(&m->state) & MSTATE_OWNER_DIED))
        return EINVAL;
    __atomic_and_fetch(&m->state, ~MSTATE_OWNER_DIED, SEQ);
    return 0;
}

/* ------------------------------------------------------------------ */
/* thread exit and fork (called from thread.c)                         */
/* ------------------------------------------------------------------ */

void scl__mutex_thread_exit(struct scl_mutex *m, int slot, pid_t tid)
{
    if (LD(&m->magic) != SCL_MUTEX_MAGIC || slot < 0 || slot >= SCL_MAX_THREADS ||
        LD(&m->slots[slot].tid) != tid)
        return;
    spin_lock32(&m->reg);
    int shrank = leave_locked(m, &m->slots[slot], SLOT_EXITED);
    spin_unlock32(&m->reg);
    uint64_t sl = __atomic_load_n(&m->slice, SEQ);
    if (sl && slice_tid(sl) == tid && LD(&m->owner) != tid) {
        uint64_t expect = sl;
        if (__atomic_compare_exchange_n(&m->slice, &expect, 0, 0, SEQ, SEQ)) {
            scl_trace_slice_handover(m, tid, 0);
            shrank = 1;
        }
    }
    /* The leaver stops counting at once; survivors sleeping out bans sized
     * with it in W_total wake to re-evaluate the shorter ones (D2). */
    if (shrank)
        wake_all(m);
}

void scl__mutex_after_fork(struct scl_mutex *m, pid_t old_tid, pid_t new_tid)
{
    if (m->magic != SCL_MUTEX_MAGIC || m->pshared)
        return;
    m->reg = 0;
    m->nwaiters = 0;
    m->slice = 0;
    m->slice_fresh = 0;
    m->quiet_tid = 0;
    if (m->owner && m->owner == old_tid) {
        m->owner = new_tid;
        m->word = 1;
    } else if (m->owner || m->word) {
        m->word = 0;
        m->owner = 0;
        m->owner_slot = -1;
    }
    for (uint32_t i = 0; i < m->nslots; i++) {
        struct scl_slot *s = &m->slots[i];
        if (s->tid == old_tid && old_tid && !(s->flags & SLOT_EXITED)) {
            quiet_fold(m, s);
            s->tid = new_tid;
            s->flags &= SLOT_ACTIVE;
        } else if (s->flags & SLOT_ACTIVE) {
            leave_locked(m, s, SLOT_EXITED);
        } else {
            s->flags &= ~SLOT_WAITING;
        }
    }
    recompute_wtotal(m);
}

/* ------------------------------------------------------------------ */
/* statistics                                                          */
/* ------------------------------------------------------------------ */

SCL_API int scl_mutex_stats(scl_mutex_t *m, scl_lock_stats_t *out,
                            scl_thread_stats_t *threads, uint32_t cap)
{
    if (!m || LDA(&m->magic) != SCL_MUTEX_MAGIC)
        return -EINVAL;
    uint64_t now = scl_now();
    scl_thread_stats_t rec[SCL_MAX_THREADS];
    double x_opp[SCL_MAX_THREADS], x_hold[SCL_MAX_THREADS], w[SCL_MAX_THREADS];
    uint32_t n = 0, nactive = 0;
    uint32_t ns = LD(&m->nslots);
    uint64_t free_now = LD(&m->free_ns);
    if (!LD(&m->word) && !LD(&m->slice) && now > LD(&m->last_release))
        free_now += now - LD(&m->last_release);   /* current free interval */
    for (uint32_t i = 0; i < ns; i++) {
        struct scl_slot *s = &m->slots[i];
        pid_t tid = LD(&s->tid);
        uint32_t f = LD(&s->flags);
        uint64_t acq = LD(&s->acquisitions);
        if ((f & SLOT_QUIET) && LD(&m->quiet_slot) == (int32_t)i) {
            /* the current quiet batch so far (approximate while it runs) */
            uint32_t bn = LD(&s->batch_n), left = LD(&m->quiet_left);
            acq += bn > left ? bn - left : 0;
        }
        if (!tid || (!acq && !(f & SLOT_ACTIVE)))
            continue;
        scl_thread_stats_t *r = &rec[n];
        r->tid = tid;
        r->weight = slot_weight(s);
        r->active = (f & SLOT_ACTIVE) ? 1 : 0;
        r->acquisitions = acq;
        r->hold_ns = LD(&s->hold_ns);
        r->wait_ns = LD(&s->wait_ns);
        r->opportunity_ns = LD(&s->opp_ns) + LD(&s->free_banked) +
                            (r->active ? sat_sub(free_now, LD(&s->free_mark)) : 0);
        nactive += r->active && acq;
        n++;
    }
    /* Fairness among the threads competing now when at least two are;
     * otherwise among every thread that used the lock. */
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!rec[i].acquisitions || (nactive >= 2 && !rec[i].active))
            continue;
        x_opp[k] = (double)rec[i].opportunity_ns;
        x_hold[k] = (double)rec[i].hold_ns;
        w[k] = rec[i].weight > 0 ? rec[i].weight : 1024;
        k++;
    }
    if (out) {
        memset(out, 0, sizeof *out);
        out->elapsed_ns = sat_sub(now, LD(&m->stats_start));
        out->hold_ns = LD(&m->total_hold);
        out->slices = LD(&m->slices);
        out->jain_opportunity = scl_jain_weighted(x_opp, w, k);
        out->jain_hold = scl_jain_weighted(x_hold, w, k);
        out->nthreads = n;
    }
    for (uint32_t i = 0; i < n && i < cap && threads; i++)
        threads[i] = rec[i];
    return (int)n;
}

SCL_API int scl_mutex_stats_reset(scl_mutex_t *m)
{
    if (!m || LDA(&m->magic) != SCL_MUTEX_MAGIC)
        return EINVAL;
    spin_lock32(&m->reg);
    uint64_t free_now = LD(&m->free_ns);
    uint32_t ns = LD(&m->nslots);
    for (uint32_t i = 0; i < ns; i++) {
        struct scl_slot *s = &m->slots[i];
        ST(&s->acquisitions, 0);
        ST(&s->hold_ns, 0);
        ST(&s->wait_ns, 0);
        ST(&s->opp_ns, 0);
        ST(&s->free_banked, 0);
        ST(&s->free_mark, free_now);
        /* the quiet batch counts from here: what is left of it */
        if ((LD(&s->flags) & SLOT_QUIET) && LD(&m->quiet_slot) == (int32_t)i)
            ST(&s->batch_n, LD(&m->quiet_left));
    }
    ST(&m->total_hold, 0);
    ST(&m->slices, 0);
    ST(&m->overflow_acquisitions, 0);
    ST(&m->stats_start, scl_now());
    spin_unlock32(&m->reg);
    return 0;
}
