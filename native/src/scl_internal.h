/*
 * scl_internal.h - helpers shared by the SCL sources (not installed).
 */
#ifndef SCL_INTERNAL_H
#define SCL_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <sched.h>
#include <unistd.h>

#include "scl.h"

/* Public entry points are exported from libscl.so; everything else is
 * hidden.  The interposer builds with SCL_HIDE_API so a program that also
 * links libscl.so does not resolve into the interposer's private copy. */
#ifdef SCL_HIDE_API
#define SCL_API __attribute__((visibility("hidden")))
#else
#define SCL_API __attribute__((visibility("default")))
#endif
#define SCL_HIDDEN __attribute__((visibility("hidden")))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Relaxed/acquire/release shorthands over the __atomic builtins. */
#define LD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define LDA(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define STR(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)

static inline double bits_to_double(uint64_t b) { double d; memcpy(&d, &b, sizeof d); return d; }
static inline uint64_t double_to_bits(double d) { uint64_t b; memcpy(&b, &d, sizeof b); return b; }

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/* ---- time (clock.c) ---- */

/* Nanoseconds on the library's monotonic time base: CLOCK_MONOTONIC, or an
 * invariant TSC calibrated against it at run time. */
SCL_HIDDEN uint64_t scl__now_slow(void);
extern SCL_HIDDEN int scl__tsc_ready;
extern SCL_HIDDEN uint64_t scl__tsc_base, scl__tsc_base_ns, scl__tsc_mult;

static inline uint64_t scl_now(void)
{
#if defined(__x86_64__)
    if (likely(LDA(&scl__tsc_ready))) {
        uint64_t t = __builtin_ia32_rdtsc();
        uint64_t d = t > scl__tsc_base ? t - scl__tsc_base : 0;
        return scl__tsc_base_ns + (uint64_t)(((unsigned __int128)d * scl__tsc_mult) >> 32);
    }
#endif
    return scl__now_slow();
}

SCL_HIDDEN uint64_t scl__mono_ns(void);
SCL_HIDDEN int scl__clock_uses_tsc(void);

/* Converts an absolute deadline on `clock` into the scl_now() base.
 * Returns EINVAL for a bad timespec or clock; *out = 0 means "already passed"
 * is represented as the current time. */
SCL_HIDDEN int scl__deadline(clockid_t clock, const struct timespec *abstime, uint64_t *out);

static inline uint64_t sat_sub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

/* ---- futex ---- */

static inline int futex_wait_rel(uint32_t *addr, uint32_t val, uint64_t timeout_ns, int pshared)
{
    struct timespec ts, *tp = NULL;
    if (timeout_ns != UINT64_MAX) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000ull);
        ts.tv_nsec = (long)(timeout_ns % 1000000000ull);
        tp = &ts;
    }
    int op = FUTEX_WAIT | (pshared ? 0 : FUTEX_PRIVATE_FLAG);
    long r = syscall(SYS_futex, addr, op, val, tp, NULL, 0);
    return r == 0 ? 0 : errno;
}

static inline void futex_wake(uint32_t *addr, int n, int pshared)
{
    int op = FUTEX_WAKE | (pshared ? 0 : FUTEX_PRIVATE_FLAG);
    syscall(SYS_futex, addr, op, n, NULL, NULL, 0);
}

/* Sleeps for ns nanoseconds (EINTR-tolerant callers loop anyway). */
SCL_HIDDEN void scl__sleep_ns(uint64_t ns);

/* ---- threads (thread.c) ---- */

/* The caller's kernel tid, cached per thread.  Initial-exec TLS (4 bytes,
 * fits glibc's static TLS surplus even when the library is dlopen()ed): one
 * %fs-relative load on the lock fast path instead of a TLS-descriptor call. */
extern __thread pid_t scl__cached_tid __attribute__((tls_model("initial-exec")));
SCL_HIDDEN pid_t scl__tid_slow(void);
static inline pid_t scl__tid(void)
{
    pid_t t = scl__cached_tid;
    return likely(t) ? t : scl__tid_slow();
}

/* Internal futex lock for process-local registries: never a pthread mutex,
 * so the interposer cannot recurse into itself. */
typedef struct { uint32_t w; } scl_ilock_t;
SCL_HIDDEN void scl__ilock(scl_ilock_t *l);
SCL_HIDDEN void scl__iunlock(scl_ilock_t *l);

/* Spin lock for short sections inside a lock object (pshared-safe). */
static inline void spin_lock32(uint32_t *l)
{
    for (;;) {
        if (!__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
            return;
        int n = 0;
        while (LD(l)) {
            if (++n < 200) cpu_relax();
            else { sched_yield(); n = 0; }
        }
    }
}
static inline void spin_unlock32(uint32_t *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

/* Per-thread cache of the slot a thread owns in each mutex it uses; also the
 * list walked by the thread-exit destructor. */
#define SCL_TLS_LOCKS 32
struct scl_tls_entry {
    struct scl_mutex *m;
    uint64_t id;             /* lock's registry id (0: pshared, not tracked) */
    int slot;
};
SCL_HIDDEN struct scl_tls_entry *scl__tls_find(struct scl_mutex *m);
SCL_HIDDEN struct scl_tls_entry *scl__tls_add(struct scl_mutex *m, int slot);

/* Live-lock registry: ids of the mutexes initialised in this process, so the
 * thread-exit destructor and the fork handler only touch live locks. */
SCL_HIDDEN uint64_t scl__registry_add(struct scl_mutex *m);
SCL_HIDDEN void scl__registry_remove(struct scl_mutex *m);
/* trace.c: the directory of live mutexes read by `scl trace` */
SCL_HIDDEN void scl__trace_register(struct scl_mutex *m);
SCL_HIDDEN void scl__trace_unregister(struct scl_mutex *m);

/* mutex.c hooks used by thread.c */
SCL_HIDDEN void scl__mutex_thread_exit(struct scl_mutex *m, int slot, pid_t tid);
SCL_HIDDEN void scl__mutex_after_fork(struct scl_mutex *m, pid_t old_tid, pid_t new_tid);

/* ---- weights (weight.c) ---- */

SCL_HIDDEN double scl__thread_weight(int source, uint64_t now);
SCL_HIDDEN double scl__cgroup_weight_now(void);

/* ---- condition variables: generic wait used by the interposer ---- */

typedef int (*scl_relock_fn)(void *mutex);
SCL_HIDDEN int scl__cond_wait_generic(struct scl_cond *c, void *mutex,
                                      int (*unlock)(void *), int (*lock)(void *),
                                      const uint64_t *deadline);

#define SCL_MUTEX_MAGIC 0x53434c4du   /* "SCLM" */
#define SCL_COND_MAGIC 0x53434c43u
#define SCL_RWLOCK_MAGIC 0x53434c52u

#endif /* SCL_INTERNAL_H */
