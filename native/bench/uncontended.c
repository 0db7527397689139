/*
 * uncontended - one thread, N uncontended lock+unlock pairs, nothing else:
 * the program `make count` runs under callgrind to count the instructions
 * of the lock fast paths (deterministic, unlike times on a shared machine).
 *
 *   uncontended pthread N    pthread_mutex_lock/unlock (glibc, or the
 *                            interposer under LD_PRELOAD)
 *   uncontended scl N        scl_mutex_lock/unlock
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scl.h"

static volatile long counter;

static __attribute__((noinline)) void loop_pthread(pthread_mutex_t *m, long n)
{
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(m);
        counter++;
        pthread_mutex_unlock(m);
    }
}

static __attribute__((noinline)) void loop_scl(scl_mutex_t *m, long n)
{
    for (long i = 0; i < n; i++) {
        scl_mutex_lock(m);
        counter++;
        scl_mutex_unlock(m);
    }
}

int main(int argc, char **argv)
{
    static pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
    static scl_mutex_t sm;
    long n = argc == 3 ? atol(argv[2]) : 0;
    if (n <= 0 || (strcmp(argv[1], "pthread") && strcmp(argv[1], "scl"))) {
        fprintf(stderr, "usage: uncontended pthread|scl N\n");
        return 2;
    }
    if (!strcmp(argv[1], "scl")) {
        if (scl_mutex_init(&sm, NULL) != 0)
            return 1;
        loop_scl(&sm, n);
    } else {
        loop_pthread(&pm, n);
    }
    return counter == n ? 0 : 1;
}
