/*
 * scl_types.h - concrete layouts of the SCL lock objects.
 *
 * Included by scl.h; do not include directly.  The fields are private: use
 * the functions in scl.h.  Every field is a plain integer so the header is
 * valid C and C++; the implementation accesses shared fields only through
 * the GCC __atomic builtins.
 *
 * Sizes are fixed (no pointers to process-local memory inside), so a lock can
 * be embedded in a struct, placed in shared memory (pshared) and its
 * participant state travels with it: per-thread SCL state lives in a fixed
 * table of SCL_MAX_THREADS participant slots inside the lock, keyed by the
 * kernel thread id (unique across the processes of a pid namespace).
 */
#ifndef SCL_TYPES_H
#define SCL_TYPES_H

#include <stdint.h>

/* Participant slots per mutex.  A thread that finds the table full of active
 * participants still gets the lock, as a "guest" (see docs/native.md): it
 * honours slices but is neither banned nor given slices, and its
 * acquisitions are counted in the lock-level overflow counter only. */
#define SCL_MAX_THREADS 64

/* One participant (thread) of one mutex.  104 bytes. */
struct scl_slot {
    int32_t tid;              /* 0: never used */
    uint32_t flags;           /* SLOT_* in mutex.c */
    uint64_t weight_bits;     /* double, bit pattern */
    uint64_t vclock;          /* virtual clock = banned_until, ns */
    uint64_t last_use;        /* ns of the last lock/unlock call */
    uint64_t acquisitions;
    uint64_t hold_ns;
    uint64_t wait_ns;
    uint64_t opp_ns;          /* opportunity banked so far (see mutex.c) */
    uint64_t free_mark;       /* lock's free-time counter when it joined */
    uint64_t free_banked;     /* free time seen in past participation periods */
    uint64_t op_ns;           /* average lock-to-lock period in its slice */
    uint64_t batch_start;     /* ns of the last clock read while holding */
    uint32_t batch_n;         /* unlocks since batch_start */
    uint32_t batch_k;         /* clock read every batch_k unlocks (1: precise) */
};

struct scl_mutex {
    /* hot: futex words and slice, first cache line */
    uint32_t word;            /* 0 free, 1 held, 2 held and maybe sleepers */
    uint32_t slice_seq;       /* futex: bumped whenever the slice changes */
    int32_t owner;            /* holder's tid, 0 when free */
    uint32_t state;           /* MSTATE_* (owner died, not recoverable) */
    uint64_t slice;           /* (slot + 1) << 32 | tid of slice owner; 0 none */
    uint64_t slice_end;       /* ns */
    uint32_t nwaiters;        /* eligible (not banned) threads waiting */
    uint32_t reg;             /* spin lock guarding slot joins/leaves, W */
    uint64_t wtotal_bits;     /* double: sum of active participants' weights */
    int32_t owner_slot;       /* holder's slot, -1 for a guest */
    /* quiet mode (one participant): what its lock and unlock touch */
    int32_t quiet_tid;        /* the quiet thread's tid; 0: nobody is quiet */
    uint32_t quiet_left;      /* acquisitions until the next timed sample */
    int32_t quiet_slot;       /* the quiet thread's slot */
    /* the above is the first 64 bytes */
    uint32_t magic;
    /* configuration */
    uint64_t slice_ns;
    uint64_t idle_ns;
    uint64_t credit_cap_ns;
    uint64_t grace_ns;        /* owner counts as idle after this long */
    uint32_t spin_ns;
    int32_t weight_source;
    int32_t pshared;
    int32_t robust;
    /* accounting, written by the holder */
    uint64_t hold_start;
    uint64_t last_release;
    uint64_t free_ns;         /* time free outside any slice (opportunity for all) */
    uint64_t slices;
    uint64_t total_hold;
    uint64_t stats_start;
    uint64_t last_scan;
    uint64_t overflow_acquisitions;
    uint64_t id;              /* process-local registry id (0 for pshared) */
    uint64_t batch_target_ns; /* in-slice clock reads at most this far apart */
    uint32_t nslots;          /* slots ever used (scan bound) */
    uint32_t slice_fresh;     /* slice handed over, not yet used by its owner */
    struct scl_slot slots[SCL_MAX_THREADS];
};

/* Small enough to live inside a pthread_cond_t (48 bytes) in the interposer. */
struct scl_cond {
    uint32_t seq;             /* futex: bumped by signal/broadcast */
    uint32_t waiters;
    int32_t pshared;
    int32_t clock;            /* clock of timedwait deadlines (interposer) */
    uint32_t magic;
    uint32_t pad[3];
};

struct scl_rwlock {
    uint32_t state;           /* futex: bit 0 writer, readers << 1 */
    uint32_t phase_seq;       /* futex: bumped on every phase change */
    uint32_t phase;           /* 0 read phase, 1 write phase */
    uint32_t plock;           /* spin lock for phase changes */
    uint64_t phase_end;       /* ns */
    uint32_t waiting[2];      /* threads waiting, per class */
    uint32_t state_sleepers;  /* threads sleeping on `state` */
    int32_t writer;           /* tid of the writer holding it */
    uint64_t len[2];          /* phase lengths, ns */
    double weight[2];
    int32_t pshared;
    uint32_t magic;
    /* statistics, per class (0 readers, 1 writers) */
    uint64_t acquisitions[2];
    uint64_t hold_ns[2];
    uint64_t wait_ns[2];
    uint64_t busy_start[2];   /* when the class's current occupancy began */
    uint64_t phases;
    uint64_t stats_start;
    uint64_t phase_ns[2];     /* time in each class's phases: its opportunity */
    uint64_t phase_start;     /* when the current phase began */
};

#endif /* SCL_TYPES_H */
