/* testlib.h - a tiny test runner: TEST(name) { ... CHECK(...); } */
#ifndef SCL_TESTLIB_H
#define SCL_TESTLIB_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>

typedef void (*tl_fn)(void);
void tl_register(const char *name, tl_fn fn);
void tl_fail(const char *file, int line, const char *what);
void tl_skip(const char *why);
uint64_t tl_now_ns(void);
void tl_sleep_ms(double ms);
/* busy-waits for ns nanoseconds of CLOCK_MONOTONIC (a critical section) */
void tl_spin_ns(uint64_t ns);

#define TEST(name)                                                        \
    static void name(void);                                               \
    __attribute__((constructor)) static void tl_reg_##name(void)          \
    {                                                                     \
        tl_register(#name, name);                                         \
    }                                                                     \
    static void name(void)

/* CHECK returns from the test function; EXPECT (usable in helper threads)
 * records the failure and carries on. */
#define EXPECT(c) do { if (!(c)) tl_fail(__FILE__, __LINE__, #c); } while (0)
#define CHECK(c) do { if (!(c)) { tl_fail(__FILE__, __LINE__, #c); return; } } while (0)
#define CHECK_EQ(a, b)                                                    \
    do {                                                                  \
        long long va_ = (long long)(a), vb_ = (long long)(b);             \
        if (va_ != vb_) {                                                 \
            char buf_[256];                                               \
            snprintf(buf_, sizeof buf_, "%s == %s (%lld vs %lld)", #a, #b, va_, vb_); \
            tl_fail(__FILE__, __LINE__, buf_);                            \
            return;                                                       \
        }                                                                 \
    } while (0)
#define SKIP(why) do { tl_skip(why); return; } while (0)

#endif
