/*
 * lockbench - the scheduler-subversion experiments for one lock and one
 * workload per run, result as one JSON object on stdout.
 *
 *   lockbench --lock mutex|spin|ticket|uscl --scenario NAME
 *             --mode contended|latency --workers CS:NICE:CPU:EXIT[,...]
 *             [--duration S] [--slice-us N]
 *
 * The workloads themselves are declared in one table (scl/bench_scenarios.py)
 * and passed in by `scl bench`: per worker the critical-section length in
 * ns (0: one increment), its nice value, a CPU slot (index into the usable
 * CPUs, -1 unpinned) and the fraction of the run after which it leaves
 * (0: stays).  NAME only labels the output.
 *
 * Built twice by `make install` (native/Makefile): without WITH_SCL it is a
 * plain pthread program (mutex, spin, ticket), which is also the binary run
 * under LD_PRELOAD=libscl-preload.so; with -DWITH_SCL it links libscl and
 * adds the `uscl` lock.
 *
 * Each worker loops { lock; critical section; unlock } with nothing outside
 * the critical section, so whichever lock policy decides who holds the lock
 * also decides who gets the CPU.  The critical section is a busy loop whose
 * iteration count is calibrated against CLOCK_MONOTONIC at start-up: a fixed
 * amount of work, as in a real program, so preemption inside it shows up as
 * longer hold time instead of being hidden.
 *
 * --mode latency (one worker): uncontended lock+unlock, timed in pairs
 * that alternate the lock under test with glibc's own pthread mutex
 * functions (looked up in libc.so.6, so the interposer cannot replace
 * them) in the same thread: a burst of load from elsewhere hits both
 * halves of a pair, and the ratio per pair is what the driver reports.
 *
 * The driver (scl/bench.py) computes every metric from the raw per-thread
 * numbers printed here; this program only measures.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef WITH_SCL
#include "scl.h"
#endif

#define MAX_THREADS 8

/* ------------------------------------------------------------------ */
/* Workload (from --workers)                                           */
/* ------------------------------------------------------------------ */

struct worker_spec {
    uint32_t cs_ns;     /* critical-section length; 0 = tiny (one increment) */
    int nice;
    int cpu_slot;       /* index into the usable CPUs; -1 = not pinned */
    double exit_frac;   /* leave after this fraction of the run; 0 = stay */
};

static struct worker_spec specs[MAX_THREADS];
static int nthreads;

/* "cs:nice:cpu:exit,..." -> specs; exits with a message naming the item. */
static void parse_workers(const char *arg)
{
    const char *p = arg;
    while (*p) {
        if (nthreads == MAX_THREADS) {
            fprintf(stderr, "lockbench: --workers: at most %d workers\n", MAX_THREADS);
            exit(2);
        }
        struct worker_spec *w = &specs[nthreads];
        unsigned long cs;
        int nice, cpu, used = 0;
        double exit_frac;
        if (sscanf(p, "%lu:%d:%d:%lf%n", &cs, &nice, &cpu, &exit_frac, &used) != 4 ||
            (p[used] != ',' && p[used] != 0) || cs > 100000000ul || nice < -20 || nice > 19 ||
            cpu < -1 || !(exit_frac >= 0 && exit_frac < 1)) {
            fprintf(stderr, "lockbench: --workers item %d: want CS_NS:NICE:CPU:EXIT_FRAC "
                    "(0..1e8, -20..19, -1.., [0,1)), got '%.*s'\n",
                    nthreads + 1, (int)strcspn(p, ","), p);
            exit(2);
        }
        *w = (struct worker_spec){(uint32_t)cs, nice, cpu, exit_frac};
        nthreads++;
        p += used + (p[used] == ',');
    }
    if (nthreads == 0) {
        fprintf(stderr, "lockbench: --workers: no workers\n");
        exit(2);
    }
}

/* ------------------------------------------------------------------ */
/* Locks under test                                                    */
/* ------------------------------------------------------------------ */

/* FIFO ticket lock.  Waiters spin on `serving`; after a bounded number of
 * spins they yield, because with more threads than CPUs a pure spinner can
 * burn its whole time slice while the ticket holder is preempted. */
struct ticket_lock {
    _Alignas(64) atomic_uint next;
    _Alignas(64) atomic_uint serving;
};

static void ticket_lock(struct ticket_lock *t)
{
    unsigned my = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed);
    unsigned spins = 0;
    while (atomic_load_explicit(&t->serving, memory_order_acquire) != my) {
        __builtin_ia32_pause();
        if (++spins == 4096) {
            spins = 0;
            sched_yield();
        }
    }
}

static void ticket_unlock(struct ticket_lock *t)
{
    /* Only the holder writes `serving`, so a plain increment is race-free;
     * the release store publishes the critical section to the next owner. */
    unsigned s = atomic_load_explicit(&t->serving, memory_order_relaxed);
    atomic_store_explicit(&t->serving, s + 1, memory_order_release);
}

enum lock_kind { LOCK_MUTEX, LOCK_SPIN, LOCK_TICKET, LOCK_USCL };

static enum lock_kind kind;
static pthread_mutex_t the_mutex;
static pthread_spinlock_t the_spin;
static struct ticket_lock the_ticket;
#ifdef WITH_SCL
static scl_mutex_t the_uscl;
#endif

static inline void do_lock(void)
{
    switch (kind) {
    case LOCK_MUTEX: pthread_mutex_lock(&the_mutex); break;
    case LOCK_SPIN: pthread_spin_lock(&the_spin); break;
    case LOCK_TICKET: ticket_lock(&the_ticket); break;
#ifdef WITH_SCL
    case LOCK_USCL: scl_mutex_lock(&the_uscl); break;
#else
    case LOCK_USCL: abort();
#endif
    }
}

static inline void do_unlock(void)
{
    switch (kind) {
    case LOCK_MUTEX: pthread_mutex_unlock(&the_mutex); break;
    case LOCK_SPIN: pthread_spin_unlock(&the_spin); break;
    case LOCK_TICKET: ticket_unlock(&the_ticket); break;
#ifdef WITH_SCL
    case LOCK_USCL: scl_mutex_unlock(&the_uscl); break;
#else
    case LOCK_USCL: abort();
#endif
    }
}

/* ------------------------------------------------------------------ */
/* Time and work                                                       */
/* ------------------------------------------------------------------ */

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Time stamps of the contended loop (hold times, the run's span).
 *
 * Each critical section is bracketed by two stamps, and whatever a stamp
 * costs beyond its midpoint falls outside the measured hold: with
 * clock_gettime (about 25 ns on a VM) that is 2.5% of a 1 us section,
 * charged to the lock as idle time although it is the harness's own.  So
 * the loop reads the TSC (about 10 ns) when the kernel itself trusts it as
 * its clock (constant_tsc, nonstop_tsc and the "tsc" clocksource, the
 * conditions libscl's clock uses), scaled to nanoseconds by a ratio
 * measured against CLOCK_MONOTONIC at start-up; otherwise, or with
 * LOCKBENCH_CLOCK=monotonic, it uses clock_gettime.  Every lock runs under
 * the same stamps, and the output names them ("stamp"). */
static int stamp_tsc;
static uint64_t stamp_tsc0, stamp_ns0, stamp_mult; /* ns = ns0 + (tsc - tsc0) * mult / 2^32 */

static int file_has(const char *path, const char *const *words, int n)
{
    char buf[8192];
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    for (int i = 0; i < n; i++)
        if (!strstr(buf, words[i]))
            return 0;
    return 1;
}

static void stamp_init(void)
{
#if defined(__x86_64__)
    static const char *const flags[] = {" constant_tsc", " nonstop_tsc"}, *const tsc[] = {"tsc"};
    const char *env = getenv("LOCKBENCH_CLOCK");
    if ((env && !strcmp(env, "monotonic")) || !file_has("/proc/cpuinfo", flags, 2)
        || !file_has("/sys/devices/system/clocksource/clocksource0/current_clocksource", tsc, 1))
        return;
    uint64_t t0 = __builtin_ia32_rdtsc(), n0 = now_ns();
    struct timespec nap = {0, 50000000}; /* 50 ms: clock read errors of ~100 ns are 2e-6 of it */
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &nap, &nap) == EINTR)
        ;
    uint64_t t1 = __builtin_ia32_rdtsc(), n1 = now_ns();
    if (t1 <= t0 || n1 <= n0)
        return;
    stamp_tsc0 = t0;
    stamp_ns0 = n0;
    stamp_mult = (uint64_t)(((unsigned __int128)(n1 - n0) << 32) / (t1 - t0));
    stamp_tsc = stamp_mult > 0;
#endif
}

static inline uint64_t stamp_ns(void)
{
#if defined(__x86_64__)
    if (stamp_tsc)
        return stamp_ns0 + (uint64_t)(((unsigned __int128)(__builtin_ia32_rdtsc() - stamp_tsc0) * stamp_mult) >> 32);
#endif
    return now_ns();
}

static inline void spin_work(uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++)
        __asm__ volatile("" ::: "memory");
}

/* Iterations of spin_work per microsecond.  The fastest of several trials
 * is the one least disturbed by preemption on a busy machine. */
static double calibrate_iters_per_us(void)
{
    const uint64_t iters = 2000000;
    double best_ns = 1e30;
    for (int trial = 0; trial < 7; trial++) {
        uint64_t t0 = now_ns();
        spin_work(iters);
        double ns = (double)(now_ns() - t0);
        if (ns > 0 && ns < best_ns)
            best_ns = ns;
    }
    return iters * 1000.0 / best_ns;
}

/* ------------------------------------------------------------------ */
/* Workers                                                             */
/* ------------------------------------------------------------------ */

struct worker {
    const struct worker_spec *spec;
    int cpu;                    /* pinned CPU, -1 when not pinned */
    pid_t tid;
    uint64_t cs_iters;
    uint64_t acquisitions;
    uint64_t hold_ns, hold_before_ns, hold_after_ns;
    uint64_t cpu_ns, runq_ns;   /* from schedstat, over the run */
    uint64_t latency_iters, latency_ns;
    uint64_t exited_at_ns;      /* 0 = stayed to the end */
    uint64_t last_release;      /* end of its last critical section */
    int setup_error;            /* errno from pinning / nice */
};

static struct worker workers[MAX_THREADS];
static pthread_barrier_t start_barrier;
static atomic_int stop;
static uint64_t t_start, t_mid, duration_ns;
static int latency_mode;
static volatile int cs_owner = -1;       /* mutual-exclusion check */
static atomic_ulong exclusion_violations;
static volatile uint64_t shared_counter; /* written only under the lock */

static void read_schedstat(pid_t tid, uint64_t *cpu, uint64_t *runq)
{
    char path[64];
    unsigned long long a = 0, b = 0;
    snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", (int)tid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%llu %llu", &a, &b) != 2)
            a = b = 0;
        fclose(f);
    }
    *cpu = a;
    *runq = b;
}

/* glibc's own mutex functions, for the latency reference. */
static int (*volatile glibc_lock)(pthread_mutex_t *);
static int (*volatile glibc_unlock)(pthread_mutex_t *);
static pthread_mutex_t ref_mutex = PTHREAD_MUTEX_INITIALIZER;

static int find_glibc_mutex(void)
{
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    if (!libc)
        return -1;
    glibc_lock = (int (*)(pthread_mutex_t *))dlsym(libc, "pthread_mutex_lock");
    glibc_unlock = (int (*)(pthread_mutex_t *))dlsym(libc, "pthread_mutex_unlock");
    return glibc_lock && glibc_unlock ? 0 : -1;
}

#define LATENCY_PAIRS 15
static double pair_ref_ns[LATENCY_PAIRS], pair_lock_ns[LATENCY_PAIRS];
static int npairs;

/* ns per lock+unlock over n iterations of one pthread-style mutex, both
 * functions called through pointers: the reference (glibc's functions) and
 * the lock under test (pthread_mutex_* as this program links them, i.e. the
 * interposer's under LD_PRELOAD) run exactly the same code. */
typedef int (*mutex_fn)(pthread_mutex_t *);
static double time_mutex_loop(uint64_t n, mutex_fn lock, mutex_fn unlock, pthread_mutex_t *m)
{
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        lock(m);
        shared_counter++;
        unlock(m);
    }
    return (double)(now_ns() - t0) / (double)n;
}

#ifdef WITH_SCL
/* The same loop for the native API, also through pointers. */
typedef int (*scl_fn)(scl_mutex_t *);
static double time_scl_loop(uint64_t n, scl_fn lock, scl_fn unlock, scl_mutex_t *m)
{
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        lock(m);
        shared_counter++;
        unlock(m);
    }
    return (double)(now_ns() - t0) / (double)n;
}
#endif

/* The pointers are read through volatile so the compiler cannot turn the
 * calls back into direct ones for one side only. */
static mutex_fn volatile tested_lock = pthread_mutex_lock, tested_unlock = pthread_mutex_unlock;
#ifdef WITH_SCL
static scl_fn volatile scl_lock = scl_mutex_lock, scl_unlock = scl_mutex_unlock;
#endif

static double time_loop(uint64_t n, int reference)
{
    if (reference)
        return time_mutex_loop(n, glibc_lock, glibc_unlock, &ref_mutex);
    switch (kind) {
    case LOCK_MUTEX:
        return time_mutex_loop(n, tested_lock, tested_unlock, &the_mutex);
#ifdef WITH_SCL
    case LOCK_USCL:
        return time_scl_loop(n, scl_lock, scl_unlock, &the_uscl);
#endif
    default: {
        uint64_t t0 = now_ns();
        for (uint64_t i = 0; i < n; i++) {
            do_lock();
            shared_counter++;
            do_unlock();
        }
        return (double)(now_ns() - t0) / (double)n;
    }
    }
}

static void run_latency(struct worker *w)
{
    /* warm both, and size a pair to fill the run */
    time_loop(100000, 0);
    double per = time_loop(100000, 1);
    uint64_t n = (uint64_t)((double)duration_ns / (2.0 * LATENCY_PAIRS) / (per > 1 ? per : 1));
    if (n < 10000)
        n = 10000;
    uint64_t t0 = now_ns(), iters = 200000;
    for (npairs = 0; npairs < LATENCY_PAIRS; npairs++) {
        /* alternate which half goes first, so neither is always second */
        int first = npairs & 1;
        double a = time_loop(n, first), b = time_loop(n, !first);
        pair_ref_ns[npairs] = first ? a : b;
        pair_lock_ns[npairs] = first ? b : a;
        iters += 2 * n;
    }
    w->latency_ns = now_ns() - t0;
    w->latency_iters = iters;
    w->acquisitions = iters;
}

static void run_contended(struct worker *w, int id)
{
    uint64_t exit_at = w->spec->exit_frac > 0
        ? t_start + (uint64_t)(w->spec->exit_frac * duration_ns) : UINT64_MAX;
    const int timed = w->spec->cs_ns > 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        do_lock();
        if (timed) {
            uint64_t t0 = stamp_ns();
            cs_owner = id;
            spin_work(w->cs_iters);
            if (cs_owner != id)
                atomic_fetch_add(&exclusion_violations, 1);
            uint64_t t1 = stamp_ns();
            do_unlock();
            w->hold_ns += t1 - t0;
            /* Split at the midpoint so a section preempted across it is
             * counted on both sides in proportion. */
            if (t1 <= t_mid)
                w->hold_before_ns += t1 - t0;
            else if (t0 >= t_mid)
                w->hold_after_ns += t1 - t0;
            else {
                w->hold_before_ns += t_mid - t0;
                w->hold_after_ns += t1 - t_mid;
            }
            w->acquisitions++;
            w->last_release = t1;
            if (t1 >= exit_at) {
                w->exited_at_ns = t1 - t_start;
                break;
            }
        } else {
            /* Throughput: no clock reads inside, just a racy-if-unprotected
             * increment whose total is checked at the end. */
            shared_counter++;
            do_unlock();
            w->acquisitions++;
        }
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int id = (int)(w - workers);
    w->tid = (pid_t)syscall(SYS_gettid);
    if (w->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(w->cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0)
            w->setup_error = errno;
    }
    if (w->spec->nice != 0 && setpriority(PRIO_PROCESS, w->tid, w->spec->nice) != 0)
        w->setup_error = errno;

    uint64_t cpu0, runq0, cpu1, runq1;
    pthread_barrier_wait(&start_barrier);
    read_schedstat(w->tid, &cpu0, &runq0);
    if (latency_mode)
        run_latency(w);
    else
        run_contended(w, id);
    read_schedstat(w->tid, &cpu1, &runq1);
    w->cpu_ns = cpu1 - cpu0;
    w->runq_ns = runq1 - runq0;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Main                                                                */
/* ------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr,
            "usage: lockbench --lock mutex|spin|ticket"
#ifdef WITH_SCL
            "|uscl"
#endif
            " --scenario NAME --mode contended|latency --workers CS:NICE:CPU:EXIT[,...]"
            " [--duration S] [--slice-us N]\n");
    exit(2);
}

/* Whether the interposer is mapped into this process: lets the driver
 * confirm that a `preload` run really ran on SCL. */
static int preload_mapped(void)
{
    char line[512];
    int found = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "libscl-preload") != NULL;
    fclose(f);
    return found;
}

static int usable_cpus(int *out, int max)
{
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    for (int c = 0; c < CPU_SETSIZE && n < max; c++)
        if (CPU_ISSET(c, &set))
            out[n++] = c;
    return n;
}

int main(int argc, char **argv)
{
    const char *lock_name = NULL, *scen_name = NULL, *mode = NULL, *workers_arg = NULL;
    double duration_s = 2.0;
    long slice_us = -1;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--lock") && i + 1 < argc)
            lock_name = argv[++i];
        else if (!strcmp(argv[i], "--scenario") && i + 1 < argc)
            scen_name = argv[++i];
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            mode = argv[++i];
        else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
            workers_arg = argv[++i];
        else if (!strcmp(argv[i], "--duration") && i + 1 < argc)
            duration_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--slice-us") && i + 1 < argc)
            slice_us = atol(argv[++i]);
        else
            usage();
    }
    if (!lock_name || !scen_name || !mode || !workers_arg || !(duration_s > 0 && duration_s < 3600))
        usage();
    if (strspn(scen_name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(scen_name)) {
        fprintf(stderr, "lockbench: --scenario: letters, digits, _ and - only\n");
        usage();
    }
    if (!strcmp(mode, "latency"))
        latency_mode = 1;
    else if (strcmp(mode, "contended")) {
        fprintf(stderr, "lockbench: unknown --mode '%s'\n", mode);
        usage();
    }
    parse_workers(workers_arg);
    if (latency_mode && (nthreads != 1 || specs[0].cs_ns)) {
        fprintf(stderr, "lockbench: --mode latency runs one worker with CS 0\n");
        usage();
    }
    if (latency_mode && find_glibc_mutex() != 0) {
        fprintf(stderr, "lockbench: glibc's pthread_mutex_lock not found in libc.so.6\n");
        return 1;
    }

    if (!strcmp(lock_name, "mutex"))
        kind = LOCK_MUTEX;
    else if (!strcmp(lock_name, "spin"))
        kind = LOCK_SPIN;
    else if (!strcmp(lock_name, "ticket"))
        kind = LOCK_TICKET;
#ifdef WITH_SCL
    else if (!strcmp(lock_name, "uscl"))
        kind = LOCK_USCL;
#endif
    else {
        fprintf(stderr, "lockbench: unknown lock '%s'\n", lock_name);
        usage();
    }

    int rc = 0;
    pthread_mutex_init(&the_mutex, NULL);
    pthread_spin_init(&the_spin, PTHREAD_PROCESS_PRIVATE);
#ifdef WITH_SCL
    scl_mutexattr_t attr;
    scl_mutexattr_init(&attr);
    if (slice_us >= 0)
        attr.slice_ns = (uint64_t)slice_us * 1000u;
    rc = scl_mutex_init(&the_uscl, &attr);
    if (rc != 0) {
        fprintf(stderr, "lockbench: scl_mutex_init: %s\n", strerror(rc));
        return 1;
    }
#else
    (void)slice_us;     /* only the u-SCL lock has slices */
#endif

    int cpus[MAX_THREADS];
    int ncpus = usable_cpus(cpus, 2);
    double iters_per_us = calibrate_iters_per_us();
    if (!latency_mode)
        stamp_init();

    duration_ns = (uint64_t)(duration_s * 1e9);
    pthread_barrier_init(&start_barrier, NULL, (unsigned)nthreads + 1);
    pthread_t th[MAX_THREADS];
    for (int i = 0; i < nthreads; i++) {
        struct worker *w = &workers[i];
        w->spec = &specs[i];
        w->cpu = (w->spec->cpu_slot >= 0 && ncpus > 0) ? cpus[w->spec->cpu_slot % ncpus] : -1;
        w->cs_iters = (uint64_t)(w->spec->cs_ns / 1000.0 * iters_per_us + 0.5);
        if (pthread_create(&th[i], NULL, worker_main, w) != 0) {
            perror("lockbench: pthread_create");
            return 1;
        }
    }
    t_start = stamp_ns();
    t_mid = t_start + duration_ns / 2;
    pthread_barrier_wait(&start_barrier);

    struct timespec nap = {(time_t)(duration_ns / 1000000000ull),
                           (long)(duration_ns % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &nap, &nap) == EINTR)
        ;
    uint64_t t_end = stamp_ns();
    atomic_store(&stop, 1);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    /* A critical section that began before `stop` (perhaps preempted) may
     * end after t_end; the run lasts until the last one ends, so that
     * utilisation = sum(hold) / wall can never exceed 1. */
    for (int i = 0; i < nthreads; i++)
        if (workers[i].last_release > t_end)
            t_end = workers[i].last_release;

    uint64_t total_acq = 0;
    for (int i = 0; i < nthreads; i++)
        total_acq += workers[i].acquisitions;

    printf("{\"lock\": \"%s\", \"scenario\": \"%s\",\n", lock_name, scen_name);
    printf(" \"duration_s\": %.6f, \"wall_ns\": %llu, \"split_ns\": %llu,\n",
           duration_s, (unsigned long long)(t_end - t_start),
           (unsigned long long)(t_mid - t_start));
    printf(" \"iters_per_us\": %.3f, \"cpus\": %d, \"preload_mapped\": %s, \"stamp\": \"%s\",\n",
           iters_per_us, ncpus, preload_mapped() ? "true" : "false", stamp_tsc ? "tsc" : "monotonic");
    printf(" \"exclusion_violations\": %lu, \"counter_ok\": %s,\n",
           (unsigned long)atomic_load(&exclusion_violations),
           (specs[0].cs_ns == 0 ? shared_counter == total_acq : 1) ? "true" : "false");
    if (latency_mode) {
        printf(" \"latency_pairs_ns\": [");
        for (int i = 0; i < npairs; i++)
            printf("%s[%.3f, %.3f]", i ? ", " : "", pair_ref_ns[i], pair_lock_ns[i]);
        printf("],\n");
    }
    printf(" \"acquisitions_per_s\": %.1f,\n", total_acq / ((t_end - t_start) / 1e9));
#ifdef WITH_SCL
    if (kind == LOCK_USCL) {
        scl_lock_stats_t st;
        memset(&st, 0, sizeof st);
        int n = scl_mutex_stats(&the_uscl, &st, NULL, 0);
        if (n >= 0)
            printf(" \"scl_stats\": {\"slices\": %llu, \"jain_opportunity\": %.6f, "
                   "\"jain_hold\": %.6f, \"hold_ns\": %llu, \"elapsed_ns\": %llu},\n",
                   (unsigned long long)st.slices, st.jain_opportunity, st.jain_hold,
                   (unsigned long long)st.hold_ns, (unsigned long long)st.elapsed_ns);
    }
#endif
    printf(" \"threads\": [\n");
    for (int i = 0; i < nthreads; i++) {
        struct worker *w = &workers[i];
        printf("  {\"id\": %d, \"tid\": %d, \"cpu\": %d, \"cs_ns\": %u, \"nice\": %d, "
               "\"setup_error\": %d, \"acquisitions\": %llu, \"hold_ns\": %llu, "
               "\"hold_before_ns\": %llu, \"hold_after_ns\": %llu, \"cpu_ns\": %llu, "
               "\"runqueue_ns\": %llu, \"exited_at_ns\": %llu}%s\n",
               i, (int)w->tid, w->cpu, w->spec->cs_ns, w->spec->nice, w->setup_error,
               (unsigned long long)w->acquisitions, (unsigned long long)w->hold_ns,
               (unsigned long long)w->hold_before_ns, (unsigned long long)w->hold_after_ns,
               (unsigned long long)w->cpu_ns, (unsigned long long)w->runq_ns,
               (unsigned long long)w->exited_at_ns, i + 1 < nthreads ? "," : "");
    }
    printf(" ]}\n");
#ifdef WITH_SCL
    scl_mutex_destroy(&the_uscl);
#endif
    return rc;
}
