/*
 * thread.c - per-thread state: cached tid, the table of mutexes a thread
 * participates in, the exit destructor, the live-lock registry and the
 * fork handler.
 */
#include "scl_internal.h"

#include <pthread.h>
#include <stdlib.h>

SCL_HIDDEN __thread pid_t scl__cached_tid __attribute__((tls_model("initial-exec")));
#define cached_tid scl__cached_tid
static __thread struct scl_tls_entry tls_locks[SCL_TLS_LOCKS];
static __thread unsigned tls_next;      /* round-robin eviction */
static __thread struct scl_tls_entry *tls_last;

static pthread_key_t exit_key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

pid_t scl__tid_slow(void)
{
    return cached_tid = (pid_t)syscall(SYS_gettid);
}

/* ---- internal futex lock (Drepper's "mutex 2": 0 free, 1 held, 2 contended) ---- */

void scl__ilock(scl_ilock_t *l)
{
    uint32_t c = 0;
    if (__atomic_compare_exchange_n(&l->w, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    if (c != 2)
        c = __atomic_exchange_n(&l->w, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        futex_wait_rel(&l->w, 2, UINT64_MAX, 0);
        c = __atomic_exchange_n(&l->w, 2, __ATOMIC_ACQUIRE);
    }
}

void scl__iunlock(scl_ilock_t *l)
{
    if (__atomic_exchange_n(&l->w, 0, __ATOMIC_RELEASE) == 2)
        futex_wake(&l->w, 1, 0);
}

/* ---- live-lock registry: open addressing, pointer -> id ---- */

struct reg_entry {
    struct scl_mutex *m;    /* NULL empty, TOMBSTONE deleted */
    uint64_t id;
};
#define TOMBSTONE ((struct scl_mutex *)1)

static scl_ilock_t reg_lock;
static struct reg_entry *reg_tab;
static size_t reg_cap, reg_used;      /* used counts tombstones too */
static uint64_t reg_next_id = 1;

static size_t ptr_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x;
}

static struct reg_entry *reg_lookup(struct scl_mutex *m)
{
    if (!reg_cap)
        return NULL;
    for (size_t i = ptr_hash(m) & (reg_cap - 1);; i = (i + 1) & (reg_cap - 1)) {
        if (reg_tab[i].m == m)
            return &reg_tab[i];
        if (reg_tab[i].m == NULL)
            return NULL;
    }
}

static int reg_grow(void)
{
    size_t ncap = reg_cap ? reg_cap * 2 : 256;
    struct reg_entry *nt = calloc(ncap, sizeof *nt);
    if (!nt)
        return ENOMEM;
    for (size_t i = 0; i < reg_cap; i++) {
        struct scl_mutex *m = reg_tab[i].m;
        if (m && m != TOMBSTONE) {
            size_t j = ptr_hash(m) & (ncap - 1);
            while (nt[j].m)
                j = (j + 1) & (ncap - 1);
            nt[j] = reg_tab[i];
        }
    }
    free(reg_tab);
    reg_tab = nt;
    reg_cap = ncap;
    size_t live = 0;
    for (size_t i = 0; i < ncap; i++)
        live += nt[i].m != NULL;
    reg_used = live;
    return 0;
}

/* Returns the id (never 0), or 0 when out of memory: the lock then works but
 * is not reset by the fork handler and relies on idle removal for exits. */
uint64_t scl__registry_add(struct scl_mutex *m)
{
    scl__ilock(&reg_lock);
    struct reg_entry *e = reg_lookup(m);
    uint64_t id = 0;
    if (!e && (reg_used + 1) * 2 > reg_cap && reg_grow() != 0)
        goto out;
    if (!e) {
        size_t i = ptr_hash(m) & (reg_cap - 1);
        while (reg_tab[i].m && reg_tab[i].m != TOMBSTONE)
            i = (i + 1) & (reg_cap - 1);
        if (!reg_tab[i].m)
            reg_used++;
        e = &reg_tab[i];
        e->m = m;
    }
    e->id = id = reg_next_id++;
out:
    scl__iunlock(&reg_lock);
    return id;
}

void scl__registry_remove(struct scl_mutex *m)
{
    scl__ilock(&reg_lock);
    struct reg_entry *e = reg_lookup(m);
    if (e)
        e->m = TOMBSTONE;
    scl__iunlock(&reg_lock);
}

/* ---- per-thread table ---- */

static void thread_exit(void *arg)
{
    (void)arg;
    pid_t me = scl__tid();
    /* Hold the registry lock while touching each lock: destroy() removes the
     * lock from the registry under the same lock, so a lock is either still
     * live for the whole leave or skipped. */
    scl__ilock(&reg_lock);
    for (int i = 0; i < SCL_TLS_LOCKS; i++) {
        struct scl_tls_entry *e = &tls_locks[i];
        if (!e->m || !e->id)
            continue;
        struct reg_entry *r = reg_lookup(e->m);
        if (r && r->id == e->id)
            scl__mutex_thread_exit(e->m, e->slot, me);
        e->m = NULL;
    }
    scl__iunlock(&reg_lock);
    tls_last = NULL;
}

static void fork_prepare(void) { scl__ilock(&reg_lock); }
static void fork_parent(void) { scl__iunlock(&reg_lock); }

/* In the child only the forking thread exists.  Locks held by any other
 * thread can never be released: reset them; locks held by the forking thread
 * stay held (by the same thread, under its new tid).  Process-shared locks
 * are left alone: other processes may be using them. */
static void fork_child(void)
{
    pid_t old = cached_tid ? cached_tid : 0;
    cached_tid = 0;
    pid_t now = scl__tid();
    reg_lock.w = 0;
    for (size_t i = 0; i < reg_cap; i++) {
        struct scl_mutex *m = reg_tab[i].m;
        if (m && m != TOMBSTONE)
            scl__mutex_after_fork(m, old, now);
    }
    /* The per-thread table stays valid: slots were renamed to the new tid. */
}

static void init_once(void)
{
    pthread_key_create(&exit_key, thread_exit);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

__attribute__((constructor)) static void thread_init(void) { pthread_once(&once, init_once); }

struct scl_tls_entry *scl__tls_find(struct scl_mutex *m)
{
    struct scl_tls_entry *e = tls_last;
    if (likely(e && e->m == m))
        return e;
    for (int i = 0; i < SCL_TLS_LOCKS; i++)
        if (tls_locks[i].m == m) {
            tls_last = &tls_locks[i];
            return tls_last;
        }
    return NULL;
}

struct scl_tls_entry *scl__tls_add(struct scl_mutex *m, int slot)
{
    pthread_once(&once, init_once);
    struct scl_tls_entry *e = NULL;
    for (int i = 0; i < SCL_TLS_LOCKS; i++)
        if (!tls_locks[i].m) {
            e = &tls_locks[i];
            break;
        }
    if (!e) {
        /* Evicted entries lose exit removal and fall back to idle removal. */
        e = &tls_locks[tls_next++ % SCL_TLS_LOCKS];
    }
    e->m = m;
    e->id = LD(&m->id);
    e->slot = slot;
    tls_last = e;
    pthread_setspecific(exit_key, (void *)1);
    return e;
}

/* Drops a lock from this thread's table (the lock is being destroyed). */
SCL_HIDDEN void scl__tls_forget(struct scl_mutex *m)
{
    for (int i = 0; i < SCL_TLS_LOCKS; i++)
        if (tls_locks[i].m == m)
            tls_locks[i].m = NULL;
    if (tls_last && tls_last->m == NULL)
        tls_last = NULL;
}
