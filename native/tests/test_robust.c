/* Robust owner-died across fork() with a shared-memory lock, and the
 * re-initialisation of process-local locks in a forked child. */
#include "testlib.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scl.h"

static scl_mutex_t *shared_robust(void)
{
    scl_mutex_t *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    scl_mutexattr_t a;
    scl_mutexattr_init(&a);
    a.pshared = 1;
    a.robust = 1;
    if (scl_mutex_init(m, &a) != 0)
        return NULL;
    return m;
}

static int child_dies_holding(scl_mutex_t *m)
{
    pid_t pid = fork();
    if (pid == 0) {
        _exit(scl_mutex_lock(m) == 0 ? 0 : 1);   /* dies holding it */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(robust_owner_died_across_fork)
{
    scl_mutex_t *m = shared_robust();
    CHECK(m != NULL);
    CHECK(child_dies_holding(m));
    CHECK_EQ(scl_mutex_trylock(m), EOWNERDEAD);
    CHECK_EQ(scl_mutex_consistent(m), 0);
    CHECK_EQ(scl_mutex_consistent(m), EINVAL);     /* already consistent */
    CHECK_EQ(scl_mutex_unlock(m), 0);
    CHECK_EQ(scl_mutex_lock(m), 0);                /* healthy again */
    CHECK_EQ(scl_mutex_unlock(m), 0);

    /* a blocking lock notices the death as well */
    CHECK(child_dies_holding(m));
    uint64_t t0 = tl_now_ns();
    CHECK_EQ(scl_mutex_lock(m), EOWNERDEAD);
    CHECK(tl_now_ns() - t0 < 2000000000ull);
    /* unlock without consistent: not recoverable */
    CHECK_EQ(scl_mutex_unlock(m), 0);
    CHECK_EQ(scl_mutex_lock(m), ENOTRECOVERABLE);
    CHECK_EQ(scl_mutex_trylock(m), ENOTRECOVERABLE);
    munmap(m, sizeof *m);
}

static scl_mutex_t held_by_other, held_by_me;
static volatile int holder_ready, holder_release;

static void *holder(void *p)
{
    (void)p;
    scl_mutex_lock(&held_by_other);
    __atomic_store_n(&holder_ready, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&holder_release, __ATOMIC_ACQUIRE))
        tl_sleep_ms(1);
    scl_mutex_unlock(&held_by_other);
    return NULL;
}

TEST(fork_child_reinitialises_locks)
{
    CHECK_EQ(scl_mutex_init(&held_by_other, NULL), 0);
    CHECK_EQ(scl_mutex_init(&held_by_me, NULL), 0);
    holder_ready = holder_release = 0;
    pthread_t t;
    pthread_create(&t, NULL, holder, NULL);
    while (!__atomic_load_n(&holder_ready, __ATOMIC_ACQUIRE))
        tl_sleep_ms(1);
    CHECK_EQ(scl_mutex_lock(&held_by_me), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        /* held by a thread that does not exist here: reset */
        bad |= scl_mutex_trylock(&held_by_other) != 0;
        bad |= scl_mutex_unlock(&held_by_other) != 0;
        /* held by the forking thread: still ours */
        bad |= scl_mutex_lock(&held_by_me) != EDEADLK;
        bad |= scl_mutex_unlock(&held_by_me) != 0;
        bad |= scl_mutex_lock(&held_by_me) != 0;
        bad |= scl_mutex_unlock(&held_by_me) != 0;
        _exit(bad);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    __atomic_store_n(&holder_release, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    CHECK_EQ(scl_mutex_unlock(&held_by_me), 0);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    CHECK_EQ(scl_mutex_destroy(&held_by_other), 0);
    CHECK_EQ(scl_mutex_destroy(&held_by_me), 0);
}
