/*
 * shared_lock - threads that take turns on one plain pthread mutex.
 *
 * Each thread loops: lock; spin CS microseconds; unlock; spin OUTSIDE
 * microseconds.  Nothing here knows about SCL: run it under the LD_PRELOAD
 * interposer to put the mutex on u-SCL.  It is driven line by line on stdin
 * so that a launcher can place each thread (e.g. write its TID into a cgroup)
 * before any thread touches the lock, and stop single threads later:
 *
 *   shared_lock [--threads N] [--cs-us N] [--outside-us N] [--seconds S]
 *
 *   stdout, at start:  "thread I TID" for each thread, then "ready"
 *   stdin:             "go"       every thread starts looping
 *                      "go I"     only thread I starts (the others wait)
 *                      "stop I"   thread I leaves (answers "stopped I")
 *                      "quit" or end of input: all threads leave
 *   stdout, at exit:   one JSON line: per thread index, tid, acquisitions
 *
 * --seconds bounds the whole run (default 600; SIGALRM), so a lost launcher
 * never leaves it spinning.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

struct worker {
    int index;
    atomic_int tid;
    atomic_int stop;
    atomic_int go;
    uint64_t acquisitions;
    pthread_t thread;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int go, quit;
static uint64_t cs_ns = 50000, outside_ns = 0;
static volatile uint64_t shared_counter; /* what the lock protects */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void spin(uint64_t ns)
{
    uint64_t end = now_ns() + ns;
    while (now_ns() < end)
        ;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    atomic_store(&w->tid, (int)syscall(SYS_gettid));
    while (!atomic_load(&go) && !atomic_load(&w->go) && !atomic_load(&quit))
        usleep(1000);
    while (!atomic_load(&w->stop) && !atomic_load(&quit)) {
        pthread_mutex_lock(&lock);
        shared_counter++;
        spin(cs_ns);
        pthread_mutex_unlock(&lock);
        w->acquisitions++;
        if (outside_ns)
            spin(outside_ns);
    }
    return NULL;
}

static double number(const char *flag, const char *value, double lo, double hi)
{
    char *end;
    double v = value ? strtod(value, &end) : 0;
    if (!value || *end || v < lo || v > hi) {
        fprintf(stderr, "shared_lock: %s wants a number in [%g, %g], got %s\n", flag, lo, hi,
                value ? value : "nothing");
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    int n = 2;
    double seconds = 600;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--threads"))
            n = (int)number(argv[i], v, 1, MAX_THREADS);
        else if (!strcmp(argv[i], "--cs-us"))
            cs_ns = (uint64_t)(number(argv[i], v, 0, 1e6) * 1000);
        else if (!strcmp(argv[i], "--outside-us"))
            outside_ns = (uint64_t)(number(argv[i], v, 0, 1e6) * 1000);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = number(argv[i], v, 0.1, 86400);
        else {
            fprintf(stderr, "usage: shared_lock [--threads N] [--cs-us N] [--outside-us N] [--seconds S]\n");
            return 2;
        }
        i++;
    }
    static struct worker workers[MAX_THREADS];
    for (int i = 0; i < n; i++) {
        workers[i].index = i;
        if (pthread_create(&workers[i].thread, NULL, work, &workers[i]) != 0) {
            fprintf(stderr, "shared_lock: pthread_create failed\n");
            return 1;
        }
    }
    for (int i = 0; i < n; i++) {
        while (!atomic_load(&workers[i].tid))
            usleep(100);
        printf("thread %d %d\n", i, atomic_load(&workers[i].tid));
    }
    printf("ready\n");
    fflush(stdout);

    /* stdin may stay silent: SIGALRM's default action ends the process. */
    alarm((unsigned)(seconds + 0.999));
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        int index;
        if (sscanf(line, "go %d", &index) == 1 && index >= 0 && index < n) {
            atomic_store(&workers[index].go, 1);
        } else if (!strncmp(line, "go", 2)) {
            atomic_store(&go, 1);
        } else if (sscanf(line, "stop %d", &index) == 1 && index >= 0 && index < n) {
            atomic_store(&workers[index].stop, 1);
            pthread_join(workers[index].thread, NULL);
            workers[index].thread = 0;
            printf("stopped %d\n", index);
            fflush(stdout);
        } else if (!strncmp(line, "quit", 4)) {
            break;
        }
    }
    atomic_store(&quit, 1);
    for (int i = 0; i < n; i++)
        if (workers[i].thread)
            pthread_join(workers[i].thread, NULL);
    printf("{\"threads\": [");
    for (int i = 0; i < n; i++)
        printf("%s{\"index\": %d, \"tid\": %d, \"acquisitions\": %llu}", i ? ", " : "", i,
               atomic_load(&workers[i].tid), (unsigned long long)workers[i].acquisitions);
    printf("], \"counter\": %llu}\n", (unsigned long long)shared_counter);
    return 0;
}
