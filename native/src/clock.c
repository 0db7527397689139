/*
 * clock.c - the library's nanosecond time base.
 *
 * Accounting reads the time twice per critical section, so the clock is on
 * the fast path.  vDSO clock_gettime costs ~20 ns; rdtsc ~8 ns.  We use the
 * TSC only when the kernel itself trusts it as an invariant, synchronised
 * clock (cpu flags constant_tsc + nonstop_tsc and the "tsc" clocksource), and
 * calibrate it at run time against CLOCK_MONOTONIC (no compile-time CPU
 * frequency): the first ~20 ms after load use clock_gettime, then the first
 * caller that notices computes the ratio and publishes it.
 * SCL_CLOCK=monotonic in the environment forces clock_gettime.
 *
 * Publication: scl__tsc_base/_base_ns/_mult are written once, before the
 * release store of scl__tsc_ready; readers load ready with acquire, so they
 * see the three values that were written before it.  A CAS on `calibrating`
 * makes sure only one thread writes them.
 */
#include "scl_internal.h"

#include <fcntl.h>
#include <stdlib.h>

SCL_HIDDEN int scl__tsc_ready;
SCL_HIDDEN uint64_t scl__tsc_base, scl__tsc_base_ns, scl__tsc_mult;

static int tsc_usable;
static int calibrating;
static uint64_t cal_tsc0, cal_ns0;

#define CALIBRATION_NS 20000000ull

uint64_t scl__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Reads a small file with raw syscalls (safe before malloc/stdio are up). */
static int file_contains(const char *path, const char *const *words, int nwords)
{
    char buf[8192];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    for (int i = 0; i < nwords; i++)
        if (!strstr(buf, words[i]))
            return 0;
    return 1;
}

__attribute__((constructor)) static void clock_init(void)
{
#if defined(__x86_64__)
    const char *env = getenv("SCL_CLOCK");
    if (env && strcmp(env, "monotonic") == 0)
        return;
    static const char *const flags[] = {" constant_tsc", " nonstop_tsc"};
    static const char *const tsc[] = {"tsc"};
    if (!file_contains("/proc/cpuinfo", flags, 2))
        return;
    if (!file_contains("/sys/devices/system/clocksource/clocksource0/current_clocksource", tsc, 1))
        return;
    cal_tsc0 = __builtin_ia32_rdtsc();
    cal_ns0 = scl__mono_ns();
    __atomic_store_n(&tsc_usable, 1, __ATOMIC_RELEASE);
#endif
}

int scl__clock_uses_tsc(void) { return LDA(&scl__tsc_ready); }

uint64_t scl__now_slow(void)
{
    uint64_t ns = scl__mono_ns();
#if defined(__x86_64__)
    if (LDA(&tsc_usable) && ns - cal_ns0 >= CALIBRATION_NS && !LD(&calibrating)) {
        int expect = 0;
        if (__atomic_compare_exchange_n(&calibrating, &expect, 1, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            /* Bracket the clock read between two TSC reads: the midpoint is
             * within a few tens of ns of the moment ns was sampled. */
            uint64_t t1 = __builtin_ia32_rdtsc();
            uint64_t n = scl__mono_ns();
            uint64_t t2 = __builtin_ia32_rdtsc();
            uint64_t t = t1 + (t2 - t1) / 2;
            if (t > cal_tsc0 && n > cal_ns0) {
                unsigned __int128 num = (unsigned __int128)(n - cal_ns0) << 32;
                scl__tsc_mult = (uint64_t)(num / (t - cal_tsc0));
                scl__tsc_base = t;
                scl__tsc_base_ns = n;
                __atomic_store_n(&scl__tsc_ready, 1, __ATOMIC_RELEASE);
            }
            return n;
        }
    }
#endif
    return ns;
}

int scl__deadline(clockid_t clock, const struct timespec *abstime, uint64_t *out)
{
    if (!abstime || abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000L || abstime->tv_sec < 0)
        return EINVAL;
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return EINVAL;
    struct timespec now;
    clock_gettime(clock, &now);
    uint64_t base = scl_now();
    int64_t rem = (int64_t)(abstime->tv_sec - now.tv_sec) * 1000000000ll +
                  (abstime->tv_nsec - now.tv_nsec);
    if (rem < 0)
        rem = 0;
    *out = base + (uint64_t)rem;
    return 0;
}

void scl__sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    nanosleep(&ts, NULL);
}
