/*
 * trace.c - the directory of live mutexes that an out-of-process tracer reads.
 *
 * Every mutex already keeps its own per-thread statistics (struct scl_slot:
 * acquisitions, hold, wait, opportunity; struct scl_mutex: free time, slice
 * hand-overs), taken with the library's own clock reads.  A tracer that
 * reads them from the traced process's memory (/proc/<pid>/mem, as root)
 * needs no probe on the lock path at all, so it cannot change what it
 * measures: a uprobe costs a trap of about 2 us, the same order as the
 * critical sections whose shares it is meant to report.
 *
 * What the tracer needs is where the locks are.  scl_mutex_init() enters the
 * lock's address here and scl_mutex_destroy() removes it; the directory is
 * one exported object (`scl_trace_directory`, found through the library's
 * dynamic symbol table plus its load address in /proc/<pid>/maps) whose
 * header also describes the layout of struct scl_mutex and struct scl_slot
 * as field offsets, so a reader never hard-codes scl_types.h and notices a
 * library built with another layout (version, nfields).
 *
 * Concurrency: entries are claimed and released with CAS (0 = free), so
 * init and destroy on different threads need no lock; `high` only grows
 * (atomic max).  Nothing here is on the lock/unlock path.  The reader is
 * another process reading without any synchronisation: it re-checks each
 * lock's magic, and tolerates a lock that is destroyed or re-initialised
 * while it reads (the counters are 64-bit aligned words, never torn on the
 * architectures the kit supports; a reader may see counters of one slot
 * from slightly different instants, an error of one critical section).
 * Entries of pshared locks hold this process's mapping address.
 */
#include <stddef.h>

#include "scl_internal.h"

#define SCL_TRACE_DIR_MAGIC 0x53434c44u   /* "SCLD" */
#define SCL_TRACE_DIR_VERSION 1u
#define SCL_TRACE_DIR_CAP 1024u
/* The `flags` bit of an active participant (counted in W_total): mirrors
 * SLOT_ACTIVE in mutex.c, which keeps its SLOT_* flags private. */
#define TRACE_SLOT_ACTIVE 1u

/* Indices into field[]: offsets in bytes, or values where named so.  Only
 * ever appended to (a reader accepts nfields >= what it knows). */
enum {
    F_MUTEX_SIZE,        /* sizeof(struct scl_mutex) */
    F_MUTEX_MAGIC,       /* value: SCL_MUTEX_MAGIC */
    F_MAGIC,
    F_WORD,
    F_SLICE,
    F_LAST_RELEASE,
    F_FREE_NS,
    F_SLICES,
    F_STATS_START,
    F_NSLOTS,
    F_SLOTS,
    F_SLOT_SIZE,         /* sizeof(struct scl_slot) */
    F_MAX_SLOTS,         /* value: SCL_MAX_THREADS */
    F_SLOT_TID,
    F_SLOT_FLAGS,
    F_SLOT_ACTIVE,       /* value: the flags bit of an active participant */
    F_SLOT_WEIGHT,       /* double, bit pattern */
    F_SLOT_ACQUISITIONS,
    F_SLOT_HOLD_NS,
    F_SLOT_WAIT_NS,
    F_SLOT_OPP_NS,
    F_SLOT_FREE_MARK,
    F_SLOT_FREE_BANKED,
    F_OVERFLOW_ACQ,
    F_COUNT
};

struct scl_trace_directory {
    uint32_t magic;
    uint32_t version;
    uint32_t nfields;
    uint32_t cap;
    uint32_t field[32];
    uint32_t high;                       /* entries [0, high) were ever used */
    uint32_t full;                       /* inits that found no free entry */
    uint64_t lock[SCL_TRACE_DIR_CAP];    /* live mutex addresses, 0 = free */
};

#define OFF_M(f) (uint32_t)offsetof(struct scl_mutex, f)
#define OFF_S(f) (uint32_t)offsetof(struct scl_slot, f)

SCL_API struct scl_trace_directory scl_trace_directory = {
    .magic = SCL_TRACE_DIR_MAGIC,
    .version = SCL_TRACE_DIR_VERSION,
    .nfields = F_COUNT,
    .cap = SCL_TRACE_DIR_CAP,
    .field = {
        [F_MUTEX_SIZE] = sizeof(struct scl_mutex),
        [F_MUTEX_MAGIC] = SCL_MUTEX_MAGIC,
        [F_MAGIC] = OFF_M(magic),
        [F_WORD] = OFF_M(word),
        [F_SLICE] = OFF_M(slice),
        [F_LAST_RELEASE] = OFF_M(last_release),
        [F_FREE_NS] = OFF_M(free_ns),
        [F_SLICES] = OFF_M(slices),
        [F_STATS_START] = OFF_M(stats_start),
        [F_NSLOTS] = OFF_M(nslots),
        [F_SLOTS] = OFF_M(slots),
        [F_SLOT_SIZE] = sizeof(struct scl_slot),
        [F_MAX_SLOTS] = SCL_MAX_THREADS,
        [F_SLOT_TID] = OFF_S(tid),
        [F_SLOT_FLAGS] = OFF_S(flags),
        [F_SLOT_ACTIVE] = TRACE_SLOT_ACTIVE,
        [F_SLOT_WEIGHT] = OFF_S(weight_bits),
        [F_SLOT_ACQUISITIONS] = OFF_S(acquisitions),
        [F_SLOT_HOLD_NS] = OFF_S(hold_ns),
        [F_SLOT_WAIT_NS] = OFF_S(wait_ns),
        [F_SLOT_OPP_NS] = OFF_S(opp_ns),
        [F_SLOT_FREE_MARK] = OFF_S(free_mark),
        [F_SLOT_FREE_BANKED] = OFF_S(free_banked),
        [F_OVERFLOW_ACQ] = OFF_M(overflow_acquisitions),
    },
};

_Static_assert(F_COUNT <= 32, "field[] too small");

SCL_HIDDEN void scl__trace_register(struct scl_mutex *m)
{
    struct scl_trace_directory *d = &scl_trace_directory;
    uint64_t want = (uint64_t)(uintptr_t)m;
    for (uint32_t i = 0; i < SCL_TRACE_DIR_CAP; i++) {
        uint64_t cur = LD(&d->lock[i]);
        if (cur == want)
            return;   /* re-initialised without destroy (a later duplicate is
                         harmless: readers skip repeated addresses) */
        if (cur == 0 && __atomic_compare_exchange_n(&d->lock[i], &cur, want, 0, __ATOMIC_RELAXED,
                                                    __ATOMIC_RELAXED)) {
            uint32_t h = LD(&d->high);
            while (h < i + 1 && !__atomic_compare_exchange_n(&d->high, &h, i + 1, 0, __ATOMIC_RELAXED,
                                                             __ATOMIC_RELAXED))
                ;
            return;
        }
    }
    ADD(&d->full, 1);   /* the lock works; a tracer just cannot find it */
}

SCL_HIDDEN void scl__trace_unregister(struct scl_mutex *m)
{
    struct scl_trace_directory *d = &scl_trace_directory;
    uint64_t want = (uint64_t)(uintptr_t)m;
    uint32_t high = LD(&d->high);
    for (uint32_t i = 0; i < high; i++) {
        uint64_t cur = want;
        if (__atomic_compare_exchange_n(&d->lock[i], &cur, 0, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return;
    }
}
