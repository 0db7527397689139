/*
 * preload.c - libscl-preload.so: run an unmodified program's pthread
 * mutexes, condition variables and rwlocks on SCL (LD_PRELOAD).
 *
 * Mapping pthread_mutex_t -> scl_mutex_t: a pointer stored inside the
 * pthread_mutex_t, in __data.__list.__prev, tagged with bit 0.  glibc uses
 * __list only for robust mutexes, and those are never mapped (they fall
 * back, below); its list pointers are 8-byte aligned, so a set bit 0 means
 * "an SCL lock lives here" and nothing else.  Why a pointer and not a side
 * table: one load finds the lock and says it is one (no hash, no kind
 * check, no global table to contend on or to lock during fork; the kind
 * is checked once, when the pointer is installed), and a statically
 * initialised mutex (PTHREAD_MUTEX_INITIALIZER is all zeros) needs no init
 * call: its first user allocates the scl_mutex_t and installs it with a CAS
 * (losers free theirs).  The scl_mutex_t objects come from an mmap-backed
 * pool, never from malloc, so an allocator that itself uses pthread mutexes
 * cannot recurse into us.  A mutex freed without pthread_mutex_destroy leaks
 * its scl_mutex_t (about 7 KiB); one re-used by memset(0) gets a fresh one.
 *
 * Which mutexes run on SCL: kinds PTHREAD_MUTEX_NORMAL/DEFAULT, ERRORCHECK
 * and ADAPTIVE_NP, not process-shared, not robust, protocol NONE.  Everything
 * else (RECURSIVE, PRIO_INHERIT/PROTECT, robust, pshared) falls back to the
 * real glibc functions (dlsym(RTLD_NEXT)), decided from __data.__kind, which
 * both initialisers and pthread_mutex_init set.  SCL reports relocking by the
 * owner as EDEADLK for every kind (undefined behaviour for NORMAL anyway).
 *
 * Condition variables: one implementation for all mutexes, the futex
 * sequence condvar of cond.c, stored inside the pthread_cond_t (an
 * scl_cond is 32 bytes, a pthread_cond_t 48; PTHREAD_COND_INITIALIZER is
 * a valid empty one).  Waiting releases and re-acquires the mutex through
 * the matching implementation (SCL or the real glibc functions for fallback
 * mutexes), so signal/broadcast never need to know which kind waits.
 *
 * Rwlocks: a pointer to a pool-allocated scl_rwlock_t in __pad2 (zero in
 * PTHREAD_RWLOCK_INITIALIZER, never used by glibc); process-shared rwlocks
 * (__shared != 0) fall back to glibc.
 *
 * Not interposed: calls glibc makes internally without the PLT (e.g. its
 * own locks in stdio, malloc, dl*); they never see user mutexes except via
 * glibc's own pthread_cond_* implementation, which we replace entirely.
 *
 * Environment: SCL_PRELOAD_DISABLE=1 forwards everything to glibc;
 * SCL_PRELOAD_SLICE_US sets the lock slice (default 2000);
 * SCL_PRELOAD_STATS=1 prints counters to stderr at exit (processes that
 * used any mutex, rwlock or condvar);
 * SCL_PRELOAD_WEIGHT=nice|cgroup|explicit picks the mutexes' weight source
 * (default nice), so that a program's threads placed in different cpu
 * cgroups get lock opportunity in proportion to their groups' weights;
 * SCL_PRELOAD_STATS_FILE=PATH makes a reporter thread rewrite PATH every
 * SCL_PRELOAD_STATS_INTERVAL_MS (default 100) and at exit with the per-thread
 * statistics of the first MAX_REPORTED mutexes, as one JSON object
 * (written to PATH.tmp and renamed, so a reader never sees half a file).
 */
#include "scl_internal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

_Static_assert(sizeof(struct scl_cond) <= sizeof(pthread_cond_t), "scl_cond must fit a pthread_cond_t");

#define EXPORT __attribute__((visibility("default")))

/* ---- the real functions ---- */

static struct {
    int (*mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
    int (*mutex_destroy)(pthread_mutex_t *);
    int (*mutex_lock)(pthread_mutex_t *);
    int (*mutex_trylock)(pthread_mutex_t *);
    int (*mutex_timedlock)(pthread_mutex_t *, const struct timespec *);
    int (*mutex_clocklock)(pthread_mutex_t *, clockid_t, const struct timespec *);
    int (*mutex_unlock)(pthread_mutex_t *);
    int (*mutex_consistent)(pthread_mutex_t *);
    int (*rw_init)(pthread_rwlock_t *, const pthread_rwlockattr_t *);
    int (*rw_destroy)(pthread_rwlock_t *);
    int (*rw_rdlock)(pthread_rwlock_t *);
    int (*rw_wrlock)(pthread_rwlock_t *);
    int (*rw_tryrdlock)(pthread_rwlock_t *);
    int (*rw_trywrlock)(pthread_rwlock_t *);
    int (*rw_timedrdlock)(pthread_rwlock_t *, const struct timespec *);
    int (*rw_timedwrlock)(pthread_rwlock_t *, const struct timespec *);
    int (*rw_clockrdlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
    int (*rw_clockwrlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
    int (*rw_unlock)(pthread_rwlock_t *);
} real;

static int resolved, disabled;
/* 1 once resolved with SCL enabled: the one load the fast paths make
 * before looking at the mutex (release-published after read_env()). */
static int scl_enabled;
static uint64_t slice_ns = 2000000;
static int print_stats;
static int weight_source = SCL_WEIGHT_NICE;
static char stats_path[4096];
static uint64_t stats_interval_ns = 100000000ull;

/* Mutexes whose statistics the reporter writes.  Append-only: a slot is
 * published with a RELEASE store of `reported` after it is written, and a
 * destroyed mutex stays listed (its pool memory is never unmapped, so the
 * reporter reads a valid, possibly re-initialised, lock). */
#define MAX_REPORTED 16
static scl_mutex_t *reported_locks[MAX_REPORTED];
static uint32_t reported;

static struct {
    uint64_t scl_mutexes, fallback_mutexes, scl_locks, fallback_locks, rwlocks, cond_waits;
} counts;
#define COUNT(f) __atomic_add_fetch(&counts.f, 1, __ATOMIC_RELAXED)

#define RESOLVE(field, name) real.field = (__typeof__(real.field))dlsym(RTLD_NEXT, name)

static void read_env(void);
static int resolving;
static __thread int in_resolve;

static void resolve(void)
{
    int z = 0;
    if (in_resolve)
        return;     /* re-entered from dlsym: SCL-kind mutexes need nothing resolved */
    if (!__atomic_compare_exchange_n(&resolving, &z, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        while (!__atomic_load_n(&resolved, __ATOMIC_ACQUIRE))
            sched_yield();
        return;
    }
    in_resolve = 1;
    /* dlsym(RTLD_NEXT) does not take pthread mutexes through the PLT on
     * glibc >= 2.34 (ld.so uses its own internal locks), so resolving from
     * inside an interposed call cannot recurse. */
    RESOLVE(mutex_init, "pthread_mutex_init");
    RESOLVE(mutex_destroy, "pthread_mutex_destroy");
    RESOLVE(mutex_lock, "pthread_mutex_lock");
    RESOLVE(mutex_trylock, "pthread_mutex_trylock");
    RESOLVE(mutex_timedlock, "pthread_mutex_timedlock");
    RESOLVE(mutex_clocklock, "pthread_mutex_clocklock");
    RESOLVE(mutex_unlock, "pthread_mutex_unlock");
    RESOLVE(mutex_consistent, "pthread_mutex_consistent");
    RESOLVE(rw_init, "pthread_rwlock_init");
    RESOLVE(rw_destroy, "pthread_rwlock_destroy");
    RESOLVE(rw_rdlock, "pthread_rwlock_rdlock");
    RESOLVE(rw_wrlock, "pthread_rwlock_wrlock");
    RESOLVE(rw_tryrdlock, "pthread_rwlock_tryrdlock");
    RESOLVE(rw_trywrlock, "pthread_rwlock_trywrlock");
    RESOLVE(rw_timedrdlock, "pthread_rwlock_timedrdlock");
    RESOLVE(rw_timedwrlock, "pthread_rwlock_timedwrlock");
    RESOLVE(rw_clockrdlock, "pthread_rwlock_clockrdlock");
    RESOLVE(rw_clockwrlock, "pthread_rwlock_clockwrlock");
    RESOLVE(rw_unlock, "pthread_rwlock_unlock");
    read_env();
    in_resolve = 0;
    __atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&scl_enabled, !disabled, __ATOMIC_RELEASE);
}

static inline void ensure_resolved(void)
{
    if (unlikely(!__atomic_load_n(&resolved, __ATOMIC_ACQUIRE)))
        resolve();
}

static void at_exit_stats(void)
{
    if (print_stats && (counts.scl_mutexes || counts.fallback_mutexes || counts.fallback_locks ||
                        counts.rwlocks || counts.cond_waits))
        fprintf(stderr,
                "scl-preload: %llu scl mutexes (%llu lock calls), %llu fallback mutexes "
                "(%llu lock calls), %llu rwlocks, %llu cond waits\n",
                (unsigned long long)counts.scl_mutexes, (unsigned long long)counts.scl_locks,
                (unsigned long long)counts.fallback_mutexes, (unsigned long long)counts.fallback_locks,
                (unsigned long long)counts.rwlocks, (unsigned long long)counts.cond_waits);
}

/* Reads the environment once, at the first interposed call or at load. */
static void read_env(void)
{
    const char *e = getenv("SCL_PRELOAD_DISABLE");
    disabled = e && *e && strcmp(e, "0") != 0;
    e = getenv("SCL_PRELOAD_SLICE_US");
    if (e && *e) {
        char *end;
        unsigned long long us = strtoull(e, &end, 10);
        if (*end == 0 && us > 0 && us <= 10000000ull)
            slice_ns = us * 1000ull;
        else
            fprintf(stderr, "scl-preload: ignoring SCL_PRELOAD_SLICE_US=%s (want 1..10000000)\n", e);
    }
    e = getenv("SCL_PRELOAD_STATS");
    print_stats = e && *e && strcmp(e, "0") != 0;
    if (print_stats)
        atexit(at_exit_stats);
    e = getenv("SCL_PRELOAD_WEIGHT");
    if (e && *e) {
        if (strcmp(e, "nice") == 0)
            weight_source = SCL_WEIGHT_NICE;
        else if (strcmp(e, "cgroup") == 0)
            weight_source = SCL_WEIGHT_CGROUP;
        else if (strcmp(e, "explicit") == 0)
            weight_source = SCL_WEIGHT_EXPLICIT;
        else
            fprintf(stderr, "scl-preload: ignoring SCL_PRELOAD_WEIGHT=%s (want nice, cgroup or explicit)\n", e);
    }
    e = getenv("SCL_PRELOAD_STATS_INTERVAL_MS");
    if (e && *e) {
        char *end;
        unsigned long long ms = strtoull(e, &end, 10);
        if (*end == 0 && ms > 0 && ms <= 60000ull)
            stats_interval_ns = ms * 1000000ull;
        else
            fprintf(stderr, "scl-preload: ignoring SCL_PRELOAD_STATS_INTERVAL_MS=%s (want 1..60000)\n", e);
    }
    e = getenv("SCL_PRELOAD_STATS_FILE");
    if (e && *e) {
        if (strlen(e) + 5 > sizeof stats_path)
            fprintf(stderr, "scl-preload: ignoring SCL_PRELOAD_STATS_FILE: path too long\n");
        else
            strcpy(stats_path, e);
    }
}

/* ---- statistics file ---- */

static scl_ilock_t reported_lock;

/* Lists an installed mutex for the reporter (once, even when the pool hands
 * the same memory out again after a destroy). */
static void report_lock(scl_mutex_t *m)
{
    if (!stats_path[0])
        return;
    scl__ilock(&reported_lock);
    uint32_t n = reported, i = 0;
    while (i < n && reported_locks[i] != m)
        i++;
    if (i == n && n < MAX_REPORTED) {
        reported_locks[n] = m;
        __atomic_store_n(&reported, n + 1, __ATOMIC_RELEASE);   /* pairs with the reporter's ACQUIRE */
    }
    scl__iunlock(&reported_lock);
}

static void write_stats_file(void)
{
    static scl_thread_stats_t threads[256];   /* only the reporter and the exit handler write */
    static int writing;
    /* The exit handler may find the reporter mid-write: wait for it (bounded, in case the
     * reporter can no longer run), so the last snapshot is the exit one. */
    for (int spins = 0; __atomic_exchange_n(&writing, 1, __ATOMIC_ACQUIRE); spins++) {
        if (spins > 100000)
            return;
        sched_yield();
    }
    char tmp[sizeof stats_path + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", stats_path);
    FILE *f = fopen(tmp, "we");
    if (f) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        fprintf(f, "{\"pid\": %d, \"monotonic_ns\": %llu, \"locks\": [", (int)getpid(),
                (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec);
        uint32_t n = __atomic_load_n(&reported, __ATOMIC_ACQUIRE);
        for (uint32_t i = 0; i < n; i++) {
            scl_lock_stats_t ls;
            int k = scl_mutex_stats(reported_locks[i], &ls, threads, 256);
            if (k < 0)
                k = 0;
            if (k > 256)
                k = 256;
            fprintf(f, "%s{\"elapsed_ns\": %llu, \"hold_ns\": %llu, \"threads\": [", i ? ", " : "",
                    (unsigned long long)ls.elapsed_ns, (unsigned long long)ls.hold_ns);
            for (int t = 0; t < k; t++)
                fprintf(f, "%s{\"tid\": %d, \"weight\": %g, \"acquisitions\": %llu, \"hold_ns\": %llu, "
                        "\"wait_ns\": %llu, \"opportunity_ns\": %llu}", t ? ", " : "", (int)threads[t].tid,
                        threads[t].weight, (unsigned long long)threads[t].acquisitions,
                        (unsigned long long)threads[t].hold_ns, (unsigned long long)threads[t].wait_ns,
                        (unsigned long long)threads[t].opportunity_ns);
            fprintf(f, "]}");
        }
        fprintf(f, "]}\n");
        if (fclose(f) == 0)
            rename(tmp, stats_path);
    }
    __atomic_store_n(&writing, 0, __ATOMIC_RELEASE);
}

static void *stats_reporter(void *arg)
{
    (void)arg;
    struct timespec gap = {(time_t)(stats_interval_ns / 1000000000ull), (long)(stats_interval_ns % 1000000000ull)};
    for (;;) {
        nanosleep(&gap, NULL);
        write_stats_file();
    }
    return NULL;
}

static void start_stats_reporter(void)
{
    if (!stats_path[0] || disabled)
        return;
    atexit(write_stats_file);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, stats_reporter, NULL) != 0)
        fprintf(stderr, "scl-preload: cannot start the statistics reporter\n");
    pthread_attr_destroy(&a);
}

__attribute__((constructor)) static void preload_init(void)
{
    ensure_resolved();
    start_stats_reporter();
}

/* Lets a program (or a test) see that the interposer is loaded. */
EXPORT int scl_preload_active(void) { return !disabled; }
EXPORT uint64_t scl_preload_scl_mutexes(void) { return __atomic_load_n(&counts.scl_mutexes, __ATOMIC_RELAXED); }

/* ---- pool allocator (mmap; no malloc) ---- */

struct pool {
    scl_ilock_t lock;
    size_t size;
    void *free_list;
    char *chunk;
    size_t left;
};

static struct pool mutex_pool = {{0}, (sizeof(scl_mutex_t) + 63) & ~(size_t)63, NULL, NULL, 0};
static struct pool rw_pool = {{0}, (sizeof(scl_rwlock_t) + 63) & ~(size_t)63, NULL, NULL, 0};

static void *pool_get(struct pool *p)
{
    void *r = NULL;
    scl__ilock(&p->lock);
    if (p->free_list) {
        r = p->free_list;
        p->free_list = *(void **)r;
    } else {
        if (p->left < p->size) {
            size_t bytes = p->size * 64;
            void *c = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (c != MAP_FAILED) {
                p->chunk = c;
                p->left = bytes;
            }
        }
        if (p->left >= p->size) {
            r = p->chunk;
            p->chunk += p->size;
            p->left -= p->size;
        }
    }
    scl__iunlock(&p->lock);
    return r;
}

static void pool_put(struct pool *p, void *obj)
{
    scl__ilock(&p->lock);
    *(void **)obj = p->free_list;
    p->free_list = obj;
    scl__iunlock(&p->lock);
}

/* ---- mutexes ---- */

#define KIND_TYPE_MASK 0x7f   /* type + robust/PI/PP bits; elision bits above */
#define KIND_PSHARED 0x80

static inline int scl_kind(const pthread_mutex_t *pm)
{
    int k = __atomic_load_n(&pm->__data.__kind, __ATOMIC_RELAXED);
    if (k & KIND_PSHARED)
        return 0;
    k &= KIND_TYPE_MASK;
    return k == PTHREAD_MUTEX_NORMAL || k == PTHREAD_MUTEX_ERRORCHECK || k == PTHREAD_MUTEX_ADAPTIVE_NP;
}

static inline void **mutex_slot(pthread_mutex_t *pm) { return (void **)&pm->__data.__list.__prev; }

#define SCL_TAG ((uintptr_t)1)   /* pool objects are 64-byte aligned */

/* The SCL lock installed in pm, or NULL (never used, a fallback kind, or
 * the interposer disabled).  ACQUIRE pairs with the RELEASE that published
 * the initialised lock. */
static inline uintptr_t slot_word(pthread_mutex_t *pm)
{
    return (uintptr_t)__atomic_load_n(mutex_slot(pm), __ATOMIC_ACQUIRE);
}
static inline scl_mutex_t *untag(uintptr_t p) { return (scl_mutex_t *)(p - SCL_TAG); }
static inline scl_mutex_t *installed(pthread_mutex_t *pm)
{
    uintptr_t p = slot_word(pm);
    return likely(p & SCL_TAG) ? untag(p) : NULL;
}

static scl_mutex_t *new_scl_mutex(void)
{
    scl_mutex_t *m = pool_get(&mutex_pool);
    if (!m)
        return NULL;
    scl_mutexattr_t a;
    scl_mutexattr_init(&a);
    a.slice_ns = slice_ns;
    a.weight_source = weight_source;
    scl_mutex_init(m, &a);
    COUNT(scl_mutexes);
    return m;
}

static scl_mutex_t *install_mutex(void **slot);

/* The SCL lock behind pm, created on first use.  NULL: out of memory. */
static inline scl_mutex_t *get_mutex(pthread_mutex_t *pm)
{
    scl_mutex_t *m = installed(pm);
    if (likely(m))
        return m;
    return install_mutex(mutex_slot(pm));
}

/* Out of line, so the lock and unlock fast paths spill no registers. */
static __attribute__((noinline)) scl_mutex_t *install_mutex(void **slot)
{
    scl_mutex_t *fresh = new_scl_mutex();
    if (!fresh)
        return NULL;
    void *expect = NULL;
    /* RELEASE publishes the initialised lock to threads that load it with ACQUIRE */
    if (__atomic_compare_exchange_n(slot, &expect, (void *)((uintptr_t)fresh | SCL_TAG), 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        report_lock(fresh);
        return fresh;
    }
    scl_mutex_destroy(fresh);
    pool_put(&mutex_pool, fresh);
    __atomic_sub_fetch(&counts.scl_mutexes, 1, __ATOMIC_RELAXED);   /* lost the race */
    return (scl_mutex_t *)((uintptr_t)expect - SCL_TAG);
}

static inline int use_scl(pthread_mutex_t *pm)
{
    if (unlikely(!__atomic_load_n(&scl_enabled, __ATOMIC_ACQUIRE))) {
        ensure_resolved();
        if (disabled)
            return 0;
    }
    return scl_kind(pm);
}

EXPORT int pthread_mutex_init(pthread_mutex_t *pm, const pthread_mutexattr_t *attr)
{
    ensure_resolved();
    int type = PTHREAD_MUTEX_DEFAULT, pshared = PTHREAD_PROCESS_PRIVATE;
    int robust = PTHREAD_MUTEX_STALLED, proto = PTHREAD_PRIO_NONE;
    if (attr) {
        pthread_mutexattr_gettype(attr, &type);
        pthread_mutexattr_getpshared(attr, &pshared);
        pthread_mutexattr_getrobust(attr, &robust);
        pthread_mutexattr_getprotocol(attr, &proto);
    }
    int ok = !disabled && pshared == PTHREAD_PROCESS_PRIVATE && robust == PTHREAD_MUTEX_STALLED &&
             proto == PTHREAD_PRIO_NONE &&
             (type == PTHREAD_MUTEX_NORMAL || type == PTHREAD_MUTEX_ERRORCHECK ||
              type == PTHREAD_MUTEX_ADAPTIVE_NP);
    if (!ok) {
        COUNT(fallback_mutexes);
        return real.mutex_init(pm, attr);
    }
    memset(pm, 0, sizeof *pm);
    pm->__data.__kind = type;
    scl_mutex_t *m = new_scl_mutex();
    if (!m)
        return ENOMEM;
    __atomic_store_n(mutex_slot(pm), (void *)((uintptr_t)m | SCL_TAG), __ATOMIC_RELEASE);
    report_lock(m);
    return 0;
}

EXPORT int pthread_mutex_destroy(pthread_mutex_t *pm)
{
    ensure_resolved();
    if (!use_scl(pm))
        return real.mutex_destroy(pm);
    scl_mutex_t *m = installed(pm);
    if (!m)
        return 0;
    int r = scl_mutex_destroy(m);
    if (r)
        return r;
    __atomic_store_n(mutex_slot(pm), NULL, __ATOMIC_RELEASE);
    pool_put(&mutex_pool, m);
    return 0;
}

/* First lock of a mutex with nothing installed: a fallback kind, or an SCL
 * kind that needs its lock created. */
static __attribute__((noinline)) int mutex_lock_uninstalled(pthread_mutex_t *pm)
{
    if (!use_scl(pm)) {
        ensure_resolved();
        if (unlikely(print_stats))
            COUNT(fallback_locks);
        return real.mutex_lock(pm);
    }
    scl_mutex_t *m = get_mutex(pm);
    if (unlikely(!m))
        return ENOMEM;
    if (unlikely(print_stats))
        COUNT(scl_locks);
    return scl_mutex_lock(m);
}

EXPORT int pthread_mutex_lock(pthread_mutex_t *pm)
{
    uintptr_t p = slot_word(pm);         /* the common case: one load */
    if (unlikely(!(p & SCL_TAG)))
        return mutex_lock_uninstalled(pm);
    if (unlikely(print_stats))
        COUNT(scl_locks);
    return scl_mutex_lock(untag(p));
}

EXPORT int pthread_mutex_trylock(pthread_mutex_t *pm)
{
    if (!use_scl(pm)) {
        ensure_resolved();
        if (unlikely(print_stats))
            COUNT(fallback_locks);
        return real.mutex_trylock(pm);
    }
    scl_mutex_t *m = get_mutex(pm);
    if (!m)
        return ENOMEM;
    if (unlikely(print_stats))
        COUNT(scl_locks);
    return scl_mutex_trylock(m);
}

EXPORT int pthread_mutex_timedlock(pthread_mutex_t *pm, const struct timespec *abstime)
{
    if (!use_scl(pm)) {
        ensure_resolved();
        if (unlikely(print_stats))
            COUNT(fallback_locks);
        return real.mutex_timedlock(pm, abstime);
    }
    scl_mutex_t *m = get_mutex(pm);
    if (!m)
        return ENOMEM;
    return scl_mutex_timedlock(m, abstime);
}

EXPORT int pthread_mutex_clocklock(pthread_mutex_t *pm, clockid_t clock, const struct timespec *abstime)
{
    if (!use_scl(pm)) {
        ensure_resolved();
        if (unlikely(print_stats))
            COUNT(fallback_locks);
        return real.mutex_clocklock(pm, clock, abstime);
    }
    scl_mutex_t *m = get_mutex(pm);
    if (!m)
        return ENOMEM;
    return scl_mutex_clocklock(m, clock, abstime);
}

static __attribute__((noinline)) int mutex_unlock_uninstalled(pthread_mutex_t *pm)
{
    if (!use_scl(pm)) {
        ensure_resolved();
        return real.mutex_unlock(pm);
    }
    return EPERM;                 /* an SCL kind never locked */
}

EXPORT int pthread_mutex_unlock(pthread_mutex_t *pm)
{
    uintptr_t p = slot_word(pm);
    if (unlikely(!(p & SCL_TAG)))
        return mutex_unlock_uninstalled(pm);
    return scl_mutex_unlock(untag(p));
}

EXPORT int pthread_mutex_consistent(pthread_mutex_t *pm)
{
    ensure_resolved();
    if (!use_scl(pm))
        return real.mutex_consistent(pm);
    return EINVAL;                /* SCL-mapped mutexes are never robust */
}

/* ---- condition variables ---- */

static inline struct scl_cond *as_cond(pthread_cond_t *c) { return (struct scl_cond *)(void *)c; }

EXPORT int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
    int pshared = PTHREAD_PROCESS_PRIVATE;
    clockid_t clock = CLOCK_REALTIME;
    if (attr) {
        pthread_condattr_getpshared(attr, &pshared);
        pthread_condattr_getclock(attr, &clock);
    }
    memset(c, 0, sizeof *c);
    struct scl_cond *sc = as_cond(c);
    scl_cond_init(sc, pshared == PTHREAD_PROCESS_SHARED);
    sc->clock = (int32_t)clock;
    return 0;
}

EXPORT int pthread_cond_destroy(pthread_cond_t *c) { return scl_cond_destroy(as_cond(c)); }
EXPORT int pthread_cond_signal(pthread_cond_t *c) { return scl_cond_signal(as_cond(c)); }
EXPORT int pthread_cond_broadcast(pthread_cond_t *c) { return scl_cond_broadcast(as_cond(c)); }

static int unlock_any(void *pm) { return pthread_mutex_unlock(pm); }
static int lock_any(void *pm) { return pthread_mutex_lock(pm); }

static int cond_wait(pthread_cond_t *c, pthread_mutex_t *pm, clockid_t clock, const struct timespec *abstime)
{
    uint64_t dl, *dlp = NULL;
    if (abstime) {
        int r = scl__deadline(clock, abstime, &dl);
        if (r)
            return r;
        dlp = &dl;
    }
    if (use_scl(pm)) {
        /* ownership check before touching the condvar (EPERM, as errorcheck) */
        scl_mutex_t *m = installed(pm);
        if (!m || LD(&m->owner) != scl__tid())
            return EPERM;
    }
    if (unlikely(print_stats))
        COUNT(cond_waits);
    return scl__cond_wait_generic(as_cond(c), pm, unlock_any, lock_any, dlp);
}

EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *pm)
{
    return cond_wait(c, pm, CLOCK_REALTIME, NULL);
}

EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *pm, const struct timespec *abstime)
{
    return cond_wait(c, pm, (clockid_t)as_cond(c)->clock, abstime);
}

EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *pm, clockid_t clock,
                                  const struct timespec *abstime)
{
    return cond_wait(c, pm, clock, abstime);
}

/* ---- rwlocks ---- */

static inline void **rw_slot(pthread_rwlock_t *rw) { return (void **)&rw->__data.__pad2; }

static inline int rw_use_scl(pthread_rwlock_t *rw)
{
    ensure_resolved();
    return !disabled && __atomic_load_n(&rw->__data.__shared, __ATOMIC_RELAXED) == 0;
}

static scl_rwlock_t *new_rw(void)
{
    scl_rwlock_t *l = pool_get(&rw_pool);
    if (!l)
        return NULL;
    scl_rwlock_init(l, NULL);
    COUNT(rwlocks);
    return l;
}

static inline scl_rwlock_t *get_rw(pthread_rwlock_t *rw)
{
    void **slot = rw_slot(rw);
    scl_rwlock_t *l = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (likely(l))
        return l;
    scl_rwlock_t *fresh = new_rw();
    if (!fresh)
        return NULL;
    void *expect = NULL;
    if (__atomic_compare_exchange_n(slot, &expect, fresh, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return fresh;
    pool_put(&rw_pool, fresh);
    __atomic_sub_fetch(&counts.rwlocks, 1, __ATOMIC_RELAXED);       /* lost the race */
    return expect;
}

EXPORT int pthread_rwlock_init(pthread_rwlock_t *rw, const pthread_rwlockattr_t *attr)
{
    ensure_resolved();
    int pshared = PTHREAD_PROCESS_PRIVATE;
    if (attr)
        pthread_rwlockattr_getpshared(attr, &pshared);
    if (disabled || pshared == PTHREAD_PROCESS_SHARED)
        return real.rw_init(rw, attr);
    memset(rw, 0, sizeof *rw);
    scl_rwlock_t *l = new_rw();
    if (!l)
        return ENOMEM;
    __atomic_store_n(rw_slot(rw), l, __ATOMIC_RELEASE);
    return 0;
}

EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
    ensure_resolved();
    if (!rw_use_scl(rw))
        return real.rw_destroy(rw);
    scl_rwlock_t *l = __atomic_load_n(rw_slot(rw), __ATOMIC_ACQUIRE);
    if (!l)
        return 0;
    int r = scl_rwlock_destroy(l);
    if (r)
        return r;
    __atomic_store_n(rw_slot(rw), NULL, __ATOMIC_RELEASE);
    pool_put(&rw_pool, l);
    return 0;
}

#define RW_FORWARD(name, realf, sclf)                                       \
    EXPORT int name(pthread_rwlock_t *rw)                                   \
    {                                                                       \
        ensure_resolved();                                                  \
        if (!rw_use_scl(rw))                                                \
            return real.realf(rw);                                          \
        scl_rwlock_t *l = get_rw(rw);                                       \
        return l ? sclf(l) : ENOMEM;                                        \
    }

RW_FORWARD(pthread_rwlock_rdlock, rw_rdlock, scl_rwlock_rdlock)
RW_FORWARD(pthread_rwlock_wrlock, rw_wrlock, scl_rwlock_wrlock)
RW_FORWARD(pthread_rwlock_tryrdlock, rw_tryrdlock, scl_rwlock_tryrdlock)
RW_FORWARD(pthread_rwlock_trywrlock, rw_trywrlock, scl_rwlock_trywrlock)

EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
    ensure_resolved();
    if (!rw_use_scl(rw))
        return real.rw_unlock(rw);
    scl_rwlock_t *l = __atomic_load_n(rw_slot(rw), __ATOMIC_ACQUIRE);
    return l ? scl_rwlock_unlock(l) : EPERM;
}

EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *rw, clockid_t clock, const struct timespec *t)
{
    ensure_resolved();
    if (!rw_use_scl(rw))
        return real.rw_clockrdlock(rw, clock, t);
    scl_rwlock_t *l = get_rw(rw);
    return l ? scl_rwlock_clockrdlock(l, clock, t) : ENOMEM;
}

EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *rw, clockid_t clock, const struct timespec *t)
{
    ensure_resolved();
    if (!rw_use_scl(rw))
        return real.rw_clockwrlock(rw, clock, t);
    scl_rwlock_t *l = get_rw(rw);
    return l ? scl_rwlock_clockwrlock(l, clock, t) : ENOMEM;
}

EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *rw, const struct timespec *t)
{
    ensure_resolved();
    if (!rw_use_scl(rw))
        return real.rw_timedrdlock(rw, t);
    scl_rwlock_t *l = get_rw(rw);
    return l ? scl_rwlock_clockrdlock(l, CLOCK_REALTIME, t) : ENOMEM;
}

EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *rw, const struct timespec *t)
{
    ensure_resolved();
    if (!rw_use_scl(rw))
        return real.rw_timedwrlock(rw, t);
    scl_rwlock_t *l = get_rw(rw);
    return l ? scl_rwlock_clockwrlock(l, CLOCK_REALTIME, t) : ENOMEM;
}
