/*
 * rename_storm - the rename-lock subversion case, in user space.
 *
 * Cross-directory renames serialise on the filesystem's rename mutex
 * (s_vfs_rename_mutex) and on the two directories' inode locks.  "Bully"
 * threads move their file between two directories holding many files, so
 * every rename does slow lookups while holding those locks; "victim"
 * threads move theirs between two empty directories, and wait behind the
 * bullies.  Each thread reports its rename count and latency as JSON.
 * Everything it creates is removed at the end, also after SIGINT/SIGTERM.
 *
 *   rename_storm [--dir PARENT] [--bullies N] [--victims N] [--files N]
 *                [--seconds S] [--gate]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256
#define MAX_FILES 1000000
#define MAX_SECONDS 120.0

struct worker {
    int bully;
    int index;
    pid_t tid;
    char from[PATH_MAX], to[PATH_MAX];
    uint64_t renames, total_ns, max_ns, errors;
    pthread_t thread;
};

static atomic_int stop;
static char root[1024]; /* short, so every path under it fits PATH_MAX */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop, 1);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    w->tid = (pid_t)syscall(SYS_gettid);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint64_t t0 = now_ns();
        if (rename(w->from, w->to) != 0) {
            w->errors++;
            continue;
        }
        uint64_t d = now_ns() - t0;
        w->renames++;
        w->total_ns += d;
        if (d > w->max_ns)
            w->max_ns = d;
        char tmp[PATH_MAX];
        memcpy(tmp, w->from, sizeof(tmp));
        memcpy(w->from, w->to, sizeof(tmp));
        memcpy(w->to, tmp, sizeof(tmp));
    }
    return NULL;
}

static int touch(const char *path)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static void remove_tree(long files, int bullies, int victims)
{
    char path[PATH_MAX];
    static const char *dirs[] = {"big-a", "big-b", "empty-a", "empty-b"};
    for (int d = 0; d < 4; d++) {
        for (long i = 0; d < 2 && i < files; i++) {
            snprintf(path, sizeof(path), "%s/%s/f%07ld", root, dirs[d], i);
            unlink(path);
        }
        for (int i = 0; i < bullies; i++) {
            snprintf(path, sizeof(path), "%s/%s/bully-%d", root, dirs[d], i);
            unlink(path);
        }
        for (int i = 0; i < victims; i++) {
            snprintf(path, sizeof(path), "%s/%s/victim-%d", root, dirs[d], i);
            unlink(path);
        }
        snprintf(path, sizeof(path), "%s/%s", root, dirs[d]);
        if (rmdir(path) != 0 && errno != ENOENT)
            fprintf(stderr, "rename_storm: rmdir %s: %s\n", path, strerror(errno));
    }
    if (rmdir(root) != 0)
        fprintf(stderr, "rename_storm: rmdir %s: %s\n", root, strerror(errno));
}

static void usage(void)
{
    fprintf(stderr, "usage: rename_storm [--dir PARENT] [--bullies N] [--victims N] [--files N] "
                    "[--seconds S] [--gate]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *parent = "/tmp";
    long bullies = 2, victims = 2, files = 20000;
    double seconds = 3.0;
    int gate = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            parent = argv[++i];
        else if (!strcmp(argv[i], "--bullies") && i + 1 < argc)
            bullies = atol(argv[++i]);
        else if (!strcmp(argv[i], "--victims") && i + 1 < argc)
            victims = atol(argv[++i]);
        else if (!strcmp(argv[i], "--files") && i + 1 < argc)
            files = atol(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--gate"))
            gate = 1;
        else
            usage();
    }
    if (bullies < 0 || victims < 0 || bullies + victims < 1 || bullies + victims > MAX_THREADS ||
        files < 0 || files > MAX_FILES || !(seconds > 0 && seconds <= MAX_SECONDS)) {
        fprintf(stderr, "rename_storm: need 1..%d threads in all, 0..%d files, 0 < seconds <= %.0f\n",
                MAX_THREADS, MAX_FILES, MAX_SECONDS);
        return 2;
    }

    if (strlen(parent) + sizeof("/rename-storm.XXXXXX") > sizeof(root)) {
        fprintf(stderr, "rename_storm: --dir path too long\n");
        return 2;
    }
    snprintf(root, sizeof(root), "%s/rename-storm.XXXXXX", parent);
    if (!mkdtemp(root)) {
        fprintf(stderr, "rename_storm: mkdtemp in %s: %s\n", parent, strerror(errno));
        return 1;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char path[PATH_MAX];
    static const char *dirs[] = {"big-a", "big-b", "empty-a", "empty-b"};
    for (int d = 0; d < 4; d++) {
        snprintf(path, sizeof(path), "%s/%s", root, dirs[d]);
        mkdir(path, 0755);
    }
    /* Half the files in each big directory, so both sides' lookups are slow. */
    for (long i = 0; i < files && !atomic_load(&stop); i++) {
        snprintf(path, sizeof(path), "%s/%s/f%07ld", root, dirs[i & 1], i);
        if (touch(path) != 0) {
            fprintf(stderr, "rename_storm: create %s: %s\n", path, strerror(errno));
            remove_tree(files, (int)bullies, (int)victims);
            return 1;
        }
    }

    static struct worker w[MAX_THREADS];
    int n = (int)(bullies + victims);
    for (int i = 0; i < n; i++) {
        w[i].bully = i < bullies;
        w[i].index = w[i].bully ? i : i - (int)bullies;
        const char *kind = w[i].bully ? "bully" : "victim";
        const char *a = w[i].bully ? "big-a" : "empty-a", *b = w[i].bully ? "big-b" : "empty-b";
        snprintf(w[i].from, PATH_MAX, "%s/%s/%s-%d", root, a, kind, w[i].index);
        snprintf(w[i].to, PATH_MAX, "%s/%s/%s-%d", root, b, kind, w[i].index);
        touch(w[i].from);
    }
    if (gate && !atomic_load(&stop)) {
        fprintf(stderr, "ready %d\n", (int)getpid());
        fflush(stderr);
        char line[64];
        (void)!fgets(line, sizeof(line), stdin); /* a line or EOF starts the run */
    }
    uint64_t t0 = now_ns();
    for (int i = 0; i < n; i++)
        pthread_create(&w[i].thread, NULL, work, &w[i]);
    struct timespec nap = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (!atomic_load(&stop) && nanosleep(&nap, &nap) != 0 && errno == EINTR)
        ;
    atomic_store(&stop, 1);
    for (int i = 0; i < n; i++)
        pthread_join(w[i].thread, NULL);
    uint64_t elapsed = now_ns() - t0;
    remove_tree(files, (int)bullies, (int)victims);

    printf("{\"pid\":%d,\"elapsed_ns\":%llu,\"files\":%ld,\"threads\":[", (int)getpid(),
           (unsigned long long)elapsed, files);
    for (int i = 0; i < n; i++)
        printf("%s{\"role\":\"%s\",\"index\":%d,\"tid\":%d,\"renames\":%llu,\"errors\":%llu,"
               "\"mean_ns\":%llu,\"max_ns\":%llu}",
               i ? "," : "", w[i].bully ? "bully" : "victim", w[i].index, (int)w[i].tid,
               (unsigned long long)w[i].renames, (unsigned long long)w[i].errors,
               (unsigned long long)(w[i].renames ? w[i].total_ns / w[i].renames : 0),
               (unsigned long long)w[i].max_ns);
    printf("]}\n");
    return 0;
}
