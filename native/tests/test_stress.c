/* Randomised stress: lock / trylock / timedlock / condvar wait / signal /
 * weight changes interleaved across threads, checking mutual exclusion
 * (and, under TSan, the absence of data races on the protected state). */
#include "testlib.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "scl.h"

static scl_mutex_t sm;
static scl_cond_t sc;
static int holders;          /* atomic: threads inside the critical section */
static long protected_sum;   /* plain: only touched under the lock */
static long expected_sum;    /* atomic: what protected_sum must end at */
static int stress_stop;

static void deadline_in(struct timespec *ts, long ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += ns;
    while (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void critical(unsigned *seed)
{
    EXPECT(__atomic_add_fetch(&holders, 1, __ATOMIC_SEQ_CST) == 1);
    long d = (long)(rand_r(seed) % 7) + 1;
    protected_sum += d;
    __atomic_add_fetch(&expected_sum, d, __ATOMIC_RELAXED);
    if (rand_r(seed) % 8 == 0)
        tl_spin_ns(2000);
    EXPECT(__atomic_sub_fetch(&holders, 1, __ATOMIC_SEQ_CST) == 0);
}

static void *stress_thread(void *p)
{
    unsigned seed = (unsigned)(uintptr_t)p;
    struct timespec ts;
    while (!__atomic_load_n(&stress_stop, __ATOMIC_RELAXED)) {
        int op = rand_r(&seed) % 100, r;
        if (op < 40) {
            EXPECT(scl_mutex_lock(&sm) == 0);
            critical(&seed);
            EXPECT(scl_mutex_unlock(&sm) == 0);
        } else if (op < 60) {
            r = scl_mutex_trylock(&sm);
            EXPECT(r == 0 || r == EBUSY);
            if (r == 0) {
                critical(&seed);
                EXPECT(scl_mutex_unlock(&sm) == 0);
            }
        } else if (op < 75) {
            deadline_in(&ts, 1000000);
            r = scl_mutex_clocklock(&sm, CLOCK_MONOTONIC, &ts);
            EXPECT(r == 0 || r == ETIMEDOUT);
            if (r == 0) {
                critical(&seed);
                EXPECT(scl_mutex_unlock(&sm) == 0);
            }
        } else if (op < 85) {
            EXPECT(scl_mutex_lock(&sm) == 0);
            critical(&seed);
            deadline_in(&ts, 100000);
            r = scl_cond_clockwait(&sc, &sm, CLOCK_MONOTONIC, &ts);
            EXPECT(r == 0 || r == ETIMEDOUT);
            critical(&seed);                  /* we hold the lock again */
            EXPECT(scl_mutex_unlock(&sm) == 0);
        } else if (op < 95) {
            if (op & 1)
                scl_cond_signal(&sc);
            else
                scl_cond_broadcast(&sc);
        } else {
            EXPECT(scl_thread_set_weight((double)(rand_r(&seed) % 4 + 1)) == 0);
        }
    }
    return NULL;
}

TEST(randomised_operation_mix)
{
    scl_mutexattr_t a;
    scl_mutexattr_init(&a);
    a.weight_source = SCL_WEIGHT_EXPLICIT;
    a.slice_ns = 300000;
    CHECK_EQ(scl_mutex_init(&sm, &a), 0);
    CHECK_EQ(scl_cond_init(&sc, 0), 0);
    protected_sum = expected_sum = 0;
    __atomic_store_n(&stress_stop, 0, __ATOMIC_RELAXED);
    pthread_t t[5];
    for (int i = 0; i < 5; i++)
        pthread_create(&t[i], NULL, stress_thread, (void *)(uintptr_t)(0x9e3779b9u * (unsigned)(i + 1)));
    tl_sleep_ms(250);
    __atomic_store_n(&stress_stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 5; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(protected_sum, __atomic_load_n(&expected_sum, __ATOMIC_RELAXED));
    CHECK(protected_sum > 0);
    scl_lock_stats_t st;
    scl_thread_stats_t th[8];
    CHECK_EQ(scl_mutex_stats(&sm, &st, th, 8), 5);
    CHECK_EQ(scl_cond_destroy(&sc), 0);
    CHECK_EQ(scl_mutex_destroy(&sm), 0);
}

static int guests_go, guests_arrived;
static void *short_lived_user(void *p)
{
    (void)p;
    while (!__atomic_load_n(&guests_go, __ATOMIC_ACQUIRE))
        tl_sleep_ms(1);
    unsigned seed = 1;
    for (int i = 0; i < 50; i++) {
        EXPECT(scl_mutex_lock(&sm) == 0);
        critical(&seed);
        EXPECT(scl_mutex_unlock(&sm) == 0);
        if (i == 0) {
            /* everyone stays a participant until all have arrived */
            __atomic_add_fetch(&guests_arrived, 1, __ATOMIC_ACQ_REL);
            while (__atomic_load_n(&guests_arrived, __ATOMIC_ACQUIRE) < SCL_MAX_THREADS + 6)
                tl_sleep_ms(1);
        }
    }
    return NULL;
}

/* More concurrent participants than the lock has slots: the extra threads
 * become guests and everything still works. */
TEST(more_threads_than_slots)
{
    /* Nobody may leave by idleness while the others arrive (on a loaded
     * machine that can take longer than the default 100 ms): a slot freed
     * that way would be reused and hide the guests. */
    scl_mutexattr_t a;
    scl_mutexattr_init(&a);
    a.idle_ns = 20000000000ull;
    CHECK_EQ(scl_mutex_init(&sm, &a), 0);
    protected_sum = expected_sum = 0;
    enum { N = SCL_MAX_THREADS + 6 };
    pthread_t t[N];
    __atomic_store_n(&guests_go, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&guests_arrived, 0, __ATOMIC_RELAXED);
    for (int i = 0; i < N; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, short_lived_user, NULL), 0);
    __atomic_store_n(&guests_go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(protected_sum, __atomic_load_n(&expected_sum, __ATOMIC_RELAXED));
    scl_lock_stats_t st;
    int n = scl_mutex_stats(&sm, &st, NULL, 0);
    CHECK(n >= 1 && n <= SCL_MAX_THREADS);
    uint64_t acq = 0;
    scl_thread_stats_t th[SCL_MAX_THREADS];
    n = scl_mutex_stats(&sm, NULL, th, SCL_MAX_THREADS);
    for (int i = 0; i < n; i++)
        acq += th[i].acquisitions;
    uint64_t guest = __atomic_load_n(&sm.overflow_acquisitions, __ATOMIC_RELAXED);
    printf("  %llu acquisitions by guests\n", (unsigned long long)guest);
    CHECK(guest >= 6);               /* 6 threads found no free slot at first */
    CHECK(acq + guest <= (uint64_t)N * 50);
    CHECK_EQ(scl_mutex_destroy(&sm), 0);
}
