/*
 * weight.c - where a thread's scheduling weight comes from.
 *
 * NICE: the kernel's CFS table (kernel/sched/core.c sched_prio_to_weight),
 * each nice step ~1.25x.  Read with getpriority(PRIO_PROCESS, tid), which on
 * Linux is per thread.  Re-read at most every NICE_REFRESH_NS per thread.
 * EXPLICIT: scl_thread_set_weight(), thread-local; falls back to NICE.
 * CGROUP: cpu cgroup of the thread (v2 cpu.weight scaled to 1024 per 100, v1
 * cpu.shares as is), cached per thread and refreshed every CGROUP_REFRESH_NS.
 * The refresh re-reads the thread's group as well as the weight, so a thread
 * moved to another tenant's group, or a weight the node agent rewrote, is
 * seen within CGROUP_REFRESH_NS; between refreshes the cost is one compare.
 *
 * A tenant's task may sit in the v1 cpu root for a while (SCHED_FIFO needs
 * the root's RT budget, see the node agent's placement) while cpuacct keeps
 * it in its tenant group; the tenant is then read from the cpuacct line and
 * the weight from the cpu group of the same path.
 *
 * Tenant of a thread: each refresh records (tid, group path) in a small
 * table that scl_thread_cgroup() reads, so statistics can be aggregated per
 * tenant after the thread is gone.  Direct-mapped by tid; a collision
 * overwrites (the lookup checks the tid, so it never answers wrongly).
 *
 * Overrides for tests (read once): SHAREKIT_CGROUP_ROOT replaces the mount
 * table (v1 cpu at ROOT/cpu, v2 at ROOT or ROOT/unified), and
 * SCL_THREAD_CGROUP_FILE replaces /proc/thread-self/cgroup.
 */
#include "scl_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define NICE_REFRESH_NS 4000000ull
#define CGROUP_REFRESH_NS 100000000ull

static const uint32_t cfs_weight[40] = {
    /* -20 */ 88761, 71755, 56483, 46273, 36291,
    /* -15 */ 29154, 23254, 18705, 14949, 11916,
    /* -10 */ 9548, 7620, 6100, 4904, 3906,
    /*  -5 */ 3121, 2501, 1991, 1586, 1277,
    /*   0 */ 1024, 820, 655, 526, 423,
    /*   5 */ 335, 272, 215, 172, 137,
    /*  10 */ 110, 87, 70, 56, 45,
    /*  15 */ 36, 29, 23, 18, 15,
};

SCL_API uint32_t scl_nice_to_weight(int nice)
{
    if (nice < -20 || nice > 19)
        return 0;
    return cfs_weight[nice + 20];
}

static __thread double explicit_weight;
static __thread uint64_t nice_read_at;
static __thread double nice_weight;
static __thread uint64_t cgroup_read_at;
static __thread double cgroup_weight;

SCL_API int scl_thread_set_weight(double weight)
{
    if (weight == 0) {
        explicit_weight = 0;
        return 0;
    }
    if (!(weight > 0) || !isfinite(weight))
        return EINVAL;
    explicit_weight = weight;
    return 0;
}

SCL_API double scl_thread_get_weight(void) { return explicit_weight; }

static double nice_weight_now(uint64_t now)
{
    if (nice_weight == 0 || now - nice_read_at >= NICE_REFRESH_NS) {
        int saved = errno;
        errno = 0;
        int nice = getpriority(PRIO_PROCESS, (id_t)scl__tid());
        uint32_t w = (nice == -1 && errno) ? 1024 : scl_nice_to_weight(nice);
        errno = saved;
        nice_weight = w ? w : 1024;
        nice_read_at = now;
    }
    return nice_weight;
}

/* ---- cgroup ---- */

/* Mount points, found once from /proc/self/mountinfo (or the override). */
static char v2_mount[256], v1_cpu_mount[256], cgroup_file[256] = "/proc/thread-self/cgroup";
static int mounts_parsed;
static scl_ilock_t mounts_lock;

static int exists(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static void parse_override(const char *root)
{
    char p[256];
    snprintf(p, sizeof p, "%s/cpu", root);
    if (exists(p, "cpu.shares"))
        snprintf(v1_cpu_mount, sizeof v1_cpu_mount, "%s", p);
    if (exists(root, "cgroup.controllers")) {
        snprintf(v2_mount, sizeof v2_mount, "%s", root);
    } else {
        snprintf(p, sizeof p, "%s/unified", root);
        if (exists(p, "cgroup.controllers"))
            snprintf(v2_mount, sizeof v2_mount, "%s", p);
    }
}

static void parse_mounts(void)
{
    const char *file = secure_getenv("SCL_THREAD_CGROUP_FILE");
    if (file && *file)
        snprintf(cgroup_file, sizeof cgroup_file, "%s", file);
    const char *root = secure_getenv("SHAREKIT_CGROUP_ROOT");
    if (root && *root) {
        parse_override(root);
        return;
    }
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        /* id parent maj:min root mountpoint opts [optional...] - fstype src superopts */
        char root_[256], mnt[256];
        if (sscanf(line, "%*s %*s %*s %255s %255s", root_, mnt) != 2)
            continue;
        char *dash = strstr(line, " - ");
        if (!dash)
            continue;
        char fstype[64], src[64], sopts[512];
        if (sscanf(dash + 3, "%63s %63s %511s", fstype, src, sopts) != 3)
            continue;
        if (strcmp(fstype, "cgroup2") == 0 && !v2_mount[0]) {
            snprintf(v2_mount, sizeof v2_mount, "%s", mnt);
        } else if (strcmp(fstype, "cgroup") == 0 && !v1_cpu_mount[0]) {
            /* the cpu controller appears as "cpu" among comma-separated options */
            char *tok, *save = NULL;
            for (tok = strtok_r(sopts, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
                if (strcmp(tok, "cpu") == 0) {
                    snprintf(v1_cpu_mount, sizeof v1_cpu_mount, "%s", mnt);
                    break;
                }
        }
    }
    fclose(f);
}

static int read_u64_file(const char *path, uint64_t *out)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    unsigned long long v;
    int ok = fscanf(f, "%llu", &v) == 1;
    fclose(f);
    if (ok)
        *out = v;
    return ok;
}

/* ---- tid -> group path, for per-tenant statistics ---- */

#define CGROUP_TAB 1024
static struct { pid_t tid; char path[200]; } cgroup_tab[CGROUP_TAB];
static scl_ilock_t cgroup_tab_lock;

static void remember_cgroup(pid_t tid, const char *path)
{
    scl__ilock(&cgroup_tab_lock);
    cgroup_tab[(uint32_t)tid % CGROUP_TAB].tid = tid;
    snprintf(cgroup_tab[(uint32_t)tid % CGROUP_TAB].path, sizeof cgroup_tab[0].path, "%s", path);
    scl__iunlock(&cgroup_tab_lock);
}

SCL_API int scl_thread_cgroup(pid_t tid, char *buf, size_t cap)
{
    int n = -ENOENT;
    scl__ilock(&cgroup_tab_lock);
    if (tid > 0 && cgroup_tab[(uint32_t)tid % CGROUP_TAB].tid == tid && cap > 0) {
        snprintf(buf, cap, "%s", cgroup_tab[(uint32_t)tid % CGROUP_TAB].path);
        n = (int)strlen(buf);
    }
    scl__iunlock(&cgroup_tab_lock);
    return n;
}

/* Weight of the calling thread's cpu cgroup, 1024-based; 1024 when none can
 * be read.  v1 "cpu" controller first (cpu.shares, as is), else v2 (cpu.weight
 * w -> 1024 * w / 100). */
double scl__cgroup_weight_now(void)
{
    if (!LDA(&mounts_parsed)) {
        scl__ilock(&mounts_lock);
        if (!mounts_parsed) {
            parse_mounts();
            STR(&mounts_parsed, 1);
        }
        scl__iunlock(&mounts_lock);
    }
    FILE *f = fopen(cgroup_file, "re");
    if (!f)
        return 1024;
    char line[1024], v1path[512] = "", acctpath[512] = "", v2path[512] = "";
    int have_v1 = 0, have_v2 = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = 0;
        *c2 = 0;
        const char *ctrls = c1 + 1, *path = c2 + 1;
        if (strcmp(line, "0") == 0 && ctrls[0] == 0) {
            snprintf(v2path, sizeof v2path, "%s", path);
            have_v2 = 1;
        } else {
            char buf[256];
            snprintf(buf, sizeof buf, "%s", ctrls);
            char *tok, *save = NULL;
            for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
                if (strcmp(tok, "cpu") == 0) {
                    snprintf(v1path, sizeof v1path, "%s", path);
                    have_v1 = 1;
                } else if (strcmp(tok, "cpuacct") == 0) {
                    snprintf(acctpath, sizeof acctpath, "%s", path);
                }
        }
    }
    fclose(f);
    char file[1024];
    uint64_t v;
    if (have_v1 && v1_cpu_mount[0]) {
        /* In the cpu root only while SCHED_FIFO: the tenant is cpuacct's group. */
        const char *tenant = (strcmp(v1path, "/") == 0 && acctpath[0]) ? acctpath : v1path;
        snprintf(file, sizeof file, "%s%s/cpu.shares", v1_cpu_mount, tenant);
        if (read_u64_file(file, &v) && v > 0) {
            remember_cgroup(scl__tid(), tenant);
            return (double)v;
        }
    }
    if (have_v2 && v2_mount[0]) {
        snprintf(file, sizeof file, "%s%s/cpu.weight", v2_mount, v2path);
        if (read_u64_file(file, &v) && v > 0) {
            remember_cgroup(scl__tid(), v2path);
            return 1024.0 * (double)v / 100.0;
        }
    }
    return 1024;
}

double scl__thread_weight(int source, uint64_t now)
{
    switch (source) {
    case SCL_WEIGHT_EXPLICIT:
        if (explicit_weight > 0)
            return explicit_weight;
        return nice_weight_now(now);
    case SCL_WEIGHT_CGROUP:
        if (cgroup_weight == 0 || now - cgroup_read_at >= CGROUP_REFRESH_NS) {
            cgroup_weight = scl__cgroup_weight_now();
            cgroup_read_at = now;
        }
        return cgroup_weight;
    default:
        return nice_weight_now(now);
    }
}

SCL_API double scl_jain_weighted(const double *x, const double *w, uint32_t n)
{
    double s = 0, s2 = 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (!(wi > 0))
            continue;
        double v = x[i] / wi;
        s += v;
        s2 += v * v;
        k++;
    }
    if (k == 0 || s2 == 0)
        return 1.0;
    return (s * s) / ((double)k * s2);
}
