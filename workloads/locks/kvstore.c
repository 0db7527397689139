/*
 * kvstore: insert threads against find threads on a real embedded key-value
 * store (Kyoto Cabinet's in-memory tree database, whose every operation
 * takes one database-wide pthread rwlock: writers for inserts, readers for
 * finds).  The program is plain pthreads, so LD_PRELOAD of the kit's
 * interposer swaps that rwlock for RW-SCL without changing a line.
 *
 *   kvstore --inserters 2 --finders 2 --seconds 3 [--db +|-|*] [--keys N]
 *
 * Prints one JSON object: per thread its class, operations and CPU time
 * (CLOCK_THREAD_CPUTIME_ID), plus the wall time of the measured period.
 */
#define _GNU_SOURCE
#include <kclangc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_THREADS = 64 };

struct worker {
    pthread_t thread;
    int inserter;
    uint64_t seed;
    uint64_t ops;
    uint64_t cpu_ns;
};

static KCDB *db;
static atomic_int go, stop;
static long keys = 100000;

static uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t next_random(uint64_t *state)
{
    /* xorshift64*: cheap, and each thread has its own state */
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ull;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    char key[32], value[128];
    memset(value, 'v', sizeof value);
    while (!atomic_load(&go))
        ;
    uint64_t cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint64_t r = next_random(&w->seed);
        if (w->inserter) {
            int n = snprintf(key, sizeof key, "k%016llx", (unsigned long long)r);
            if (!kcdbset(db, key, (size_t)n, value, sizeof value)) {
                fprintf(stderr, "kvstore: set failed: %s\n", kcecodename(kcdbecode(db)));
                exit(1);
            }
        } else {
            int n = snprintf(key, sizeof key, "p%016lx", (unsigned long)(r % (uint64_t)keys));
            size_t size;
            char *found = kcdbget(db, key, (size_t)n, &size);
            kcfree(found);
        }
        w->ops++;
    }
    w->cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    return NULL;
}

static long arg_long(int argc, char **argv, const char *name, long fallback)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) {
            char *end;
            long v = strtol(argv[i + 1], &end, 10);
            if (*end || v < 0) {
                fprintf(stderr, "kvstore: %s needs a non-negative integer\n", name);
                exit(2);
            }
            return v;
        }
    return fallback;
}

int main(int argc, char **argv)
{
    long inserters = arg_long(argc, argv, "--inserters", 2);
    long finders = arg_long(argc, argv, "--finders", 2);
    long seconds = arg_long(argc, argv, "--seconds", 3);
    keys = arg_long(argc, argv, "--keys", 100000);
    const char *kind = "+";   /* ProtoTreeDB: std::map under one rwlock */
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--db") == 0)
            kind = argv[i + 1];
    if (inserters + finders < 1 || inserters + finders > MAX_THREADS || keys < 1 || seconds < 1) {
        fprintf(stderr, "kvstore: need 1..%d threads, keys >= 1, seconds >= 1\n", MAX_THREADS);
        return 2;
    }
    db = kcdbnew();
    if (!kcdbopen(db, kind, KCOWRITER | KCOCREATE)) {
        fprintf(stderr, "kvstore: open %s failed: %s\n", kind, kcecodename(kcdbecode(db)));
        return 1;
    }
    char key[32], value[128];
    memset(value, 'v', sizeof value);
    for (long k = 0; k < keys; k++) {
        int n = snprintf(key, sizeof key, "p%016lx", (unsigned long)k);
        kcdbset(db, key, (size_t)n, value, sizeof value);
    }
    struct worker workers[MAX_THREADS] = {0};
    long n = inserters + finders;
    for (long i = 0; i < n; i++) {
        workers[i].inserter = i < inserters;
        workers[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        if (pthread_create(&workers[i].thread, NULL, work, &workers[i]) != 0) {
            perror("kvstore: pthread_create");
            return 1;
        }
    }
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    atomic_store(&go, 1);
    struct timespec nap = {seconds, 0};
    nanosleep(&nap, NULL);
    atomic_store(&stop, 1);
    for (long i = 0; i < n; i++)
        pthread_join(workers[i].thread, NULL);
    uint64_t wall = now_ns(CLOCK_MONOTONIC) - t0;
    printf("{\"wall_ns\": %llu, \"db\": \"%s\", \"threads\": [", (unsigned long long)wall, kind);
    for (long i = 0; i < n; i++)
        printf("%s{\"class\": \"%s\", \"ops\": %llu, \"cpu_ns\": %llu}", i ? ", " : "",
               workers[i].inserter ? "insert" : "find", (unsigned long long)workers[i].ops,
               (unsigned long long)workers[i].cpu_ns);
    printf("]}\n");
    kcdbclose(db);
    kcdbdel(db);
    return 0;
}
