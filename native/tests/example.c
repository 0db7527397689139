/* example.c - a minimal program using libscl through pkg-config:
 *
 *   cc example.c $(pkg-config --cflags --libs scl) -o example && ./example
 *
 * Two threads share a counter under a u-SCL mutex; one holds the lock three
 * times as long per critical section as the other, yet both get about the
 * same lock hold time (a plain mutex would give the long one ~3x). */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include <scl.h>

static scl_mutex_t lock;
static long counter;
static volatile int stop;

static void busy_ns(long ns)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do
        clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < ns);
}

static void *worker(void *arg)
{
    long cs = (long)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        scl_mutex_lock(&lock);
        counter++;
        busy_ns(cs);
        scl_mutex_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    if (scl_mutex_init(&lock, NULL) != 0)
        return 1;
    pthread_t t[2];
    pthread_create(&t[0], NULL, worker, (void *)1000L);
    pthread_create(&t[1], NULL, worker, (void *)3000L);
    struct timespec half = {0, 500000000};
    nanosleep(&half, NULL);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);

    scl_lock_stats_t st;
    scl_thread_stats_t th[4];
    int n = scl_mutex_stats(&lock, &st, th, 4);
    printf("%ld critical sections, %llu slice hand-overs, Jain(hold) %.3f\n", counter,
           (unsigned long long)st.slices, st.jain_hold);
    for (int i = 0; i < n && i < 4; i++)
        printf("  thread %d: %llu acquisitions, %.1f ms held\n", th[i].tid,
               (unsigned long long)th[i].acquisitions, (double)th[i].hold_ns / 1e6);
    scl_mutex_destroy(&lock);
    return st.jain_hold > 0.5 ? 0 : 1;
}
