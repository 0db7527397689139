/* conformance.c - POSIX results of every interposed call, one line each.
 *
 * An ordinary pthread program.  `make test` runs it twice, on glibc and
 * under LD_PRELOAD=libscl-preload.so, and compares the two outputs line by
 * line: the interposer must give the program the same answers glibc does.
 * Each line is "case: RESULT", RESULT an errno name (or "0"), or a yes/no
 * for a property that depends on time (a deadline on the right clock).
 * Only defined behaviour is exercised (no relock of a NORMAL mutex, no
 * unlock of a lock the caller does not hold, except where POSIX defines
 * the answer: ERRORCHECK and RECURSIVE mutexes, robust mutexes). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e)
{
    switch (e) {
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    case EPERM: return "EPERM";
    case EDEADLK: return "EDEADLK";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EOWNERDEAD: return "EOWNERDEAD";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    case EAGAIN: return "EAGAIN";
    default: return strerror(e);
    }
}

#define SHOW(name, expr) printf("%s: %s\n", name, ename(expr))
#define YESNO(name, cond) printf("%s: %s\n", name, (cond) ? "yes" : "no")

static const struct timespec past = {0, 0};          /* long expired, any clock */
static const struct timespec bad_ns = {0, 1000000000L};

static struct timespec in_ms(clockid_t clock, long ms)
{
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- a second thread that runs one call and reports its result ---- */

struct call {
    int (*fn)(void *);
    void *arg;
    int result;
};

static void *call_main(void *p)
{
    struct call *c = p;
    c->result = c->fn(c->arg);
    return NULL;
}

/* Runs fn(arg) on another thread, waits for it, returns its result. */
static int elsewhere(int (*fn)(void *), void *arg)
{
    struct call c = {fn, arg, -1};
    pthread_t t;
    pthread_create(&t, NULL, call_main, &c);
    pthread_join(t, NULL);
    return c.result;
}

static int do_mlock(void *m) { return pthread_mutex_lock(m); }
static int do_mtrylock(void *m) { return pthread_mutex_trylock(m); }
static int do_munlock(void *m) { return pthread_mutex_unlock(m); }
static int do_mtimed_past(void *m) { return pthread_mutex_timedlock(m, &past); }
static int do_mtimed_bad(void *m) { return pthread_mutex_timedlock(m, &bad_ns); }
static int do_mclock_past(void *m) { return pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &past); }
/* rwlock calls on another thread; a lock it gets it releases again */
#define RW_ELSEWHERE(fname, call)                                           \
    static int fname(void *p)                                               \
    {                                                                       \
        pthread_rwlock_t *l = p;                                            \
        int r = call;                                                       \
        if (r == 0)                                                         \
            pthread_rwlock_unlock(l);                                       \
        return r;                                                           \
    }
RW_ELSEWHERE(do_rdlock, pthread_rwlock_rdlock(l))
RW_ELSEWHERE(do_wrlock, pthread_rwlock_wrlock(l))
RW_ELSEWHERE(do_tryrd, pthread_rwlock_tryrdlock(l))
RW_ELSEWHERE(do_trywr, pthread_rwlock_trywrlock(l))
RW_ELSEWHERE(do_timedrd_past, pthread_rwlock_timedrdlock(l, &past))
RW_ELSEWHERE(do_timedwr_past, pthread_rwlock_timedwrlock(l, &past))
RW_ELSEWHERE(do_timedwr_bad, pthread_rwlock_timedwrlock(l, &bad_ns))
RW_ELSEWHERE(do_clockrd_past, pthread_rwlock_clockrdlock(l, CLOCK_MONOTONIC, &past))

/* Locks m and exits with it held (for robust mutexes). */
static int lock_and_exit(void *m) { return pthread_mutex_lock(m); }

static void init_mutex(pthread_mutex_t *m, int type, int robust)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, type);
    if (robust)
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

/* ---- mutexes: the same script for every kind ---- */

static void mutex_kind(const char *kind, int type)
{
    char name[96];
    pthread_mutex_t m;
    init_mutex(&m, type, 0);
#define N(s) (snprintf(name, sizeof name, "mutex %s: %s", kind, s), name)
    /* A lock that can be taken at once must be taken: the deadline (even
     * an invalid one) is not looked at (POSIX timedlock, glibc). */
    SHOW(N("timedlock free, expired deadline"), pthread_mutex_timedlock(&m, &past));
    SHOW(N("unlock"), pthread_mutex_unlock(&m));
    SHOW(N("timedlock free, tv_nsec 1e9"), pthread_mutex_timedlock(&m, &bad_ns));
    SHOW(N("unlock"), pthread_mutex_unlock(&m));
    SHOW(N("clocklock MONOTONIC free, expired"), pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &past));
    SHOW(N("unlock"), pthread_mutex_unlock(&m));
    SHOW(N("clocklock REALTIME free, expired"), pthread_mutex_clocklock(&m, CLOCK_REALTIME, &past));
    SHOW(N("unlock"), pthread_mutex_unlock(&m));
    SHOW(N("clocklock PROCESS_CPUTIME free"),
         pthread_mutex_clocklock(&m, CLOCK_PROCESS_CPUTIME_ID, &past));
    SHOW(N("trylock free"), pthread_mutex_trylock(&m));
    /* held by this thread */
    SHOW(N("trylock by other thread"), elsewhere(do_mtrylock, &m));
    SHOW(N("timedlock by other thread, expired"), elsewhere(do_mtimed_past, &m));
    SHOW(N("timedlock by other thread, tv_nsec 1e9"), elsewhere(do_mtimed_bad, &m));
    SHOW(N("clocklock MONOTONIC by other thread, expired"), elsewhere(do_mclock_past, &m));
    if (type == PTHREAD_MUTEX_ERRORCHECK || type == PTHREAD_MUTEX_RECURSIVE) {
        /* relocking a NORMAL or ADAPTIVE mutex deadlocks (or is undefined) */
        SHOW(N("trylock by owner"), pthread_mutex_trylock(&m));
        SHOW(N("timedlock by owner, expired"), pthread_mutex_timedlock(&m, &past));
        SHOW(N("lock by owner"), pthread_mutex_lock(&m));
        SHOW(N("unlock by other thread"), elsewhere(do_munlock, &m));
    }
    if (type == PTHREAD_MUTEX_RECURSIVE) {
        SHOW(N("unlock 4"), pthread_mutex_unlock(&m));
        SHOW(N("unlock 3"), pthread_mutex_unlock(&m));
        SHOW(N("unlock 2"), pthread_mutex_unlock(&m));
    }
    SHOW(N("unlock"), pthread_mutex_unlock(&m));
    if (type == PTHREAD_MUTEX_ERRORCHECK || type == PTHREAD_MUTEX_RECURSIVE)
        SHOW(N("unlock when unlocked"), pthread_mutex_unlock(&m));
    SHOW(N("lock by other thread then it exits"), elsewhere(do_mlock, &m));
    SHOW(N("destroy while locked"), pthread_mutex_destroy(&m) == EBUSY ? EBUSY : 0);
    if (type == PTHREAD_MUTEX_ERRORCHECK || type == PTHREAD_MUTEX_RECURSIVE)
        SHOW(N("unlock of a lock another thread holds"), pthread_mutex_unlock(&m));
#undef N
}

static void mutex_robust(void)
{
    pthread_mutex_t m;
    init_mutex(&m, PTHREAD_MUTEX_NORMAL, 1);
    SHOW("robust: owner exits holding it", elsewhere(lock_and_exit, &m));
    SHOW("robust: lock after owner died", pthread_mutex_lock(&m));
    SHOW("robust: consistent", pthread_mutex_consistent(&m));
    SHOW("robust: unlock", pthread_mutex_unlock(&m));
    SHOW("robust: lock again", pthread_mutex_lock(&m));
    SHOW("robust: consistent when consistent", pthread_mutex_consistent(&m));
    SHOW("robust: unlock again", pthread_mutex_unlock(&m));
    SHOW("robust: owner exits again", elsewhere(lock_and_exit, &m));
    SHOW("robust: trylock after owner died", pthread_mutex_trylock(&m));
    SHOW("robust: unlock without consistent", pthread_mutex_unlock(&m));
    SHOW("robust: lock when not recoverable", pthread_mutex_lock(&m));
    SHOW("robust: trylock when not recoverable", pthread_mutex_trylock(&m));
    SHOW("robust: destroy", pthread_mutex_destroy(&m));

    pthread_mutex_t plain = PTHREAD_MUTEX_INITIALIZER;
    SHOW("non-robust: consistent", pthread_mutex_consistent(&plain));
}

/* ---- condition variables ---- */

static void cond_clock(const char *label, clockid_t clock, int use_attr, int clockwait)
{
    char name[96];
    pthread_cond_t c;
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    if (use_attr)
        pthread_condattr_setclock(&a, clock);
    pthread_cond_init(&c, &a);
    pthread_condattr_destroy(&a);
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
#define N(s) (snprintf(name, sizeof name, "cond %s: %s", label, s), name)
    pthread_mutex_lock(&m);
    /* A deadline 30 ms ahead on the condvar's clock must time out after
     * about 30 ms: read on the wrong clock it would be decades off. */
    struct timespec dl = in_ms(clock, 30), t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = clockwait ? pthread_cond_clockwait(&c, &m, clock, &dl) : pthread_cond_timedwait(&c, &m, &dl);
    double ms = ms_since(&t0);
    SHOW(N("wait 30 ms"), r);
    YESNO(N("waited 20..2000 ms"), ms >= 20 && ms < 2000);
    SHOW(N("mutex held after the timeout (trylock by other thread)"), elsewhere(do_mtrylock, &m));
    r = clockwait ? pthread_cond_clockwait(&c, &m, clock, &past) : pthread_cond_timedwait(&c, &m, &past);
    SHOW(N("wait, expired deadline"), r);
    r = clockwait ? pthread_cond_clockwait(&c, &m, clock, &bad_ns) : pthread_cond_timedwait(&c, &m, &bad_ns);
    SHOW(N("wait, tv_nsec 1e9"), r);
    pthread_mutex_unlock(&m);
    SHOW(N("signal without waiters"), pthread_cond_signal(&c));
    SHOW(N("broadcast without waiters"), pthread_cond_broadcast(&c));
    SHOW(N("destroy"), pthread_cond_destroy(&c));
#undef N
}

static void cond_misc(void)
{
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    pthread_mutex_t em;
    init_mutex(&em, PTHREAD_MUTEX_ERRORCHECK, 0);
    SHOW("cond: wait on an errorcheck mutex not held", pthread_cond_timedwait(&c, &em, &past));
    pthread_mutex_lock(&em);
    SHOW("cond: clockwait PROCESS_CPUTIME", pthread_cond_clockwait(&c, &em, CLOCK_PROCESS_CPUTIME_ID, &past));
    SHOW("cond: errorcheck mutex still held (relock)", pthread_mutex_lock(&em));
    pthread_mutex_unlock(&em);
    pthread_mutex_destroy(&em);
}

/* ---- rwlocks ---- */

/* Shows a lock call's result and releases what it got (unlocking a
 * rwlock the caller does not hold is undefined, so only then). */
#define RW_SHOW(name, lock, call)                                           \
    do {                                                                    \
        int r_ = call;                                                      \
        SHOW(name, r_);                                                     \
        if (r_ == 0)                                                        \
            SHOW(name " - unlock", pthread_rwlock_unlock(lock));            \
    } while (0)

/* Every non-blocking probe another thread can make while this thread
 * holds the rwlock (`held`: how). */
static void probes_from_other_thread(const char *held, pthread_rwlock_t *l)
{
    static const struct { const char *what; int (*fn)(void *); } probes[] = {
        {"tryrdlock", do_tryrd},
        {"trywrlock", do_trywr},
        {"timedrdlock, expired", do_timedrd_past},
        {"clockrdlock MONOTONIC, expired", do_clockrd_past},
        {"timedwrlock, expired", do_timedwr_past},
        {"timedwrlock, tv_nsec 1e9", do_timedwr_bad},
    };
    char name[96];
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        snprintf(name, sizeof name, "rwlock %s: %s by other thread", held, probes[i].what);
        SHOW(name, elsewhere(probes[i].fn, l));
    }
}

static void rwlock_all(void)
{
    pthread_rwlock_t l;
    pthread_rwlock_init(&l, NULL);
    RW_SHOW("rwlock: timedrdlock free, expired", &l, pthread_rwlock_timedrdlock(&l, &past));
    RW_SHOW("rwlock: timedwrlock free, expired", &l, pthread_rwlock_timedwrlock(&l, &past));
    RW_SHOW("rwlock: timedwrlock free, tv_nsec 1e9", &l, pthread_rwlock_timedwrlock(&l, &bad_ns));
    RW_SHOW("rwlock: timedrdlock free, tv_nsec 1e9", &l, pthread_rwlock_timedrdlock(&l, &bad_ns));
    RW_SHOW("rwlock: clockrdlock MONOTONIC free, expired", &l,
            pthread_rwlock_clockrdlock(&l, CLOCK_MONOTONIC, &past));
    RW_SHOW("rwlock: clockwrlock REALTIME free, expired", &l,
            pthread_rwlock_clockwrlock(&l, CLOCK_REALTIME, &past));
    RW_SHOW("rwlock: clockwrlock PROCESS_CPUTIME", &l,
            pthread_rwlock_clockwrlock(&l, CLOCK_PROCESS_CPUTIME_ID, &past));
    RW_SHOW("rwlock: tryrdlock free", &l, pthread_rwlock_tryrdlock(&l));
    RW_SHOW("rwlock: trywrlock free", &l, pthread_rwlock_trywrlock(&l));

    SHOW("rwlock: wrlock", pthread_rwlock_wrlock(&l));
    SHOW("rwlock: rdlock by the writer", pthread_rwlock_rdlock(&l));
    SHOW("rwlock: wrlock by the writer", pthread_rwlock_wrlock(&l));
    SHOW("rwlock: timedwrlock by the writer, expired", pthread_rwlock_timedwrlock(&l, &past));
    probes_from_other_thread("write-locked", &l);
    SHOW("rwlock: unlock by the writer", pthread_rwlock_unlock(&l));

    SHOW("rwlock: rdlock", pthread_rwlock_rdlock(&l));
    SHOW("rwlock: rdlock again (recursive read)", pthread_rwlock_rdlock(&l));
    probes_from_other_thread("read-locked", &l);
    SHOW("rwlock: unlock a read lock", pthread_rwlock_unlock(&l));
    SHOW("rwlock: unlock the other read lock", pthread_rwlock_unlock(&l));
    SHOW("rwlock: wrlock by other thread", elsewhere(do_wrlock, &l));
    SHOW("rwlock: rdlock by other thread", elsewhere(do_rdlock, &l));
    SHOW("rwlock: destroy", pthread_rwlock_destroy(&l));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    mutex_kind("default", PTHREAD_MUTEX_DEFAULT);
    mutex_kind("errorcheck", PTHREAD_MUTEX_ERRORCHECK);
    mutex_kind("recursive", PTHREAD_MUTEX_RECURSIVE);
    mutex_kind("adaptive", PTHREAD_MUTEX_ADAPTIVE_NP);
    mutex_robust();
    cond_clock("REALTIME default", CLOCK_REALTIME, 0, 0);
    cond_clock("MONOTONIC condattr", CLOCK_MONOTONIC, 1, 0);
    cond_clock("clockwait MONOTONIC", CLOCK_MONOTONIC, 0, 1);
    cond_clock("clockwait REALTIME", CLOCK_REALTIME, 0, 1);
    cond_misc();
    rwlock_all();
    return 0;
}
