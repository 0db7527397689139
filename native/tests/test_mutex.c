/* Mutual exclusion, error codes, timeouts and condition variables. */
#include "testlib.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "scl.h"

static scl_mutex_t mx;
static long counter;             /* plain: TSan reports any race */
static int inside;

struct hammer_arg { int iters; int mode; };

static void *hammer(void *p)
{
    struct hammer_arg *a = p;
    for (int i = 0; i < a->iters; i++) {
        int r;
        if (a->mode == 1 && (i & 3) == 0) {
            while ((r = scl_mutex_trylock(&mx)) == EBUSY) {}
        } else if (a->mode == 1 && (i & 3) == 1) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += 5;
            r = scl_mutex_clocklock(&mx, CLOCK_MONOTONIC, &ts);
        } else {
            r = scl_mutex_lock(&mx);
        }
        EXPECT(r == 0);
        if (r)
            continue;
        EXPECT(__atomic_add_fetch(&inside, 1, __ATOMIC_RELAXED) == 1);
        counter++;
        __atomic_sub_fetch(&inside, 1, __ATOMIC_RELAXED);
        EXPECT(scl_mutex_unlock(&mx) == 0);
    }
    return NULL;
}

TEST(mutual_exclusion_under_contention)
{
    scl_mutexattr_t a;
    scl_mutexattr_init(&a);
    a.slice_ns = 200000;           /* many slice hand-overs in a short run */
    CHECK_EQ(scl_mutex_init(&mx, &a), 0);
    counter = 0;
    pthread_t t[4];
    struct hammer_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i].iters = 20000;
        args[i].mode = i & 1;
        pthread_create(&t[i], NULL, hammer, &args[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(counter, 80000);
    scl_lock_stats_t st;
    scl_thread_stats_t th[8];
    int n = scl_mutex_stats(&mx, &st, th, 8);
    CHECK_EQ(n, 4);
    uint64_t acq = 0;
    for (int i = 0; i < n; i++)
        acq += th[i].acquisitions;
    CHECK_EQ(acq, 80000);
    CHECK(st.slices >= 1);
    CHECK_EQ(scl_mutex_destroy(&mx), 0);
}

static void *try_from_other(void *p)
{
    int *res = p;
    res[0] = scl_mutex_trylock(&mx);
    res[1] = scl_mutex_unlock(&mx);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    uint64_t t0 = tl_now_ns();
    res[2] = scl_mutex_timedlock(&mx, &ts);
    res[3] = (int)((tl_now_ns() - t0) / 1000000);
    return NULL;
}

TEST(error_codes)
{
    scl_mutexattr_t a;
    scl_mutexattr_init(&a);
    a.weight_source = 7;
    CHECK_EQ(scl_mutex_init(&mx, &a), EINVAL);
    scl_mutexattr_init(&a);
    a.slice_ns = 0;
    CHECK_EQ(scl_mutex_init(&mx, &a), EINVAL);
    CHECK_EQ(scl_mutex_init(&mx, NULL), 0);
    CHECK_EQ(scl_mutex_unlock(&mx), EPERM);          /* not held */
    CHECK_EQ(scl_mutex_lock(&mx), 0);
    CHECK_EQ(scl_mutex_lock(&mx), EDEADLK);
    CHECK_EQ(scl_mutex_trylock(&mx), EBUSY);
    CHECK_EQ(scl_mutex_destroy(&mx), EBUSY);
    CHECK_EQ(scl_mutex_set_slice(&mx, 1000000), EBUSY);
    CHECK_EQ(scl_mutex_consistent(&mx), EINVAL);     /* not robust */
    int res[4];
    pthread_t t;
    pthread_create(&t, NULL, try_from_other, res);
    pthread_join(t, NULL);
    CHECK_EQ(res[0], EBUSY);
    CHECK_EQ(res[1], EPERM);                          /* unlock by non-owner */
    CHECK_EQ(res[2], ETIMEDOUT);
    CHECK(res[3] >= 15 && res[3] < 1000);
    CHECK_EQ(scl_mutex_unlock(&mx), 0);
    CHECK_EQ(scl_mutex_set_slice(&mx, 0), EINVAL);
    CHECK_EQ(scl_mutex_set_slice(&mx, 1000000), 0);
    struct timespec bad = {0, 2000000000L};
    CHECK_EQ(scl_mutex_timedlock(&mx, &bad), 0);      /* free: the timeout is not looked at */
    CHECK_EQ(scl_mutex_unlock(&mx), 0);
    struct timespec past = {0, 0};
    CHECK_EQ(scl_mutex_timedlock(&mx, &past), 0);     /* free: a passed deadline still locks */
    CHECK_EQ(scl_mutex_timedlock(&mx, &past), EDEADLK);
    CHECK_EQ(scl_mutex_clocklock(&mx, CLOCK_MONOTONIC, &past), EDEADLK);
    CHECK_EQ(scl_mutex_unlock(&mx), 0);
    CHECK_EQ(scl_mutex_clocklock(&mx, CLOCK_MONOTONIC, &past), 0);
    CHECK_EQ(scl_mutex_unlock(&mx), 0);
    CHECK_EQ(scl_mutex_clocklock(&mx, CLOCK_PROCESS_CPUTIME_ID, &past), EINVAL);  /* clock first */
    CHECK_EQ(scl_mutex_destroy(&mx), 0);

    CHECK_EQ(scl_thread_set_weight(-1), EINVAL);
    CHECK_EQ(scl_thread_set_weight(NAN), EINVAL);
    CHECK_EQ(scl_thread_set_weight(INFINITY), EINVAL);
    CHECK_EQ(scl_thread_set_weight(2.5), 0);
    CHECK(scl_thread_get_weight() == 2.5);
    CHECK_EQ(scl_thread_set_weight(0), 0);
    CHECK(scl_thread_get_weight() == 0);
    CHECK_EQ(scl_nice_to_weight(0), 1024);
    CHECK_EQ(scl_nice_to_weight(5), 335);
    CHECK_EQ(scl_nice_to_weight(-20), 88761);
    CHECK_EQ(scl_nice_to_weight(20), 0);
}

/* A thread that used more than its share is banned: trylock says EBUSY and
 * a timed lock honours its deadline instead of sleeping out the ban. */
static int ban_phase;
static void *other_participant(void *p)
{
    (void)p;
    scl_mutex_lock(&mx);
    scl_mutex_unlock(&mx);
    __atomic_store_n(&ban_phase, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&ban_phase, __ATOMIC_ACQUIRE) != 2)
        tl_sleep_ms(1);
    return NULL;
}

TEST(banned_trylock_and_timeout)
{
    CHECK_EQ(scl_mutex_init(&mx, NULL), 0);
    ban_phase = 0;
    pthread_t t;
    pthread_create(&t, NULL, other_participant, NULL);
    while (__atomic_load_n(&ban_phase, __ATOMIC_ACQUIRE) != 1)
        tl_sleep_ms(1);
    tl_sleep_ms(3);                       /* the other thread's slice expires */
    CHECK_EQ(scl_mutex_lock(&mx), 0);
    tl_spin_ns(60000000);                 /* hold 60 ms with W = 2w: ban ~58 ms */
    CHECK_EQ(scl_mutex_unlock(&mx), 0);
    tl_sleep_ms(3);
    CHECK_EQ(scl_mutex_trylock(&mx), EBUSY);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += 10000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    uint64_t t0 = tl_now_ns();
    int r = scl_mutex_clocklock(&mx, CLOCK_MONOTONIC, &ts);
    uint64_t waited = tl_now_ns() - t0;
    CHECK_EQ(r, ETIMEDOUT);
    CHECK(waited < 40000000);             /* not the ~55 ms the ban has left */
    /* the ban ends: a plain lock succeeds */
    CHECK_EQ(scl_mutex_lock(&mx), 0);
    CHECK_EQ(scl_mutex_unlock(&mx), 0);
    __atomic_store_n(&ban_phase, 2, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    CHECK_EQ(scl_mutex_destroy(&mx), 0);
}

/* ---- condition variables ---- */

static scl_cond_t cv;
static int ready, consumed, woken;

static void *cv_waiter(void *p)
{
    (void)p;
    scl_mutex_lock(&mx);
    while (!ready)
        EXPECT(scl_cond_wait(&cv, &mx) == 0);
    woken++;
    scl_mutex_unlock(&mx);
    return NULL;
}

static void *consumer(void *p)
{
    int n = *(int *)p;
    for (int i = 0; i < n; i++) {
        scl_mutex_lock(&mx);
        while (ready == 0)
            scl_cond_wait(&cv, &mx);
        ready--;
        consumed++;
        scl_cond_signal(&cv);
        scl_mutex_unlock(&mx);
    }
    return NULL;
}

TEST(condvar_signal_broadcast_timedwait)
{
    CHECK_EQ(scl_mutex_init(&mx, NULL), 0);
    CHECK_EQ(scl_cond_init(&cv, 0), 0);
    CHECK_EQ(scl_cond_wait(&cv, &mx), EPERM);        /* mutex not held */

    /* broadcast wakes every waiter */
    ready = 0;
    woken = 0;
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, cv_waiter, NULL);
    tl_sleep_ms(20);
    CHECK_EQ(scl_cond_destroy(&cv), EBUSY);
    scl_mutex_lock(&mx);
    ready = 1;
    scl_cond_broadcast(&cv);
    scl_mutex_unlock(&mx);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(woken, 3);

    /* signal: one producer, one consumer, a bounded buffer of one */
    ready = 0;
    consumed = 0;
    int n = 500;
    pthread_t c;
    pthread_create(&c, NULL, consumer, &n);
    for (int i = 0; i < n; i++) {
        scl_mutex_lock(&mx);
        while (ready != 0)
            scl_cond_wait(&cv, &mx);
        ready = 1;
        scl_cond_signal(&cv);
        scl_mutex_unlock(&mx);
    }
    pthread_join(c, NULL);
    CHECK_EQ(consumed, n);

    /* timed wait: times out, and returns holding the mutex */
    scl_mutex_lock(&mx);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    uint64_t t0 = tl_now_ns();
    CHECK_EQ(scl_cond_timedwait(&cv, &mx, &ts), ETIMEDOUT);
    CHECK(tl_now_ns() - t0 >= 15000000);
    CHECK_EQ(scl_mutex_unlock(&mx), 0);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    scl_mutex_lock(&mx);
    CHECK_EQ(scl_cond_clockwait(&cv, &mx, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
    CHECK_EQ(scl_mutex_unlock(&mx), 0);
    CHECK_EQ(scl_cond_destroy(&cv), 0);
    CHECK_EQ(scl_mutex_destroy(&mx), 0);
}

TEST(jain_helper)
{
    double x[3] = {1, 1, 1}, w[3] = {1, 1, 1};
    CHECK(fabs(scl_jain_weighted(x, w, 3) - 1.0) < 1e-12);
    double y[2] = {1, 0}, w2[2] = {1, 1};
    CHECK(fabs(scl_jain_weighted(y, w2, 2) - 0.5) < 1e-12);
    double z[2] = {3, 1}, w3[2] = {3, 1};
    CHECK(fabs(scl_jain_weighted(z, w3, 2) - 1.0) < 1e-12);
    CHECK(scl_jain_weighted(NULL, NULL, 0) == 1.0);
}

/* Tight loops (the owner batches its releases, reading no clock) with a
 * 100 us slice: hand-overs to the spinning head waiter keep mutual
 * exclusion, every increment is counted, both threads get turns. */
static volatile int tight_stop;
static long tight_acq[2];
static void *tight_loop(void *p)
{
    long *acq = p;
    while (!__atomic_load_n(&tight_stop, __ATOMIC_RELAXED)) {
        EXPECT(scl_mutex_lock(&mx) == 0);
        EXPECT(__atomic_add_fetch(&inside, 1, __ATOMIC_RELAXED) == 1);
        counter++;
        __atomic_sub_fetch(&inside, 1, __ATOMIC_RELAXED);
        EXPECT(scl_mutex_unlock(&mx) == 0);
        (*acq)++;
    }
    return NULL;
}

TEST(batched_handover_with_waiter)
{
    scl_mutexattr_t a;
    scl_mutexattr_init(&a);
    a.slice_ns = 100000;
    CHECK_EQ(scl_mutex_init(&mx, &a), 0);
    counter = 0;
    tight_stop = 0;
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        tight_acq[i] = 0;
        pthread_create(&t[i], NULL, tight_loop, &tight_acq[i]);
    }
    tl_sleep_ms(200);
    __atomic_store_n(&tight_stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    scl_lock_stats_t st;
    CHECK_EQ(scl_mutex_stats(&mx, &st, NULL, 0), 2);
    printf("  acquisitions %ld + %ld, %llu slices\n", tight_acq[0], tight_acq[1],
           (unsigned long long)st.slices);
    CHECK_EQ(counter, tight_acq[0] + tight_acq[1]);
    CHECK(tight_acq[0] > 0 && tight_acq[1] > 0);
    CHECK(st.slices >= 3);
    CHECK_EQ(scl_mutex_destroy(&mx), 0);
}

/* A waiter that finds the slice expired while its owner still holds the
 * word sleeps on the word; the owner's release (batched or not) must wake
 * it even though the owner then stops using the lock. */
static volatile int owner_holding;
static void *late_waiter(void *p)
{
    double *got_after_ms = p;
    while (!__atomic_load_n(&owner_holding, __ATOMIC_ACQUIRE))
        tl_sleep_ms(0.1);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += 10;
    EXPECT(scl_mutex_clocklock(&mx, CLOCK_MONOTONIC, &ts) == 0);
    *got_after_ms = tl_now_ns() / 1e6;
    EXPECT(scl_mutex_unlock(&mx) == 0);
    return NULL;
}

TEST(expired_slice_waiter_woken_by_release)
{
    scl_mutexattr_t a;
    scl_mutexattr_init(&a);
    a.slice_ns = 2000000;
    CHECK_EQ(scl_mutex_init(&mx, &a), 0);
    owner_holding = 0;
    double got_ms = 0;
    pthread_t t;
    pthread_create(&t, NULL, late_waiter, &got_ms);
    uint64_t end = tl_now_ns() + 1000000;
    while (tl_now_ns() < end) {            /* learn a fast period: batching */
        CHECK_EQ(scl_mutex_lock(&mx), 0);
        CHECK_EQ(scl_mutex_unlock(&mx), 0);
    }
    CHECK_EQ(scl_mutex_lock(&mx), 0);
    __atomic_store_n(&owner_holding, 1, __ATOMIC_RELEASE);
    tl_spin_ns(30000000);                  /* well past the 2 ms slice */
    double released_ms = tl_now_ns() / 1e6;
    CHECK_EQ(scl_mutex_unlock(&mx), 0);
    pthread_join(t, NULL);                 /* the owner never locks again */
    printf("  waiter got the lock %.2f ms after the release\n", got_ms - released_ms);
    CHECK(got_ms >= released_ms);
    CHECK(got_ms - released_ms < 2000);
    CHECK_EQ(scl_mutex_destroy(&mx), 0);
}

static void *quiet_intruder(void *arg)
{
    int *n = arg;
    for (int i = 0; i < *n; i++) {
        if (scl_mutex_lock(&mx) != 0)
            return (void *)1;
        scl_mutex_unlock(&mx);
    }
    return NULL;
}

/* Quiet mode ends when a second thread uses the lock (Q1, Q2), and no
 * acquisition is lost or counted twice across entering and leaving it. */
TEST(quiet_mode_ends_when_a_second_thread_comes)
{
    CHECK_EQ(scl_mutex_init(&mx, NULL), 0);
    pid_t me = (pid_t)syscall(SYS_gettid);
    for (int i = 0; i < 1000; i++) {
        CHECK_EQ(scl_mutex_lock(&mx), 0);
        CHECK_EQ(scl_mutex_unlock(&mx), 0);
    }
    CHECK_EQ(__atomic_load_n(&mx.quiet_tid, __ATOMIC_RELAXED), me);   /* alone: quiet */
    int n = 777;
    pthread_t t;
    void *r;
    CHECK_EQ(pthread_create(&t, NULL, quiet_intruder, &n), 0);
    CHECK_EQ(pthread_join(t, &r), 0);
    CHECK(r == NULL);
    CHECK(__atomic_load_n(&mx.quiet_tid, __ATOMIC_RELAXED) != me);
    for (int i = 0; i < 1000; i++) {
        CHECK_EQ(scl_mutex_lock(&mx), 0);
        CHECK_EQ(scl_mutex_unlock(&mx), 0);
    }
    scl_thread_stats_t th[4];
    int k = scl_mutex_stats(&mx, NULL, th, 4);
    CHECK_EQ(k, 2);
    uint64_t mine = 0, theirs = 0;
    for (int i = 0; i < k; i++)
        *(th[i].tid == me ? &mine : &theirs) += th[i].acquisitions;
    printf("  acquisitions: %llu by the first thread, %llu by the second\n",
           (unsigned long long)mine, (unsigned long long)theirs);
    CHECK_EQ(mine, 2000);
    CHECK_EQ(theirs, 777);
    CHECK_EQ(scl_mutex_destroy(&mx), 0);
}

/* A lone thread runs in quiet mode (statistics sampled, not timed per
 * section); a reset in the middle must not make the samples count the
 * acquisitions before it. */
TEST(quiet_mode_stats_survive_reset)
{
    CHECK_EQ(scl_mutex_init(&mx, NULL), 0);
    for (int i = 0; i < 5000; i++) {
        CHECK_EQ(scl_mutex_lock(&mx), 0);
        CHECK_EQ(scl_mutex_unlock(&mx), 0);
    }
    CHECK_EQ(scl_mutex_stats_reset(&mx), 0);
    for (int i = 0; i < 300; i++) {
        /* trylock takes the quiet path too */
        CHECK_EQ(i % 7 ? scl_mutex_lock(&mx) : scl_mutex_trylock(&mx), 0);
        CHECK_EQ(scl_mutex_unlock(&mx), 0);
    }
    CHECK_EQ(scl_mutex_lock(&mx), 0);
    tl_sleep_ms(5);                                   /* one long section */
    CHECK_EQ(scl_mutex_unlock(&mx), 0);
    for (int i = 0; i < 300; i++) {
        CHECK_EQ(scl_mutex_lock(&mx), 0);
        CHECK_EQ(scl_mutex_unlock(&mx), 0);
    }
    scl_lock_stats_t st;
    scl_thread_stats_t th[2];
    CHECK_EQ(scl_mutex_stats(&mx, &st, th, 2), 1);
    printf("  after reset: %llu acquisitions, hold %.2f ms of %.2f ms\n",
           (unsigned long long)th[0].acquisitions, th[0].hold_ns / 1e6, st.elapsed_ns / 1e6);
    CHECK_EQ(th[0].acquisitions, 601);
    CHECK(th[0].hold_ns <= st.elapsed_ns);
    CHECK(th[0].hold_ns <= th[0].opportunity_ns);
    CHECK(th[0].opportunity_ns <= st.elapsed_ns + 1000000);
    CHECK_EQ(scl_mutex_destroy(&mx), 0);
}
