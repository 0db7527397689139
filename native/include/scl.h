/*
 * scl.h - scheduler-cooperative locks (u-SCL mutex, RW-SCL reader-writer lock).
 *
 * A plain mutex lets the thread with the longest critical section take most
 * of the lock and, with it, most of the CPU.  An SCL gives every thread a lock
 * *opportunity* proportional to its scheduling weight: a thread that used more
 * than its share is banned for a while, and lock slices let the owner
 * re-acquire cheaply while its slice lasts.
 *
 * Conventions (as pthreads): every function that can fail returns 0 on
 * success or a positive errno value; nothing sets errno.  Times are
 * nanoseconds of CLOCK_MONOTONIC unless a name says otherwise.
 *
 * This header is the public API: C programs, the cffi binding (scl/_ffi) and
 * the LD_PRELOAD interposer all go through it.
 */
#ifndef SCL_H
#define SCL_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SCL_VERSION_MAJOR 0
#define SCL_VERSION_MINOR 1

/* ------------------------------------------------------------------ */
/* Weights                                                             */
/* ------------------------------------------------------------------ */

/* Where a lock reads each thread's weight from.  Chosen per lock. */
typedef enum scl_weight_source {
    SCL_WEIGHT_NICE = 0,     /* CFS weight of the thread's nice value (1024 at
                                nice 0), re-read when the nice value changes */
    SCL_WEIGHT_EXPLICIT = 1, /* the thread's scl_thread_set_weight() value;
                                threads that set none fall back to NICE */
    SCL_WEIGHT_CGROUP = 2    /* weight of the thread's cpu cgroup: v2
                                cpu.weight, v1 cpu.shares (scaled so that the
                                default 100 / 1024 both map to 1024) */
} scl_weight_source_t;

/* The kernel's CFS weight for a nice value in [-20, 19]; 0 when out of range. */
uint32_t scl_nice_to_weight(int nice);

/* The cgroup (path inside its hierarchy, e.g. "/sharekit-tenants/alice")
 * whose weight SCL_WEIGHT_CGROUP last read for thread `tid` of this process;
 * its length, or -ENOENT when no cgroup weight was read for it. */
int scl_thread_cgroup(pid_t tid, char *buf, size_t cap);

/* Explicit weight of the calling thread (> 0 and finite; EINVAL otherwise).
 * weight == 0 clears it.  Read by locks whose source is SCL_WEIGHT_EXPLICIT. */
int scl_thread_set_weight(double weight);
double scl_thread_get_weight(void);   /* 0 when none is set */

/* ------------------------------------------------------------------ */
/* u-SCL mutex                                                         */
/* ------------------------------------------------------------------ */

typedef struct scl_mutexattr {
    uint64_t slice_ns;      /* lock slice; default 2 ms */
    uint64_t idle_ns;       /* a thread that has not touched the lock for this
                               long leaves W_total; default 100 ms */
    uint64_t credit_cap_ns; /* bound on banked credit: lag (now - virtual
                               clock) gained while away from the lock counts
                               at most this much; 0 (default) = slice_ns */
    uint32_t spin_ns;       /* bounded spinning before a futex sleep;
                               default 20 us */
    int weight_source;      /* scl_weight_source_t; default SCL_WEIGHT_NICE */
    int pshared;            /* nonzero: usable across processes (shared memory) */
    int robust;             /* nonzero: EOWNERDEAD when the owner died */
} scl_mutexattr_t;

void scl_mutexattr_init(scl_mutexattr_t *attr);

/* The lock object.  Its fields are private; its size is fixed so it can be
 * embedded in structs and shared memory. */
typedef struct scl_mutex scl_mutex_t;

/* init: EINVAL for bad attributes.  destroy: EBUSY while held or waited on. */
int scl_mutex_init(scl_mutex_t *m, const scl_mutexattr_t *attr);
int scl_mutex_destroy(scl_mutex_t *m);

/* lock: 0; EDEADLK when the caller already holds it; EOWNERDEAD (robust
 * locks: the caller now holds it, state may be inconsistent, see
 * scl_mutex_consistent); ENOTRECOVERABLE. */
int scl_mutex_lock(scl_mutex_t *m);
/* trylock: EBUSY when it is held, in another thread's slice, or the caller
 * is banned (a banned thread must not bypass its ban through trylock). */
int scl_mutex_trylock(scl_mutex_t *m);
/* Absolute deadline on `clock` (CLOCK_REALTIME or CLOCK_MONOTONIC); ETIMEDOUT. */
int scl_mutex_clocklock(scl_mutex_t *m, clockid_t clock, const struct timespec *abstime);
/* pthread_mutex_timedlock semantics: CLOCK_REALTIME deadline. */
int scl_mutex_timedlock(scl_mutex_t *m, const struct timespec *abstime);
/* unlock: EPERM when the caller does not hold it. */
int scl_mutex_unlock(scl_mutex_t *m);
/* After EOWNERDEAD: mark the state consistent again (EINVAL otherwise).
 * Unlocking without it makes the lock ENOTRECOVERABLE. */
int scl_mutex_consistent(scl_mutex_t *m);

/* Per-lock slice can be changed while unused (EBUSY while held or waited
 * on; EINVAL for 0 or more than 10 s). */
int scl_mutex_set_slice(scl_mutex_t *m, uint64_t slice_ns);

/* ------------------------------------------------------------------ */
/* Condition variables (work with scl_mutex_t)                          */
/* ------------------------------------------------------------------ */

typedef struct scl_cond scl_cond_t;

int scl_cond_init(scl_cond_t *c, int pshared);
int scl_cond_destroy(scl_cond_t *c);           /* EBUSY with waiters */
int scl_cond_wait(scl_cond_t *c, scl_mutex_t *m); /* EPERM: m not held */
int scl_cond_clockwait(scl_cond_t *c, scl_mutex_t *m, clockid_t clock,
                       const struct timespec *abstime);
int scl_cond_timedwait(scl_cond_t *c, scl_mutex_t *m,
                       const struct timespec *abstime); /* CLOCK_REALTIME */
int scl_cond_signal(scl_cond_t *c);
int scl_cond_broadcast(scl_cond_t *c);

/* ------------------------------------------------------------------ */
/* RW-SCL                                                              */
/* ------------------------------------------------------------------ */

typedef struct scl_rwlockattr {
    uint64_t period_ns;   /* one read phase + one write phase; default 20 ms */
    double read_weight;   /* class weights size the phases; default 1 : 1 */
    double write_weight;
    int pshared;
} scl_rwlockattr_t;

void scl_rwlockattr_init(scl_rwlockattr_t *attr);

typedef struct scl_rwlock scl_rwlock_t;

int scl_rwlock_init(scl_rwlock_t *l, const scl_rwlockattr_t *attr);
int scl_rwlock_destroy(scl_rwlock_t *l);
int scl_rwlock_rdlock(scl_rwlock_t *l);
int scl_rwlock_tryrdlock(scl_rwlock_t *l);
int scl_rwlock_clockrdlock(scl_rwlock_t *l, clockid_t clock, const struct timespec *abstime);
int scl_rwlock_wrlock(scl_rwlock_t *l);
int scl_rwlock_trywrlock(scl_rwlock_t *l);
int scl_rwlock_clockwrlock(scl_rwlock_t *l, clockid_t clock, const struct timespec *abstime);
int scl_rwlock_unlock(scl_rwlock_t *l);        /* EPERM when not held */

/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */

typedef struct scl_thread_stats {
    pid_t tid;
    double weight;            /* last weight used */
    int active;               /* 0 once the thread left (exit or idle) */
    uint64_t acquisitions;
    uint64_t hold_ns;         /* time holding the lock */
    uint64_t wait_ns;         /* time blocked in lock calls */
    uint64_t opportunity_ns;  /* hold time + time the lock was free or in this
                                 thread's own slice, while the thread was a
                                 participant */
} scl_thread_stats_t;

typedef struct scl_lock_stats {
    uint64_t elapsed_ns;      /* since init or the last reset */
    uint64_t hold_ns;         /* total over all threads */
    uint64_t slices;          /* slice hand-overs */
    double jain_opportunity;  /* weighted Jain index of opportunity_ns / weight */
    double jain_hold;         /* weighted Jain index of hold_ns / weight */
    uint32_t nthreads;        /* threads recorded (active or not) */
} scl_lock_stats_t;

/* Fills *out and up to `cap` thread records; returns the number of thread
 * records available (may exceed cap), or -errno. */
int scl_mutex_stats(scl_mutex_t *m, scl_lock_stats_t *out,
                    scl_thread_stats_t *threads, uint32_t cap);
int scl_mutex_stats_reset(scl_mutex_t *m);
/* RW-SCL statistics are per class: record 0 = readers, record 1 = writers
 * (tid 0, weight = class weight); slices counts phase changes. */
int scl_rwlock_stats(scl_rwlock_t *l, scl_lock_stats_t *out,
                     scl_thread_stats_t *threads, uint32_t cap);

/* Weighted Jain index of x[i] / w[i]; 1.0 for n == 0. */
double scl_jain_weighted(const double *x, const double *w, uint32_t n);

/* ------------------------------------------------------------------ */
/* Tracing hooks (stable symbols for eBPF uprobes)                     */
/* ------------------------------------------------------------------ */

/* Called (never inlined, empty body) whenever slice ownership of a mutex
 * passes from one thread to another; from_tid or to_tid is 0 when the slice
 * was ended without a successor or started on a free lock.  Attach a uprobe
 * to it; the public lock functions are uprobe-able as well. */
void scl_trace_slice_handover(const void *lock, pid_t from_tid, pid_t to_tid);

#ifdef __cplusplus
}
#endif

/* Private layout (sizes fixed by the implementation) follows. */
#include "scl_types.h"

#endif /* SCL_H */
