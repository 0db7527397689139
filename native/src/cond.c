/*
 * cond.c - condition variables for scl_mutex_t.
 *
 * A futex sequence counter.  wait: read seq, release the mutex, sleep while
 * seq is unchanged, then re-acquire the mutex through the normal SCL path
 * (so a woken thread is subject to slices and bans like any other caller).
 * signal/broadcast: bump seq, wake one/all.  Spurious wake-ups are allowed
 * by POSIX and callers re-check their predicate.
 *
 * Ordering: the waiter increments `waiters` and loads `seq` (both SEQ_CST)
 * before it releases the mutex; a signaller bumps `seq` (SEQ_CST RMW) before
 * it loads `waiters`.  So a signal issued after the waiter released the
 * mutex either finds waiters > 0 and wakes, or (if it ran before the
 * increment) happened before the wait began.  FUTEX_WAIT compares seq with
 * the loaded value under the kernel's bucket lock: a bump between our load
 * and the sleep makes it return EAGAIN at once (no lost wake-up).
 */
#include "scl_internal.h"

SCL_API int scl_cond_init(scl_cond_t *c, int pshared)
{
    if (!c)
        return EINVAL;
    memset(c, 0, sizeof *c);
    c->pshared = !!pshared;
    c->clock = CLOCK_REALTIME;
    __atomic_store_n(&c->magic, SCL_COND_MAGIC, __ATOMIC_RELEASE);
    return 0;
}

SCL_API int scl_cond_destroy(scl_cond_t *c)
{
    if (!c)
        return EINVAL;
    if (LD(&c->waiters) != 0)
        return EBUSY;
    ST(&c->magic, 0);
    return 0;
}

int scl__cond_wait_generic(struct scl_cond *c, void *mutex,
                           int (*unlock)(void *), int (*lock)(void *),
                           const uint64_t *deadline)
{
    __atomic_add_fetch(&c->waiters, 1, __ATOMIC_SEQ_CST);
    uint32_t seq = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);
    int r = unlock(mutex);
    if (r) {
        __atomic_sub_fetch(&c->waiters, 1, __ATOMIC_SEQ_CST);
        return r;
    }
    int timed_out = 0;
    for (;;) {
        uint64_t tmo = UINT64_MAX;
        if (deadline) {
            uint64_t now = scl_now();
            if (now >= *deadline) {
                timed_out = 1;
                break;
            }
            tmo = *deadline - now;
        }
        int e = futex_wait_rel(&c->seq, seq, tmo, c->pshared);
        if (e == EINTR)
            continue;   /* not a wake-up: sleep again with the remaining time */
        if (e == ETIMEDOUT) {
            timed_out = 1;
        }
        break;          /* woken, seq changed (EAGAIN) or timed out */
    }
    __atomic_sub_fetch(&c->waiters, 1, __ATOMIC_SEQ_CST);
    r = lock(mutex);
    if (r)
        return r;       /* e.g. EOWNERDEAD: the caller holds the lock */
    return timed_out ? ETIMEDOUT : 0;
}

static int unlock_scl(void *m) { return scl_mutex_unlock(m); }
static int lock_scl(void *m) { return scl_mutex_lock(m); }

SCL_API int scl_cond_wait(scl_cond_t *c, scl_mutex_t *m)
{
    if (!c || !m)
        return EINVAL;
    if (LD(&m->owner) != scl__tid())
        return EPERM;
    return scl__cond_wait_generic(c, m, unlock_scl, lock_scl, NULL);
}

SCL_API int scl_cond_clockwait(scl_cond_t *c, scl_mutex_t *m, clockid_t clock,
                               const struct timespec *abstime)
{
    if (!c || !m)
        return EINVAL;
    if (LD(&m->owner) != scl__tid())
        return EPERM;
    uint64_t dl;
    int r = scl__deadline(clock, abstime, &dl);
    if (r)
        return r;
    return scl__cond_wait_generic(c, m, unlock_scl, lock_scl, &dl);
}

SCL_API int scl_cond_timedwait(scl_cond_t *c, scl_mutex_t *m, const struct timespec *abstime)
{
    return scl_cond_clockwait(c, m, CLOCK_REALTIME, abstime);
}

SCL_API int scl_cond_signal(scl_cond_t *c)
{
    if (!c)
        return EINVAL;
    __atomic_add_fetch(&c->seq, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&c->waiters, __ATOMIC_SEQ_CST))
        futex_wake(&c->seq, 1, c->pshared);
    return 0;
}

SCL_API int scl_cond_broadcast(scl_cond_t *c)
{
    if (!c)
        return EINVAL;
    __atomic_add_fetch(&c->seq, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&c->waiters, __ATOMIC_SEQ_CST))
        futex_wake(&c->seq, INT_MAX, c->pshared);
    return 0;
}
