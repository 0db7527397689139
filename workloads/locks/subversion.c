/*
 * subversion - scheduler subversion under a plain pthread mutex.
 *
 * Threads loop { lock; busy-wait cs_ns; unlock } with no work outside the
 * lock, each with its own critical-section length (and nice value).  With a
 * plain mutex the thread with longer sections takes most of the lock and
 * hence most of the CPU, whatever the scheduler's weights say.  The program
 * measures each thread's hold time itself (clock reads inside the critical
 * section) and prints it as JSON, so tracers can be checked against it.
 *
 *   subversion [--cs NS,NS,...] [--nice N,N,...] [--seconds S] [--gate]
 *
 * --gate: print "ready <pid>" on stderr, then wait for a line on stdin
 * before starting (lets a tracer attach first); after printing the JSON,
 * wait for another line (or EOF) before exiting (lets a tool read the
 * lock's final state).
 *
 * Built with -DUSE_SCL (and the kit's scl.h/libscl.so) the same loop runs on
 * a u-SCL mutex instead (the `subversion_scl` workload).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define MAX_SECONDS 600.0

struct worker {
    int index;
    pid_t tid;
    uint64_t cs_ns;
    int nice;
    uint64_t acquisitions;
    uint64_t hold_ns;
    uint64_t cpu_ns;
    pthread_t thread;
};

#ifdef USE_SCL
#include <scl.h>
static scl_mutex_t lock;
#define LOCK(m) scl_mutex_lock(m)
#define UNLOCK(m) scl_mutex_unlock(m)
#else
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
#define LOCK(m) pthread_mutex_lock(m)
#define UNLOCK(m) pthread_mutex_unlock(m)
#endif
static atomic_int stop;
static atomic_int go;

static uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    w->tid = (pid_t)syscall(SYS_gettid);
    if (w->nice && setpriority(PRIO_PROCESS, (id_t)w->tid, w->nice) != 0)
        fprintf(stderr, "subversion: thread %d: setpriority(%d): %s\n", w->index, w->nice, strerror(errno));
    while (!atomic_load_explicit(&go, memory_order_acquire))
        ;
    uint64_t cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        LOCK(&lock);
        uint64_t start = now_ns(CLOCK_MONOTONIC), t;
        do
            t = now_ns(CLOCK_MONOTONIC);
        while (t - start < w->cs_ns);
        w->hold_ns += t - start;
        w->acquisitions++;
        UNLOCK(&lock);
    }
    w->cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    return NULL;
}

static int parse_list(const char *text, long *out, int cap, const char *what)
{
    int n = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        errno = 0;
        long v = strtol(tok, &end, 10);
        if (errno || *end || end == tok || n == cap) {
            fprintf(stderr, "subversion: bad %s list %s (at %s)\n", what, text, tok);
            exit(2);
        }
        out[n++] = v;
    }
    free(copy);
    return n;
}

int main(int argc, char **argv)
{
    long cs[MAX_THREADS] = {1000, 3000}, nice[MAX_THREADS] = {0};
    int ncs = 2, nnice = 0, gate = 0;
    double seconds = 2.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--cs") && i + 1 < argc) {
            ncs = parse_list(argv[++i], cs, MAX_THREADS, "--cs");
        } else if (!strcmp(argv[i], "--nice") && i + 1 < argc) {
            nnice = parse_list(argv[++i], nice, MAX_THREADS, "--nice");
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--gate")) {
            gate = 1;
        } else {
            fprintf(stderr, "usage: subversion [--cs NS,NS,...] [--nice N,N,...] [--seconds S] [--gate]\n");
            return 2;
        }
    }
    if (ncs < 1 || (nnice && nnice != ncs) || !(seconds > 0 && seconds <= MAX_SECONDS)) {
        fprintf(stderr, "subversion: need >= 1 --cs value, as many --nice values (or none), "
                        "and 0 < --seconds <= %.0f\n", MAX_SECONDS);
        return 2;
    }
    for (int i = 0; i < ncs; i++)
        if (cs[i] < 0 || (nnice && (nice[i] < -20 || nice[i] > 19))) {
            fprintf(stderr, "subversion: thread %d: cs must be >= 0 and nice in [-20, 19]\n", i);
            return 2;
        }

#ifdef USE_SCL
    scl_mutexattr_t attr;
    scl_mutexattr_init(&attr);
    int err = scl_mutex_init(&lock, &attr);
    if (err) {
        fprintf(stderr, "subversion: scl_mutex_init: %s\n", strerror(err));
        return 1;
    }
#endif
    struct worker w[MAX_THREADS];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < ncs; i++) {
        w[i].index = i;
        w[i].cs_ns = (uint64_t)cs[i];
        w[i].nice = nnice ? (int)nice[i] : 0;
        if (pthread_create(&w[i].thread, NULL, work, &w[i]) != 0) {
            fprintf(stderr, "subversion: pthread_create failed\n");
            return 1;
        }
    }
    if (gate) {
        fprintf(stderr, "ready %d\n", (int)getpid());
        fflush(stderr);
        char line[64];
        (void)!fgets(line, sizeof(line), stdin); /* a line or EOF starts the run */
    }
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    atomic_store_explicit(&go, 1, memory_order_release);
    struct timespec nap = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&nap, &nap) != 0 && errno == EINTR)
        ;
    atomic_store(&stop, 1);
    for (int i = 0; i < ncs; i++)
        pthread_join(w[i].thread, NULL);
    uint64_t elapsed = now_ns(CLOCK_MONOTONIC) - t0;

    uint64_t total = 0;
    for (int i = 0; i < ncs; i++)
        total += w[i].hold_ns;
    printf("{\"pid\":%d,\"elapsed_ns\":%llu,\"hold_ns\":%llu,\"threads\":[", (int)getpid(),
           (unsigned long long)elapsed, (unsigned long long)total);
    for (int i = 0; i < ncs; i++)
        printf("%s{\"index\":%d,\"tid\":%d,\"cs_ns\":%llu,\"nice\":%d,\"acquisitions\":%llu,"
               "\"hold_ns\":%llu,\"cpu_ns\":%llu,\"share\":%.6f}",
               i ? "," : "", i, (int)w[i].tid, (unsigned long long)w[i].cs_ns, w[i].nice,
               (unsigned long long)w[i].acquisitions, (unsigned long long)w[i].hold_ns,
               (unsigned long long)w[i].cpu_ns, total ? (double)w[i].hold_ns / (double)total : 0.0);
    printf("]}\n");
    if (gate) {
        /* the lock still exists: a tool reading the lock's own statistics
         * from this process's memory reads them now; a line or EOF ends it */
        fflush(stdout);
        char line[64];
        (void)!fgets(line, sizeof(line), stdin);
    }
    return 0;
}
