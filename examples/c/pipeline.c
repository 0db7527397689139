/*
 * pipeline - producers and consumers around a bounded ring buffer guarded by
 * a u-SCL mutex and two SCL condition variables, built against scl.pc.
 *
 *   ./pipeline [producers] [consumers] [items-per-producer]
 *
 * Every item is a distinct number; the consumers add up what they take and
 * the program checks the total against what the producers put in, so a lost
 * or duplicated item (a broken lock or condvar) makes it exit 1.  At the end
 * it prints the lock's per-thread statistics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <scl.h>

#define RING 64
#define MAX_WORKERS 16

static struct {
    scl_mutex_t lock;
    scl_cond_t not_full, not_empty;
    uint64_t items[RING];
    unsigned head, count;
    int producers_left;
} q;

static long per_producer;
static uint64_t consumed_sum[MAX_WORKERS];

static void die(const char *what, int err)
{
    fprintf(stderr, "pipeline: %s: %s\n", what, strerror(err));
    exit(1);
}

static void lock_or_die(void)
{
    int rc = scl_mutex_lock(&q.lock);
    if (rc != 0)
        die("scl_mutex_lock", rc);
}

static void *producer(void *arg)
{
    long id = (long)arg;
    for (long i = 0; i < per_producer; i++) {
        uint64_t item = (uint64_t)id * (uint64_t)per_producer + (uint64_t)i + 1;
        lock_or_die();
        while (q.count == RING)
            scl_cond_wait(&q.not_full, &q.lock);
        q.items[(q.head + q.count) % RING] = item;
        q.count++;
        scl_cond_signal(&q.not_empty);
        scl_mutex_unlock(&q.lock);
    }
    lock_or_die();
    if (--q.producers_left == 0)
        scl_cond_broadcast(&q.not_empty);   /* wake consumers to see the end */
    scl_mutex_unlock(&q.lock);
    return NULL;
}

static void *consumer(void *arg)
{
    long id = (long)arg;
    for (;;) {
        lock_or_die();
        while (q.count == 0 && q.producers_left > 0)
            scl_cond_wait(&q.not_empty, &q.lock);
        if (q.count == 0) {                  /* drained and no producer left */
            scl_mutex_unlock(&q.lock);
            return NULL;
        }
        uint64_t item = q.items[q.head];
        q.head = (q.head + 1) % RING;
        q.count--;
        scl_cond_signal(&q.not_full);
        scl_mutex_unlock(&q.lock);
        consumed_sum[id] += item;
    }
}

int main(int argc, char **argv)
{
    int np = argc > 1 ? atoi(argv[1]) : 2;
    int nc = argc > 2 ? atoi(argv[2]) : 2;
    per_producer = argc > 3 ? atol(argv[3]) : 100000;
    if (np < 1 || nc < 1 || np > MAX_WORKERS || nc > MAX_WORKERS || per_producer < 1) {
        fprintf(stderr, "usage: pipeline [producers 1-%d] [consumers 1-%d] [items >= 1]\n",
                MAX_WORKERS, MAX_WORKERS);
        return 2;
    }

    scl_mutexattr_t attr;
    scl_mutexattr_init(&attr);
    int rc = scl_mutex_init(&q.lock, &attr);
    if (rc != 0)
        die("scl_mutex_init", rc);
    if ((rc = scl_cond_init(&q.not_full, 0)) != 0 || (rc = scl_cond_init(&q.not_empty, 0)) != 0)
        die("scl_cond_init", rc);
    q.producers_left = np;

    pthread_t th[2 * MAX_WORKERS];
    for (long i = 0; i < np; i++)
        pthread_create(&th[i], NULL, producer, (void *)i);
    for (long i = 0; i < nc; i++)
        pthread_create(&th[np + i], NULL, consumer, (void *)i);
    for (int i = 0; i < np + nc; i++)
        pthread_join(th[i], NULL);

    uint64_t n = (uint64_t)np * (uint64_t)per_producer, got = 0;
    for (int i = 0; i < nc; i++)
        got += consumed_sum[i];
    uint64_t want = n * (n + 1) / 2;          /* items are 1..n */

    scl_lock_stats_t st;
    scl_thread_stats_t ts[2 * MAX_WORKERS];
    int nrec = scl_mutex_stats(&q.lock, &st, ts, 2 * MAX_WORKERS);
    if (nrec < 0)
        die("scl_mutex_stats", -nrec);
    printf("%d producers, %d consumers, %llu items: sum %llu, expected %llu: %s\n",
           np, nc, (unsigned long long)n, (unsigned long long)got,
           (unsigned long long)want, got == want ? "OK" : "MISMATCH");
    printf("lock: %.1f ms elapsed, %.1f ms held, %llu slice hand-overs, Jain(opportunity) %.3f\n",
           st.elapsed_ns / 1e6, st.hold_ns / 1e6, (unsigned long long)st.slices,
           st.jain_opportunity);
    for (int i = 0; i < nrec && i < 2 * MAX_WORKERS; i++)
        printf("  tid %-7d weight %-6.0f acquisitions %-8llu hold %7.2f ms  wait %7.2f ms\n",
               (int)ts[i].tid, ts[i].weight, (unsigned long long)ts[i].acquisitions,
               ts[i].hold_ns / 1e6, ts[i].wait_ns / 1e6);

    scl_cond_destroy(&q.not_full);
    scl_cond_destroy(&q.not_empty);
    if ((rc = scl_mutex_destroy(&q.lock)) != 0)
        die("scl_mutex_destroy", rc);
    return got == want ? 0 : 1;
}
