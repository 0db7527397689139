/* testlib.c - runner for the TEST() functions linked into the binary. */
#include "testlib.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_TESTS 128
#define TEST_TIMEOUT_S 30

static struct { const char *name; tl_fn fn; } tests[MAX_TESTS];
static int ntests;
static volatile int failed_now, skipped_now;
static const char *current;

void tl_register(const char *name, tl_fn fn)
{
    if (ntests < MAX_TESTS) {
        tests[ntests].name = name;
        tests[ntests].fn = fn;
        ntests++;
    }
}

void tl_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "  %s:%d: check failed: %s\n", file, line, what);
    __atomic_store_n(&failed_now, 1, __ATOMIC_RELAXED);
}

void tl_skip(const char *why)
{
    fprintf(stderr, "  skipped: %s\n", why);
    skipped_now = 1;
}

uint64_t tl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void tl_sleep_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&ts, &ts) != 0) {}
}

void tl_spin_ns(uint64_t ns)
{
    uint64_t end = tl_now_ns() + ns;
    while (tl_now_ns() < end) {}
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "  watchdog: test did not finish in time\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(3);
}

int main(int argc, char **argv)
{
    const char *label = getenv("SCL_TEST_LABEL");
    int passed = 0, failed = 0, skipped = 0;
    signal(SIGALRM, on_alarm);
    for (int i = 0; i < ntests; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1]))
            continue;
        current = tests[i].name;
        failed_now = skipped_now = 0;
        alarm(TEST_TIMEOUT_S);
        uint64_t t0 = tl_now_ns();
        tests[i].fn();
        alarm(0);
        double ms = (double)(tl_now_ns() - t0) / 1e6;
        if (failed_now) {
            failed++;
            printf("FAIL %s (%.0f ms)\n", current, ms);
        } else if (skipped_now) {
            skipped++;
            printf("skip %s\n", current);
        } else {
            passed++;
            printf("ok   %s (%.0f ms)\n", current, ms);
        }
        fflush(stdout);
    }
    printf("%s%s%d passed, %d failed, %d skipped\n", label ? label : "", label ? ": " : "",
           passed, failed, skipped);
    return failed ? 1 : 0;
}
