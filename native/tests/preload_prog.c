/* preload_prog.c - an ordinary pthread program, run under LD_PRELOAD of
 * libscl-preload.so by `make test`.  It checks mutual exclusion on a static
 * and an initialised mutex, a recursive mutex (falls back to glibc),
 * condition variables with both kinds, a timed lock, an rwlock, and that
 * the interposer was really used (exit 2 otherwise). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int passed, failed;
#define CHECK(c) do { if (c) passed++; else { failed++; fprintf(stderr, "check failed line %d: %s\n", __LINE__, #c); } } while (0)

static pthread_mutex_t static_mx = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t init_mx;
static pthread_mutex_t rec_mx;
static long counter_a, counter_b;
static int inside;
static int bad_overlap;

static void *hammer(void *p)
{
    (void)p;
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&static_mx);
        if (__atomic_add_fetch(&inside, 1, __ATOMIC_RELAXED) != 1)
            __atomic_store_n(&bad_overlap, 1, __ATOMIC_RELAXED);
        counter_a++;
        __atomic_sub_fetch(&inside, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&static_mx);
        if (pthread_mutex_trylock(&init_mx) == 0) {
            counter_b++;
            pthread_mutex_unlock(&init_mx);
        } else {
            pthread_mutex_lock(&init_mx);
            counter_b++;
            pthread_mutex_unlock(&init_mx);
        }
    }
    return NULL;
}

static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int items, got;

static void *consumer(void *p)
{
    pthread_mutex_t *m = p;
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(m);
        while (items == 0)
            pthread_cond_wait(&cv, m);
        items--;
        got++;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(m);
    }
    return NULL;
}

static void producer_consumer(pthread_mutex_t *m)
{
    items = got = 0;
    pthread_t t;
    pthread_create(&t, NULL, consumer, m);
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(m);
        while (items >= 2)
            pthread_cond_wait(&cv, m);
        items++;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(m);
    }
    pthread_join(t, NULL);
    CHECK(got == 300);
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int rd_in, wr_in, rw_bad;
static long rw_value;

static void *rw_worker(void *p)
{
    int writer = (int)(intptr_t)p;
    for (int i = 0; i < 3000; i++) {
        if (writer && i % 4 == 0) {
            pthread_rwlock_wrlock(&rw);
            if (__atomic_add_fetch(&wr_in, 1, __ATOMIC_SEQ_CST) != 1 || __atomic_load_n(&rd_in, __ATOMIC_SEQ_CST))
                rw_bad = 1;
            rw_value++;
            __atomic_sub_fetch(&wr_in, 1, __ATOMIC_SEQ_CST);
            pthread_rwlock_unlock(&rw);
        } else {
            pthread_rwlock_rdlock(&rw);
            __atomic_add_fetch(&rd_in, 1, __ATOMIC_SEQ_CST);
            if (__atomic_load_n(&wr_in, __ATOMIC_SEQ_CST))
                rw_bad = 1;
            __atomic_sub_fetch(&rd_in, 1, __ATOMIC_SEQ_CST);
            pthread_rwlock_unlock(&rw);
        }
    }
    return NULL;
}

int main(void)
{
    pthread_mutex_init(&init_mx, NULL);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(counter_a == 80000);
    CHECK(counter_b == 80000);
    CHECK(!bad_overlap);

    /* recursive: not SCL-capable, must keep recursive semantics */
    pthread_mutexattr_t ra;
    pthread_mutexattr_init(&ra);
    pthread_mutexattr_settype(&ra, PTHREAD_MUTEX_RECURSIVE);
    CHECK(pthread_mutex_init(&rec_mx, &ra) == 0);
    CHECK(pthread_mutex_lock(&rec_mx) == 0);
    CHECK(pthread_mutex_lock(&rec_mx) == 0);
    CHECK(pthread_mutex_trylock(&rec_mx) == 0);
    CHECK(pthread_mutex_unlock(&rec_mx) == 0);
    CHECK(pthread_mutex_unlock(&rec_mx) == 0);
    CHECK(pthread_mutex_unlock(&rec_mx) == 0);
    CHECK(pthread_mutex_destroy(&rec_mx) == 0);

    /* condvars with an SCL mutex and with a fallback (recursive) mutex */
    producer_consumer(&static_mx);
    CHECK(pthread_mutex_init(&rec_mx, &ra) == 0);
    producer_consumer(&rec_mx);

    /* timed lock and timed wait */
    pthread_mutex_lock(&static_mx);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 10000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    CHECK(pthread_cond_timedwait(&cv, &static_mx, &ts) == ETIMEDOUT);
    pthread_mutex_unlock(&static_mx);

    /* error-checking mutex: SCL reports the misuse */
    pthread_mutexattr_t ea;
    pthread_mutexattr_init(&ea);
    pthread_mutexattr_settype(&ea, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_t em;
    CHECK(pthread_mutex_init(&em, &ea) == 0);
    CHECK(pthread_mutex_unlock(&em) == EPERM);
    CHECK(pthread_mutex_lock(&em) == 0);
    CHECK(pthread_mutex_lock(&em) == EDEADLK);
    CHECK(pthread_mutex_destroy(&em) == EBUSY);
    CHECK(pthread_mutex_unlock(&em) == 0);
    CHECK(pthread_mutex_destroy(&em) == 0);

    /* rwlock */
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, rw_worker, (void *)(intptr_t)(i < 2));
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(!rw_bad);
    CHECK(rw_value == 2 * 750);

    /* was the interposer used? */
    int (*active)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "scl_preload_active");
    uint64_t (*nmutex)(void) = (uint64_t (*)(void))dlsym(RTLD_DEFAULT, "scl_preload_scl_mutexes");
    int interposed = active && active() && nmutex && nmutex() >= 3;
    if (!interposed)
        fprintf(stderr, "the SCL interposer is not loaded (run with LD_PRELOAD=libscl-preload.so)\n");
    CHECK(interposed);
    printf("%s%s%d passed, %d failed\n", getenv("SCL_TEST_LABEL") ? getenv("SCL_TEST_LABEL") : "",
           getenv("SCL_TEST_LABEL") ? ": " : "", passed, failed);
    return failed ? 1 : (interposed ? 0 : 2);
}
