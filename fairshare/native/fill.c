/*
 * Progressive filling, the per-task loop in C.
 *
 * This is fairshare/filling.py's _fill_pooled (with the residual and best-fit
 * server rules) and _fill_server_specific (PS-DSF, rPS-DSF), plus the offer
 * cycle of fairshare/online.py, step for step: the same heap order, the same
 * batch lengths, the same float expressions evaluated in the same order, so
 * the allocations are bit-identical to the Python reference (the tests
 * compare them matrix for matrix).  Build with -ffp-contract=off: a fused
 * multiply-add would round differently from numpy's separate multiply and add.
 *
 * Ownership: every array belongs to the caller (numpy); free, x_server and x
 * are updated in place, `changed[i]` is set for every server whose free
 * capacity changed so the caller can refresh its own caches.  Single
 * threaded; nothing here is shared, so there is no locking.
 *
 * Room cache (residual rule, rPS-DSF).  rows[n][i] = tasks of n that fit on
 * server i.  It starts from the caller's values (or fit_counts of free,
 * computed here) and is re-derived lazily: every placement appends its server
 * to a log.  Invariant: rows[n][i] >= the true room (free only shrinks during
 * a fill, and the room is monotone in free), with equality for every server
 * not logged since synced[n].  A pick needs only the argmax, which
 * lazy_argmax finds by recomputing the few stale entries that could be it;
 * the batched paths (water-filling) first recompute every logged entry
 * (row()).  The Python FillState keeps an exact server-major copy instead;
 * recomputing from free on demand is cheaper here.
 *
 * Best fit keeps no rows: its picks search a hierarchy of servers (bvh_pick).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fill.h"

#define TOL 1e-12
#define TASK_LIMIT 9007199254740992.0 /* 2^53 */
#define VECTOR_MAX 4096               /* best fit: scan up to this count, bisect beyond */
#define SPREAD_MIN 64                 /* rPS-DSF water-level step threshold */
#define BLOCK 64                      /* servers per leaf of a row's max tree */

typedef __int128 wide;

struct entry {
	double key;
	int64_t n;
};

struct ctx {
	const struct fs_problem *p;
	struct fs_state *s;
	int64_t F, S, R;
	/* lazily synced room rows (see top of file) */
	int64_t *rows, *own_rows; /* own_rows: allocated here when the caller gave none */
	int rows_pending;         /* own_rows not computed yet (ROOMS_LATER) */
	const int64_t *room0;     /* best fit: the rooms at the start of the fill */
	unsigned char *alive; /* rows[n][i] > 0, a byte per entry: a fifth of the
			       * memory traffic of reading the room to skip it */
	int64_t *log;   /* servers changed, in order */
	int64_t nlog, caplog;
	int64_t *last;   /* per server: log position of its last change, -1 never */
	int64_t *synced; /* per framework: log length its row reflects */
	/* Per framework, a max tree over its row's blocks of BLOCK servers
	 * (leaves at P + block, P a power of two): each leaf is an upper bound
	 * of its block's cached rooms, built on first use (tree_ok). */
	int64_t nblocks, P;
	int64_t *tree;
	unsigned char *tree_ok;
	/* best fit */
	struct bvh *bv;
	int64_t nplace; /* placements so far (servers changed, with repeats) */
	const double *total;
	const double *shape_b; /* F x R: (d/total) / (d/total)[pivot] */
	const int64_t *pivot;
	/* q[(i * R + p) * R + r] = (free[i][r] / total[r]) / (free[i][p] / total[p]),
	 * server i's free shape scaled by pivot p, for the pivots some framework
	 * uses (pivot_used): the divisions of distance(), done once per server
	 * change instead of once per (framework, server). */
	double *q;
	unsigned char pivot_used[FS_MAX_RESOURCES];
	/* uniformly random fitting server (RandomFit) */
	const struct fs_random *rnd;
	/* randomised round robin: each framework's order once drawn (ordlen -1 before) */
	const struct fs_rrr *rr;
	const int64_t **ord;
	int64_t *ordlen;
	/* min-heap of (key, framework) */
	struct entry *heap;
	int64_t nheap;
	/* scratch, S long */
	int64_t *s_room, *s_placed, *s_fit;
	double *s_dist, *s_free;
	int64_t *s_touched;
	int64_t n_touched;
	unsigned char *s_over;
};

/* ---------- small helpers mirroring the Python expressions ---------- */

/* filling._q: the share rounded to 12 significant digits (repr round trip). */
static double q12(double v)
{
	char buf[40];
	snprintf(buf, sizeof buf, "%.12g", v);
	return strtod(buf, NULL);
}

static int before(const struct entry *a, const struct entry *b)
{
	return a->key < b->key || (a->key == b->key && a->n < b->n);
}

static void heap_push(struct ctx *c, double key, int64_t n)
{
	struct entry e = {key, n};
	int64_t k = c->nheap++;
	while (k > 0) {
		int64_t up = (k - 1) / 2;
		if (!before(&e, &c->heap[up]))
			break;
		c->heap[k] = c->heap[up];
		k = up;
	}
	c->heap[k] = e;
}

static struct entry heap_pop(struct ctx *c)
{
	struct entry top = c->heap[0], e = c->heap[--c->nheap];
	int64_t k = 0, m = c->nheap;
	for (;;) {
		int64_t l = 2 * k + 1, best = k;
		const struct entry *b = &e;
		if (l < m && before(&c->heap[l], b)) {
			best = l;
			b = &c->heap[l];
		}
		if (l + 1 < m && before(&c->heap[l + 1], b))
			best = l + 1;
		if (best == k)
			break;
		c->heap[k] = c->heap[best];
		k = best;
	}
	if (m > 0)
		c->heap[k] = e;
	return top;
}

/* filling._key_below */
static int key_below(double key, int64_t n, const struct entry *ru)
{
	if (!ru)
		return 1;
	double tol = TOL * fmax(1.0, fabs(ru->key));
	return key < ru->key - tol || (fabs(key - ru->key) <= tol && n < ru->n);
}

/* filling._count_before_crossing */
static int64_t count_before_crossing(int64_t x, double u, int64_t n, double s_m, int64_t m)
{
	double q = (s_m - (double)x * u) / u;
	int64_t c;
	if (!(q < 4.0e18))
		return INT64_MAX / 2; /* Python's unbounded int; the caller caps it */
	c = (int64_t)q - 1;       /* int() truncates toward zero, as the cast does */
	if (c < 0)
		c = 0;
	double tol = TOL * fmax(1.0, fabs(s_m));
	for (;;) {
		double a = (double)(x + c) * u;
		if (a < s_m - tol || (fabs(a - s_m) <= tol && n < m))
			c++;
		else
			return c;
	}
}

/* min over resources of f / demand, as f * (1/d) + (0 or 1e300 where n
 * needs none of the resource): FillState's arithmetic, term for term. */
static inline double min_ratio_of(const struct ctx *c, int64_t n, const double *f)
{
	const double *inv = c->p->inv + n * c->R, *big = c->p->big + n * c->R;
	double m = f[0] * inv[0] + big[0];
	for (int64_t r = 1; r < c->R; r++) {
		double v = f[r] * inv[r] + big[r];
		if (v < m)
			m = v;
	}
	return m;
}

static inline double min_ratio(const struct ctx *c, int64_t n, int64_t i)
{
	return min_ratio_of(c, n, c->s->free + i * c->R);
}

/* FillState._refresh for one (framework, server) pair that had room: the
 * eligibility factor is 1 (eligibility is static, and an ineligible pair
 * never has room). */
static inline int64_t room_alive(const struct ctx *c, int64_t n, int64_t i)
{
	double m = min_ratio(c, n, i);
	m += 1e-9;
	m = floor(m);
	if (m > c->p->room_max)
		m = c->p->room_max;
	return (int64_t)m;
}

/* FillState.room_one */
static int64_t room_one(const struct ctx *c, int64_t n, int64_t i)
{
	double m = min_ratio(c, n, i);
	if (m > TASK_LIMIT)
		m = TASK_LIMIT;
	return c->p->elig[n * c->S + i] ? (int64_t)(m + 1e-9) : 0;
}

/* best_fit._distance of one free vector to framework n's demand shape:
 * numpy's sum over 4-7 terms is sequential from the left, as here. */
static double distance(const struct ctx *c, int64_t n, const double *f)
{
	int64_t p = c->pivot[n];
	double ap = f[p] / c->total[p], s = 0.0;
	const double *sb = c->shape_b + n * c->R;
	for (int64_t r = 0; r < c->R; r++)
		s += fabs((f[r] / c->total[r]) / ap - sb[r]);
	return s;
}

static void q_refresh(struct ctx *c, int64_t i)
{
	const double *f = c->s->free + i * c->R;
	double a[FS_MAX_RESOURCES];
	for (int64_t r = 0; r < c->R; r++)
		a[r] = f[r] / c->total[r];
	for (int64_t p = 0; p < c->R; p++)
		if (c->pivot_used[p])
			for (int64_t r = 0; r < c->R; r++)
				c->q[(i * c->R + p) * c->R + r] = a[r] / a[p];
}

/* distance() of server i's current free capacity, from q. */
static inline double distance_q(const struct ctx *c, int64_t n, int64_t i)
{
	const double *qi = c->q + (i * c->R + c->pivot[n]) * c->R, *sb = c->shape_b + n * c->R;
	double s = 0.0;
	for (int64_t r = 0; r < c->R; r++)
		s += fabs(qi[r] - sb[r]);
	return s;
}

/* Tasks of demand d that fit in free f, as Problem.fit_counts computes it
 * (Problem._ratios): the minimum of f / d over the resources d needs (a
 * resource it does not need never binds), then floor(max(m, 0) + 1e-9),
 * capped at TASK_LIMIT: the same divisions, so the same count bit for bit. */
static inline int64_t tasks_fitting(const double *f, const double *d, int64_t R)
{
	double m = INFINITY;
	for (int64_t r = 0; r < R; r++)
		if (d[r] > 0.0) {
			double q = f[r] / d[r];
			if (q < m)
				m = q;
		}
	m = floor(fmax(m, 0.0) + 1e-9);
	return (int64_t)(m < TASK_LIMIT ? m : TASK_LIMIT);
}

/* Problem.fit_counts(free) for one pair (fit_count) or all (fit_counts):
 * tasks_fitting, 0 where n is not eligible on i. */
static inline int64_t fit_count(const struct ctx *c, int64_t n, int64_t i)
{
	if (!c->p->elig[n * c->S + i])
		return 0;
	return tasks_fitting(c->s->free + i * c->R, c->p->demand + n * c->R, c->R);
}

static void fit_counts(const struct ctx *c, int64_t *rows)
{
	for (int64_t n = 0; n < c->F; n++)
		for (int64_t i = 0; i < c->S; i++)
			rows[n * c->S + i] = fit_count(c, n, i);
}

/* Best fit: the room the Python cache holds for a server not placed on in
 * this fill: the caller's cache, or (none: BestFit.begin_fill builds it
 * from free, which has not changed there) fit_counts' value. */
static inline int64_t room_start(const struct ctx *c, int64_t n, int64_t i)
{
	return c->room0 ? c->room0[n * c->S + i] : fit_count(c, n, i);
}

/* ---------- best fit: nearest fitting shape through a hierarchy ----------
 *
 * Best fit's single task goes to the server with the smallest distance
 * (distance_q) among those where the task fits, the lowest index on ties.
 * Distances move both ways as servers fill, so no cached row stays a bound;
 * instead the servers sit in a static binary tree (leaves of LEAF servers,
 * ordered by their initial shape so that similar servers share leaves) whose
 * nodes hold, refreshed on every placement, the box [lo, hi] of their
 * servers' shape ratios per pivot, their largest free amount per resource,
 * and (static) the eligibility classes and smallest server index present.
 *
 * A node is skipped when no server in it can be the answer:
 * - box_lb > best (or equal, and its smallest index above the best's): the
 *   bound adds max(0, lo - b, b - hi) per resource left to right, and IEEE
 *   subtraction and addition are monotone, so for every server in the box
 *   the bound is at most the distance distance_q computes, bit for bit;
 * - its largest free amounts do not fit one task (the room is monotone in
 *   free, so no server in it has room);
 * - the framework is eligible on none of its classes.
 * Every server not skipped is tested exactly as the row scan would test it,
 * so the pick is the row scan's.  Shapes with a zero pivot amount (no
 * framework with that pivot fits there) stay out of the boxes; fs_fill_pooled
 * leaves instances whose ratios could overflow to the Python loop. */
#define LEAF 8
/* Placements between two re-sorts of the leaves by current shape (a re-sort
 * costs a quickselect over the servers per tree level).  On the 10,000 x
 * 1,000 bench instance (bfdrf fill): never 2.2 s; every S/16 with 16-server
 * leaves 1.15-1.3 s; every S/8 with 8-server leaves 1.05-1.1 s; smaller
 * leaves or more frequent re-sorts gain nothing more. */
#define REORDER (c.S / 8 > 64 ? c.S / 8 : 64)

struct bvh {
	int64_t P2;           /* leaves rounded up to a power of two; leaf l is node P2 + l */
	int32_t *order;       /* servers by initial shape; leaf l holds order[l * LEAF ...] */
	int64_t *leaf_of;     /* server -> its leaf node */
	double *lo, *hi;      /* node k, pivot p, resource r at (k * R + p) * R + r */
	double *maxfree;      /* node k, resource r at k * R + r */
	uint64_t *emask;      /* node: eligibility class bits present */
	int64_t *minidx;      /* node: smallest server index */
	uint64_t *fmask;      /* framework: class bits of the servers it may use */
	uint64_t *sbit;       /* server: its class bit */
};

static void bvh_leaf(struct ctx *c, int64_t k)
{
	struct bvh *bv = c->bv;
	int64_t R = c->R, a = (k - bv->P2) * LEAF, e = a + LEAF < c->S ? a + LEAF : c->S;
	double *mf = bv->maxfree + k * R;
	for (int64_t r = 0; r < R; r++)
		mf[r] = -1.0;
	for (int64_t p = 0; p < R; p++)
		if (c->pivot_used[p])
			for (int64_t r = 0; r < R; r++) {
				bv->lo[(k * R + p) * R + r] = INFINITY;
				bv->hi[(k * R + p) * R + r] = -INFINITY;
			}
	for (int64_t t = a; t < e; t++) {
		int64_t i = bv->order[t];
		const double *f = c->s->free + i * R;
		for (int64_t r = 0; r < R; r++)
			if (f[r] > mf[r])
				mf[r] = f[r];
		for (int64_t p = 0; p < R; p++) {
			if (!c->pivot_used[p])
				continue;
			const double *qi = c->q + (i * R + p) * R;
			int finite = 1;
			for (int64_t r = 0; r < R; r++)
				finite &= isfinite(qi[r]);
			if (!finite)
				continue;
			double *lo = bv->lo + (k * R + p) * R, *hi = bv->hi + (k * R + p) * R;
			for (int64_t r = 0; r < R; r++) {
				if (qi[r] < lo[r])
					lo[r] = qi[r];
				if (qi[r] > hi[r])
					hi[r] = qi[r];
			}
		}
	}
}

static void bvh_join(struct ctx *c, int64_t k)
{
	struct bvh *bv = c->bv;
	int64_t R = c->R, a = 2 * k, b = 2 * k + 1;
	for (int64_t r = 0; r < R; r++) {
		double x = bv->maxfree[a * R + r], y = bv->maxfree[b * R + r];
		bv->maxfree[k * R + r] = x > y ? x : y;
	}
	for (int64_t p = 0; p < R; p++)
		if (c->pivot_used[p])
			for (int64_t r = 0; r < R; r++) {
				int64_t o = p * R + r;
				double l1 = bv->lo[a * R * R + o], l2 = bv->lo[b * R * R + o];
				double h1 = bv->hi[a * R * R + o], h2 = bv->hi[b * R * R + o];
				bv->lo[k * R * R + o] = l1 < l2 ? l1 : l2;
				bv->hi[k * R * R + o] = h1 > h2 ? h1 : h2;
			}
}

static void bvh_update(struct ctx *c, int64_t i)
{
	int64_t k = c->bv->leaf_of[i];
	bvh_leaf(c, k);
	for (k >>= 1; k >= 1; k >>= 1)
		bvh_join(c, k);
}

/* Lower bound of distance_q(n, i) over the servers of node k (see above). */
static inline double box_lb(const struct ctx *c, int64_t k, int64_t p, const double *sb)
{
	int64_t R = c->R;
	const double *lo = c->bv->lo + (k * R + p) * R, *hi = c->bv->hi + (k * R + p) * R;
	double s = 0.0;
	for (int64_t r = 0; r < R; r++) {
		double t = 0.0;
		if (sb[r] < lo[r])
			t = lo[r] - sb[r];
		else if (sb[r] > hi[r])
			t = sb[r] - hi[r];
		s += t;
	}
	return s;
}

/* Could one task of n fit on some server of node k?  A refreshed room is
 * >= 1 when min_r(free * inv + big) + 1e-9 >= 1, monotone in free; a start
 * value came from free / d instead, within 4e-16 relative of free * inv, so
 * the test keeps a 1e-12 margin for both. */
static inline int box_may_fit(const struct ctx *c, int64_t n, int64_t k)
{
	return min_ratio_of(c, n, c->bv->maxfree + k * c->R) * (1.0 + 1e-12) + 1e-9 >= 1.0;
}

/* Could node k hold the answer for n at all (classes, room), and its box's
 * lower bound; INFINITY when it cannot. */
static inline double node_bound(const struct ctx *c, int64_t n, int64_t k, int64_t p, const double *sb,
                                uint64_t fm)
{
	if (!(c->bv->emask[k] & fm) || !box_may_fit(c, n, k))
		return INFINITY;
	return box_lb(c, k, p, sb);
}

/* The best-fit server for one task of n, or -1 if it fits nowhere.
 * A node's bound is computed once, when its parent is opened, and kept on
 * the stack with it; the skip test runs again when it is popped, since the
 * best may have improved meanwhile.  Skipping at push time already is
 * sound: the best distance only falls and, at an equal distance, the best
 * index only falls, so a node skipped then would be skipped later too. */
static int64_t bvh_pick(struct ctx *c, int64_t n)
{
	struct bvh *bv = c->bv;
	int64_t p = c->pivot[n], best = -1, ks[2 * 64 + 2], top = 0;
	double lbs[2 * 64 + 2];
	const double *sb = c->shape_b + n * c->R;
	const unsigned char *el = c->p->elig + n * c->S, *chg = c->s->changed;
	uint64_t fm = bv->fmask[n];
	double bd = INFINITY, root = node_bound(c, n, 1, p, sb, fm);
	if (root == INFINITY)
		return -1;
	ks[top] = 1;
	lbs[top++] = root;
	while (top > 0) {
		--top;
		int64_t k = ks[top];
		double lb = lbs[top];
		if (lb > bd || (lb == bd && bv->minidx[k] > best))
			continue;
		if (k >= bv->P2) {
			int64_t a = (k - bv->P2) * LEAF, e = a + LEAF < c->S ? a + LEAF : c->S;
			for (int64_t t = a; t < e; t++) {
				int64_t i = bv->order[t];
				/* the cached room: refreshed (1/d) where placed, else the start value */
				if (chg[i] ? !el[i] || min_ratio(c, n, i) + 1e-9 < 1.0 : room_start(c, n, i) <= 0)
					continue;
				double d = distance_q(c, n, i);
				if (d < bd || (d == bd && i < best)) {
					bd = d;
					best = i;
				}
			}
			continue;
		}
		/* the nearer child is popped first (the left one on a tie) */
		double l1 = node_bound(c, n, 2 * k, p, sb, fm), l2 = node_bound(c, n, 2 * k + 1, p, sb, fm);
		int64_t near = 2 * k, far = 2 * k + 1;
		double lnear = l1, lfar = l2;
		if (l2 < l1) {
			near = 2 * k + 1, far = 2 * k;
			lnear = l2, lfar = l1;
		}
		if (lfar != INFINITY && !(lfar > bd || (lfar == bd && bv->minidx[far] > best))) {
			ks[top] = far;
			lbs[top++] = lfar;
		}
		if (lnear != INFINITY && !(lnear > bd || (lnear == bd && bv->minidx[near] > best))) {
			ks[top] = near;
			lbs[top++] = lnear;
		}
	}
	return best;
}

/* Every node from the leaves' membership (order): which leaf holds each
 * server, the classes and smallest index present, and the boxes. */
static void bvh_nodes(struct ctx *c)
{
	struct bvh *bv = c->bv;
	for (int64_t k = bv->P2; k < 2 * bv->P2; k++) {
		int64_t a = (k - bv->P2) * LEAF, e = a + LEAF < c->S ? a + LEAF : c->S;
		bv->minidx[k] = INT64_MAX;
		bv->emask[k] = 0;
		for (int64_t t = a; t < e; t++) {
			int64_t i = bv->order[t];
			bv->leaf_of[i] = k;
			bv->emask[k] |= bv->sbit[i];
			if (i < bv->minidx[k])
				bv->minidx[k] = i;
		}
		bvh_leaf(c, k);
	}
	for (int64_t k = bv->P2 - 1; k >= 1; k--) {
		bv->emask[k] = bv->emask[2 * k] | bv->emask[2 * k + 1];
		bv->minidx[k] = bv->minidx[2 * k] < bv->minidx[2 * k + 1] ? bv->minidx[2 * k] : bv->minidx[2 * k + 1];
		bvh_join(c, k);
	}
}

static const double *sort_key_q;
static int64_t sort_key_stride;

static int by_shape(const void *a, const void *b)
{
	int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
	const double *x = sort_key_q + i * sort_key_stride, *y = sort_key_q + j * sort_key_stride;
	for (int64_t r = 0; r < sort_key_stride; r++) {
		/* NaN (no pivot amount) last */
		int nx = isnan(x[r]), ny = isnan(y[r]);
		if (nx != ny)
			return nx - ny;
		if (x[r] < y[r])
			return -1;
		if (x[r] > y[r])
			return 1;
	}
	return (i > j) - (i < j);
}

static int bvh_build(struct ctx *c)
{
	struct bvh *bv = calloc(1, sizeof *bv);
	int64_t S = c->S, R = c->R, F = c->F, nleaf = (S + LEAF - 1) / LEAF, p0 = 0;
	if (!bv)
		return -1;
	c->bv = bv;
	for (bv->P2 = 1; bv->P2 < nleaf; bv->P2 *= 2)
		;
	int64_t nodes = 2 * bv->P2;
	bv->order = malloc(S * sizeof *bv->order);
	bv->leaf_of = malloc(S * sizeof *bv->leaf_of);
	bv->lo = malloc(nodes * R * R * sizeof *bv->lo);
	bv->hi = malloc(nodes * R * R * sizeof *bv->hi);
	bv->maxfree = malloc(nodes * R * sizeof *bv->maxfree);
	bv->emask = calloc(nodes, sizeof *bv->emask);
	bv->minidx = malloc(nodes * sizeof *bv->minidx);
	bv->fmask = calloc(F, sizeof *bv->fmask);
	bv->sbit = malloc(S * sizeof *bv->sbit);
	uint64_t *h = calloc(S, sizeof *h);
	int64_t hcap = 1;
	while (hcap < 2 * S)
		hcap *= 2;
	int64_t *slot = malloc(hcap * sizeof *slot);
	if (!bv->order || !bv->leaf_of || !bv->lo || !bv->hi || !bv->maxfree || !bv->emask || !bv->minidx ||
	    !bv->fmask || !bv->sbit || !h || !slot) {
		free(h);
		free(slot);
		return -1;
	}
	/* Eligibility classes: servers with the same eligibility column share a
	 * bit (first 64 columns seen; later ones reuse bits, which only makes
	 * the test weaker).  A framework's mask has the bit of every server it
	 * may use, so a node without any of them holds no eligible server. */
	for (int64_t n = 0; n < F; n++) {
		const unsigned char *el = c->p->elig + n * S;
		for (int64_t i = 0; i < S; i++)
			h[i] = h[i] * 0x100000001b3ULL + el[i] + 1;
	}
	for (int64_t k = 0; k < hcap; k++)
		slot[k] = -1;
	int64_t classes = 0;
	for (int64_t i = 0; i < S; i++) {
		int64_t k = (int64_t)((h[i] * 0x9e3779b97f4a7c15ULL) >> 1) & (hcap - 1);
		while (slot[k] >= 0 && h[slot[k]] != h[i])
			k = (k + 1) & (hcap - 1);
		if (slot[k] < 0) {
			slot[k] = i;
			bv->sbit[i] = 1ULL << (classes++ % 64);
		} else {
			bv->sbit[i] = bv->sbit[slot[k]];
		}
	}
	free(h);
	free(slot);
	for (int64_t n = 0; n < F; n++) {
		const unsigned char *el = c->p->elig + n * S;
		uint64_t m = 0;
		for (int64_t i = 0; i < S; i++)
			if (el[i])
				m |= bv->sbit[i];
		bv->fmask[n] = m;
	}
	/* Leaves in the order of the initial shapes of the first pivot used. */
	while (!c->pivot_used[p0])
		p0++;
	for (int64_t i = 0; i < S; i++)
		bv->order[i] = (int32_t)i;
	double *key = malloc(S * R * sizeof *key);
	if (!key)
		return -1;
	for (int64_t i = 0; i < S; i++)
		memcpy(key + i * R, c->q + (i * R + p0) * R, R * sizeof *key);
	sort_key_q = key;
	sort_key_stride = R;
	qsort(bv->order, S, sizeof *bv->order, by_shape);
	free(key);
	bvh_nodes(c);
	return 0;
}

static double *kd_key; /* scratch: a sort key per server */

/* Quickselect: order[a..e) rearranged so that order[m] holds the element of
 * rank m - a by kd_key, smaller ones before it and larger ones after. */
static void kd_select(int32_t *order, int64_t a, int64_t e, int64_t m)
{
	while (e - a > 1) {
		double pv = kd_key[order[a + (e - a) / 2]];
		int64_t i = a, j = e - 1;
		while (i <= j) {
			while (kd_key[order[i]] < pv)
				i++;
			while (kd_key[order[j]] > pv)
				j--;
			if (i <= j) {
				int32_t t = order[i];
				order[i++] = order[j];
				order[j--] = t;
			}
		}
		if (m <= j)
			e = j + 1;
		else if (m >= i)
			a = i;
		else
			return;
	}
}

/* Split node k's servers at its middle leaf along the shape ratio with the
 * widest spread (of the first pivot used), recursively: nearby shapes share
 * leaves, so the boxes stay tight as servers drift apart while they fill. */
static void kd_split(struct ctx *c, int64_t k, int64_t l0, int64_t l1, int64_t p0)
{
	struct bvh *bv = c->bv;
	int64_t R = c->R, a = l0 * LEAF, e = l1 * LEAF < c->S ? l1 * LEAF : c->S;
	if (l1 - l0 < 2 || e - a < 2)
		return;
	int64_t dim = -1;
	double spread = 0.0;
	for (int64_t r = 0; r < R; r++) {
		double lo = INFINITY, hi = -INFINITY;
		for (int64_t t = a; t < e; t++) {
			double v = c->q[(bv->order[t] * R + p0) * R + r];
			if (v < lo)
				lo = v;
			if (v > hi)
				hi = v;
		}
		if (hi - lo > spread) {
			spread = hi - lo;
			dim = r;
		}
	}
	int64_t lm = (l0 + l1) / 2, m = lm * LEAF;
	if (dim >= 0 && m < e) {
		for (int64_t t = a; t < e; t++) {
			int64_t i = bv->order[t];
			double v = c->q[(i * R + p0) * R + dim];
			kd_key[i] = isnan(v) ? INFINITY : v;
		}
		kd_select(bv->order, a, e, m);
	}
	kd_split(c, 2 * k, l0, lm, p0);
	kd_split(c, 2 * k + 1, lm, l1, p0);
}

/* Re-sort the servers into the leaves by their current shapes and rebuild
 * every node (membership is free to change: a node only bounds its own). */
static int bvh_reorder(struct ctx *c)
{
	struct bvh *bv = c->bv;
	int64_t S = c->S, p0 = 0;
	while (!c->pivot_used[p0])
		p0++;
	kd_key = malloc(S * sizeof *kd_key);
	if (!kd_key)
		return -1;
	kd_split(c, 1, 0, bv->P2, p0);
	free(kd_key);
	kd_key = NULL;
	bvh_nodes(c);
	return 0;
}

/* Best fit's ratios stay finite (and their distances too) when every
 * framework's pivot demand is not too small against the pivot's total:
 * a server where the task fits has free[p] / total[p] >= about d[p] / total[p],
 * so its ratios are at most about total[p] / d[p]. */
static int bestfit_bounded(const struct fs_problem *p, const double *total, const double *shape_b,
			   const int64_t *pivot)
{
	int64_t R = p->n_resources;
	for (int64_t r = 0; r < R; r++)
		if (!(total[r] > 0.0) || !isfinite(total[r]))
			return 0;
	for (int64_t n = 0; n < p->n_frameworks; n++) {
		int64_t pv = pivot[n];
		if (pv < 0 || pv >= R || !(total[pv] / p->demand[n * R + pv] <= 1e300))
			return 0;
		for (int64_t r = 0; r < R; r++)
			if (!(fabs(shape_b[n * R + r]) <= 1e300))
				return 0;
	}
	return 1;
}

static int grow_log(struct ctx *c)
{
	int64_t cap = c->caplog ? 2 * c->caplog : 4096;
	int64_t *nl = realloc(c->log, cap * sizeof *nl);
	if (!nl)
		return -1;
	c->log = nl;
	c->caplog = cap;
	return 0;
}

/* FillState.place: free is clamped at 0 so "exactly full" never goes negative. */
static int place(struct ctx *c, int64_t n, int64_t i, int64_t count)
{
	double *f = c->s->free + i * c->R;
	const double *d = c->p->demand + n * c->R;
	c->s->x_server[n * c->S + i] += count;
	c->s->x[n] += count;
	for (int64_t r = 0; r < c->R; r++) {
		f[r] -= (double)count * d[r];
		if (f[r] < 0.0)
			f[r] = 0.0;
	}
	c->s->changed[i] = 1;
	c->nplace++;
	if (c->bv) {
		q_refresh(c, i);
		bvh_update(c, i);
	}
	if (c->rows) {
		if (c->nlog == c->caplog && grow_log(c))
			return -1;
		c->last[i] = c->nlog;
		c->log[c->nlog++] = i;
	}
	return 0;
}

static void sync_entry(struct ctx *c, int64_t n, int64_t i)
{
	int64_t at = n * c->S + i;
	if (!c->alive[at])
		return; /* free only shrinks during a fill: no room stays no room (distance inf) */
	int64_t v = room_alive(c, n, i);
	if (v == 0)
		c->alive[at] = 0;
	c->rows[at] = v; /* <= old: a leaf of the block max tree stays an upper bound */
}

/* Bring rows[n] up to date with the placements since n looked:
 * each server changed since then once (at its last log entry).  From a
 * sixteenth of the servers on, one sequential sweep over the row beats
 * jumping around it in log order (the hardware prefetcher follows it). */
static int64_t *row(struct ctx *c, int64_t n)
{
	int64_t t = c->synced[n], end = c->nlog;
	if (t < end) {
		if (end - t > c->S / 16) {
			for (int64_t i = 0; i < c->S; i++)
				if (c->last[i] >= t)
					sync_entry(c, n, i);
		} else {
			for (int64_t k = t; k < end; k++)
				if (c->last[c->log[k]] == k)
					sync_entry(c, n, c->log[k]);
		}
		c->synced[n] = end;
	}
	return c->rows + n * c->S;
}

static int64_t block_max(const int64_t *v, int64_t lo, int64_t hi)
{
	int64_t m = INT64_MIN;
	for (int64_t i = lo; i < hi; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

/* Framework n's block max tree, built from its cached row on first use. */
static int64_t *tree_of(struct ctx *c, int64_t n)
{
	int64_t P = c->P, *t = c->tree + n * 2 * P;
	if (!c->tree_ok[n]) {
		const int64_t *v = c->rows + n * c->S;
		for (int64_t b = 0; b < P; b++)
			t[P + b] = b < c->nblocks ? block_max(v, b * BLOCK, b * BLOCK + BLOCK < c->S ? b * BLOCK + BLOCK : c->S)
						  : INT64_MIN;
		for (int64_t k = P - 1; k >= 1; k--)
			t[k] = t[2 * k] >= t[2 * k + 1] ? t[2 * k] : t[2 * k + 1];
		c->tree_ok[n] = 1;
	}
	return t;
}

static void tree_set(int64_t *t, int64_t P, int64_t b, int64_t val)
{
	int64_t k = P + b;
	t[k] = val;
	for (k >>= 1; k >= 1; k >>= 1) {
		int64_t m = t[2 * k] >= t[2 * k + 1] ? t[2 * k] : t[2 * k + 1];
		if (t[k] == m)
			break; /* the ancestors already hold the right maximum */
		t[k] = m;
	}
}

/* numpy's argmax (the first maximum) of framework n's TRUE room row, entry
 * `skip` read as -1 (none if skip < 0), without syncing the whole row.
 *
 * Invariants: a cached room is never below the true one (free only shrinks
 * during a fill and the room is monotone in free), and it is exact for every
 * server not logged since synced[n]; a leaf of the tree is never below its
 * block's cached rooms.  The descent finds the first block b whose bound m is
 * the largest, and the walk visits b's entries equal to m in index order.
 * An exact one (unlogged, or recomputed and unchanged) is the answer: every
 * block before b has a bound below m, and so true rooms below m; the entries
 * of b before it are below m; every other true room is at most m.  A
 * recomputed entry that dropped is passed (it stays below m for good), and
 * a block without an entry at m gets its true cached maximum as its new
 * bound and the descent starts over.
 *
 * With hundreds of frameworks at near-equal shares taking turns, the
 * servers with the most room for n are the ones the others took from since
 * n last looked: the walk passes those (one recomputation each) instead of
 * recomputing every server changed since n looked (one per other framework,
 * scattered over an 80 KB row), which is what the full sync in row() does. */
static int64_t lazy_argmax(struct ctx *c, int64_t n, int64_t skip)
{
	int64_t P = c->P, *t = tree_of(c, n), *v = c->rows + n * c->S, saved = 0, i;
	if (skip >= 0) {
		saved = v[skip];
		v[skip] = -1;
	}
	for (;;) {
		int64_t k = 1;
		while (k < P)
			k = t[2 * k] >= t[2 * k + 1] ? 2 * k : 2 * k + 1;
		int64_t lo = (k - P) * BLOCK, hi = lo + BLOCK < c->S ? lo + BLOCK : c->S, m = t[k];
		/* Walk the block's entries at the bound in index order: the ones
		 * before i are below it, and a recomputed entry only drops. */
		for (i = lo;; i++) {
			while (i < hi && v[i] != m)
				i++;
			if (i == hi || m <= 0 || c->last[i] < c->synced[n])
				break;
			sync_entry(c, n, i);
			if (v[i] == m)
				break;
		}
		if (i < hi)
			break;
		tree_set(t, P, k - P, block_max(v, lo, hi));
	}
	if (skip >= 0) {
		v[skip] = saved;
		if (saved > t[P + skip / BLOCK])
			tree_set(t, P, skip / BLOCK, saved);
	}
	return i;
}

static int64_t argmax_i64(const int64_t *v, int64_t len)
{
	int64_t best = 0;
	for (int64_t i = 1; i < len; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

/* numpy argmin: first minimum, and the first NaN if there is one. */
static int64_t argmin_f64(const double *v, int64_t len)
{
	int64_t best = 0;
	if (isnan(v[0]))
		return 0;
	for (int64_t i = 1; i < len; i++) {
		if (isnan(v[i]))
			return i;
		if (v[i] < v[best])
			best = i;
	}
	return best;
}

static wide sum_i64(const int64_t *v, int64_t len)
{
	wide s = 0;
	for (int64_t i = 0; i < len; i++)
		s += v[i];
	return s;
}

/* residual.water_level */
static int64_t water_level(const int64_t *room, int64_t len, wide count)
{
	int64_t lo = 0, hi = room[argmax_i64(room, len)];
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		wide s = 0;
		for (int64_t i = 0; i < len; i++)
			if (room[i] > mid)
				s += room[i] - mid;
		if (s <= count)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* residual.water_fill into placed[] (len long). */
static void water_fill(const int64_t *room, int64_t len, int64_t count, int64_t *placed)
{
	if (sum_i64(room, len) <= count) {
		memcpy(placed, room, len * sizeof *placed);
		return;
	}
	int64_t level = water_level(room, len, count);
	wide got = 0;
	for (int64_t i = 0; i < len; i++) {
		placed[i] = room[i] > level ? room[i] - level : 0;
		got += placed[i];
	}
	wide rest = count - got;
	for (int64_t i = 0; i < len && rest > 0; i++)
		if (room[i] >= level) {
			placed[i] += 1;
			rest--;
		}
}

/* Place the non-zero entries of placed[] in server order; returns the sum. */
static wide place_vector(struct ctx *c, int64_t n, const int64_t *placed, int *err)
{
	wide got = 0;
	for (int64_t i = 0; i < c->S; i++)
		if (placed[i] > 0) {
			if (place(c, n, i, placed[i]))
				*err = -1;
			got += placed[i];
		}
	return got;
}

/* ---------- best fit, batched (BestFit.place) ---------- */

static int still_best(double di, int64_t i, int64_t j, double dj)
{
	return (di < dj - 1e-12) || (fabs(di - dj) <= 1e-12 && i < j);
}

static double distance_after(const struct ctx *c, int64_t n, const double *fi, int64_t k)
{
	double tmp[FS_MAX_RESOURCES];
	const double *d = c->p->demand + n * c->R;
	for (int64_t r = 0; r < c->R; r++)
		tmp[r] = fi[r] - (double)k * d[r];
	return distance(c, n, tmp);
}

/* Tasks placed on i before runner-up j (distance dj) becomes better. */
static int64_t stay(const struct ctx *c, int64_t n, int64_t i, int64_t j, double dj, const double *fi, int64_t limit)
{
	if (limit <= VECTOR_MAX) {
		for (int64_t k = 1; k < limit; k++)
			if (!still_best(distance_after(c, n, fi, k), i, j, dj))
				return k;
		return limit;
	}
	int64_t lo = 1, hi = limit;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if (still_best(distance_after(c, n, fi, mid), i, j, dj))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Fills c->s_placed; the local free copies of the servers it touches live
 * in s_free (s_over marks them) and are forgotten afterwards. */
static void bestfit_place(struct ctx *c, int64_t n, int64_t count, const int64_t *fit)
{
	int64_t S = c->S, R = c->R;
	int64_t *room = c->s_room, *placed = c->s_placed;
	double *dist = c->s_dist;
	const double *d = c->p->demand + n * R;
	memcpy(room, fit, S * sizeof *room);
	memset(placed, 0, S * sizeof *placed);
	for (int64_t i = 0; i < S; i++)
		dist[i] = room[i] > 0 ? distance_q(c, n, i) : INFINITY;
	c->n_touched = 0;
	while (count > 0) {
		int any = 0;
		for (int64_t i = 0; i < S && !any; i++)
			any = isfinite(dist[i]);
		if (!any)
			break;
		int64_t i = argmin_f64(dist, S);
		double keep = dist[i];
		dist[i] = INFINITY;
		int64_t j = argmin_f64(dist, S);
		double dj = dist[j];
		dist[i] = keep;
		if (!c->s_over[i]) {
			c->s_over[i] = 1;
			c->s_touched[c->n_touched++] = i;
			memcpy(c->s_free + i * R, c->s->free + i * R, R * sizeof(double));
		}
		double *fi = c->s_free + i * R;
		int64_t limit = count < room[i] ? count : room[i];
		int64_t k = isfinite(dj) ? stay(c, n, i, j, dj, fi, limit) : limit;
		placed[i] += k;
		room[i] -= k;
		count -= k;
		for (int64_t r = 0; r < R; r++)
			fi[r] = fi[r] - (double)k * d[r];
		dist[i] = room[i] > 0 ? distance(c, n, fi) : INFINITY;
	}
	for (int64_t t = 0; t < c->n_touched; t++)
		c->s_over[c->s_touched[t]] = 0;
}

/* ---------- randomised round robin (RandomRoundRobin) ---------- */

/* The framework's order, drawn by the caller the first time it is needed:
 * RandomRoundRobin._order is called at the same points of the fill (every
 * single pick, and a batch once its count is positive), so the caller's
 * random stream gives every framework the same order as in Python. */
static int rrr_order(struct ctx *c, int64_t n, const int64_t **o, int64_t *len)
{
	if (c->ordlen[n] < 0) {
		const int64_t *got = NULL;
		int64_t l = 0;
		if (c->rr->order_of(c->rr->handle, n, &got, &l) || l < 0 || (l > 0 && !got))
			return -1;
		c->ord[n] = got;
		c->ordlen[n] = l;
	}
	*o = c->ord[n];
	*len = c->ordlen[n];
	return 0;
}

/* The place k steps after `at` (0 <= k < size) in an order of `size` servers, cyclically. */
static inline int64_t cyclic(int64_t at, int64_t k, int64_t size)
{
	return at + k < size ? at + k : at + k - size;
}

/* RandomRoundRobin.pick_one_state: the first server with room for one task
 * (min ratio + 1e-9 >= 1, the room row's test) from the cursor on,
 * cyclically, and the cursor moves past it; -1 (cursor kept) if none.
 * -2 if the order could not be had. */
static int64_t rrr_pick(struct ctx *c, int64_t n)
{
	int64_t size;
	const int64_t *o;
	if (rrr_order(c, n, &o, &size))
		return -2;
	if (size == 0)
		return -1;
	int64_t *cur = c->rr->cursor + n, at = *cur;
	for (int64_t k = 0; k < size; k++) {
		int64_t pos = cyclic(at, k, size), i = o[pos];
		if (min_ratio(c, n, i) + 1e-9 >= 1.0) {
			*cur = pos + 1 < size ? pos + 1 : 0;
			return i;
		}
	}
	return -1;
}

/* RandomRoundRobin.place into c->s_placed: `count` tasks (count <= the sum
 * of fit) as whole rounds over n's order from the cursor, one task per
 * server with room per round, then a partial round; the cursor moves past
 * the last server of the partial round (or of the last round).  All of n's
 * room taken: the cursor stays.  Returns -1 if the order could not be had. */
static int rrr_place(struct ctx *c, int64_t n, int64_t count, const int64_t *fit)
{
	int64_t size;
	const int64_t *o;
	if (rrr_order(c, n, &o, &size))
		return -1;
	int64_t *room = c->s_room, *placed = c->s_placed, *cur = c->rr->cursor + n, at = *cur, hi = 0;
	wide total = 0;
	memset(placed, 0, c->S * sizeof *placed);
	for (int64_t k = 0; k < size; k++) {
		int64_t pos = cyclic(at, k, size);
		room[k] = fit[o[pos]];
		total += room[k];
		if (room[k] > hi)
			hi = room[k];
	}
	if (total <= count) {
		for (int64_t k = 0; k < size; k++)
			placed[o[cyclic(at, k, size)]] = room[k];
		return 0;
	}
	/* largest number of full rounds r with sum(min(room, r)) <= count */
	int64_t lo = 0;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo + 1) / 2;
		wide s = 0;
		for (int64_t k = 0; k < size; k++)
			s += room[k] < mid ? room[k] : mid;
		if (s <= count)
			lo = mid;
		else
			hi = mid - 1;
	}
	wide left = count;
	for (int64_t k = 0; k < size; k++)
		left -= room[k] < lo ? room[k] : lo;
	int partial = left > 0;
	int64_t last = -1;
	for (int64_t k = 0; k < size; k++) {
		int64_t give = room[k] < lo ? room[k] : lo;
		if (left > 0 && room[k] > lo) {
			give++;
			left--;
			last = k; /* the partial round's last server */
		} else if (!partial && give > 0) {
			last = k; /* no partial round: the last server given any */
		}
		placed[o[cyclic(at, k, size)]] = give;
	}
	*cur = (at + last + 1) % size;
	return 0;
}

/* ---------- uniformly random fitting server (RandomFit) ---------- */

/* Python's random.Random: MT19937 (Matsumoto and Nishimura, 1998), one
 * 32-bit output per call; the state is refilled in place, 624 words at a
 * time, when the position reaches the end. */
#define MT_N 624
#define MT_M 397

static uint32_t mt_next(uint32_t *mt)
{
	if (mt[MT_N] >= MT_N) {
		for (int k = 0; k < MT_N; k++) {
			uint32_t y = (mt[k] & 0x80000000u) | (mt[(k + 1) % MT_N] & 0x7fffffffu);
			mt[k] = mt[(k + MT_M) % MT_N] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
		}
		mt[MT_N] = 0;
	}
	uint32_t y = mt[mt[MT_N]++];
	y ^= y >> 11;
	y ^= (y << 7) & 0x9d2c5680u;
	y ^= (y << 15) & 0xefc60000u;
	y ^= y >> 18;
	return y;
}

/* Random._randbelow(n): getrandbits(k) with k = n.bit_length() (the top k
 * bits of one output, k <= 32), drawn again while >= n. */
uint32_t fs_mt_below(uint32_t *mt, uint32_t n)
{
	int k = 32 - __builtin_clz(n);
	uint32_t r;
	do
		r = mt_next(mt) >> (32 - k);
	while (r >= n);
	return r;
}

/* FillState.fits_one: every resource n needs has at least demand - 1e-9 free. */
static int fits_one(const struct ctx *c, int64_t n, int64_t i)
{
	const double *f = c->s->free + i * c->R, *d = c->p->demand + n * c->R;
	if (!c->p->elig[n * c->S + i])
		return 0;
	for (int64_t r = 0; r < c->R; r++)
		if (d[r] > 0.0 && f[r] < d[r] - 1e-9)
			return 0;
	return 1;
}

/* RandomFit._fitting: n's servers with room for a task by Problem.fit_row's
 * test, in index order, into list; returns the count.  fit_row > 0 is
 * fit_count > 0 (floor(max(m, 0) + 1e-9) >= 1 exactly when m + 1e-9 >= 1,
 * m the minimum of free / demand over the needed resources). */
static int64_t fitting(const struct ctx *c, int64_t n, int32_t *list)
{
	int64_t len = 0;
	for (int64_t i = 0; i < c->S; i++)
		if (fit_count(c, n, i) > 0)
			list[len++] = (int32_t)i;
	return len;
}

/* RandomFit.pick_one_state: draw a candidate; one that no longer fits is
 * removed for good (free only shrinks during a fill), so accepted draws are
 * uniform over the fitting servers; after 32 misses in a row the list is
 * rebuilt from the current free capacity.  -1 if nothing fits. */
static int64_t random_pick(struct ctx *c, int64_t n)
{
	int32_t *list = c->rnd->cand + n * c->S;
	int64_t size = c->rnd->ncand[n];
	if (size < 0) {
		const unsigned char *el = c->p->elig + n * c->S;
		size = 0;
		for (int64_t i = 0; i < c->S; i++)
			if (el[i])
				list[size++] = (int32_t)i;
	}
	int misses = 0;
	while (size > 0) {
		uint32_t k = fs_mt_below(c->rnd->mt, (uint32_t)size);
		int64_t i = list[k];
		if (fits_one(c, n, i)) {
			c->rnd->ncand[n] = size;
			return i;
		}
		list[k] = list[--size];
		if (++misses >= 32) {
			size = fitting(c, n, list);
			misses = 0;
			if (size >= 32) {
				/* RandomFit._any_fits_one: the rebuild's relative test
				 * admits free amounts fits_one rejects; with 32 or more
				 * such servers and no other the loop never ended. */
				int64_t k2 = 0;
				while (k2 < size && !fits_one(c, n, list[k2]))
					k2++;
				if (k2 == size)
					break;
			}
		}
	}
	c->rnd->ncand[n] = 0;
	return -1;
}

/* ---------- set-up ---------- */

static void ctx_free(struct ctx *c)
{
	free(c->log);
	free(c->last);
	free(c->synced);
	free(c->heap);
	free(c->alive);
	free(c->tree);
	free(c->tree_ok);
	free(c->q);
	if (c->bv) {
		free(c->bv->order);
		free(c->bv->leaf_of);
		free(c->bv->lo);
		free(c->bv->hi);
		free(c->bv->maxfree);
		free(c->bv->emask);
		free(c->bv->minidx);
		free(c->bv->fmask);
		free(c->bv->sbit);
		free(c->bv);
	}
	free(c->s_fit);
	free(c->s_room);
	free(c->s_placed);
	free(c->s_dist);
	free(c->s_free);
	free(c->s_touched);
	free(c->s_over);
	free(c->own_rows);
	free(c->ord);
	free(c->ordlen);
}

/* The room matrix a fill starts from is the caller's cache if it has one.
 * Without one, the Python loop builds it (Problem.fit_counts: division) the
 * first time it needs a row, and until then computes rows afresh
 * (FillState.room_row: multiplication by 1/d), which can differ in the last
 * place: ROOMS_NOW builds it at the start (rPS-DSF reads every row before
 * its first placement), ROOMS_LATER on first use (ensure_rows). */
enum { ROOMS_NONE, ROOMS_NOW, ROOMS_LATER };

static void ensure_rows(struct ctx *c)
{
	if (!c->rows_pending)
		return;
	fit_counts(c, c->rows);
	for (int64_t k = 0; k < c->F * c->S; k++)
		c->alive[k] = c->rows[k] > 0;
	for (int64_t n = 0; n < c->F; n++)
		c->synced[n] = c->nlog; /* every entry reflects free as it is now */
	c->rows_pending = 0;
}

static int ctx_init(struct ctx *c, const struct fs_problem *p, struct fs_state *s, int64_t *rows, int rooms,
		    int scratch)
{
	memset(c, 0, sizeof *c);
	c->p = p;
	c->s = s;
	c->F = p->n_frameworks;
	c->S = p->n_servers;
	c->R = p->n_resources;
	c->heap = malloc((c->F + 1) * sizeof *c->heap);
	if (!c->heap)
		return -1;
	if (rooms != ROOMS_NONE) {
		if (!rows) {
			rows = c->own_rows = malloc(c->F * c->S * sizeof *rows);
			if (!rows)
				return -1;
			c->rows_pending = 1;
		}
		c->rows = rows;
		c->last = malloc(c->S * sizeof *c->last);
		c->synced = calloc(c->F, sizeof *c->synced);
		if (!c->last || !c->synced || grow_log(c))
			return -1;
		for (int64_t i = 0; i < c->S; i++)
			c->last[i] = -1;
		c->alive = malloc(c->F * c->S);
		if (!c->alive)
			return -1;
		if (!c->rows_pending)
			for (int64_t k = 0; k < c->F * c->S; k++)
				c->alive[k] = rows[k] > 0;
		else if (rooms == ROOMS_NOW)
			ensure_rows(c);
		c->nblocks = (c->S + BLOCK - 1) / BLOCK;
		for (c->P = 1; c->P < c->nblocks; c->P *= 2)
			;
		c->tree = malloc(c->F * 2 * c->P * sizeof *c->tree);
		c->tree_ok = calloc(c->F, 1);
		if (!c->tree || !c->tree_ok)
			return -1;
	}
	if (scratch) {
		c->s_room = malloc(c->S * sizeof *c->s_room);
		c->s_placed = malloc(c->S * sizeof *c->s_placed);
		c->s_fit = malloc(c->S * sizeof *c->s_fit);
		c->s_dist = malloc(c->S * sizeof *c->s_dist);
		c->s_free = malloc(c->S * c->R * sizeof *c->s_free);
		c->s_touched = malloc(c->S * sizeof *c->s_touched);
		c->s_over = calloc(c->S, 1);
		if (!c->s_room || !c->s_placed || !c->s_fit || !c->s_dist || !c->s_free || !c->s_touched || !c->s_over)
			return -1;
	}
	return 0;
}

/* ---------- pooled criteria (filling._fill_pooled) ---------- */

int fs_fill_pooled(const struct fs_problem *p, struct fs_state *s, const double *unit, const unsigned char *active,
		   int rule, int64_t *rows, const double *total, const double *shape_b, const int64_t *pivot,
		   const struct fs_rrr *rrr, const struct fs_random *rnd)
{
	struct ctx c;
	int err = 0, bestfit = rule == FS_RULE_BESTFIT, rr = rule == FS_RULE_RRR, rd = rule == FS_RULE_RANDOM;
	if (p->n_resources > FS_MAX_RESOURCES || p->n_servers < 1 || p->n_servers > INT32_MAX ||
	    (rr && (!rrr || !rrr->order_of || !rrr->cursor)) ||
	    (rd && (!rnd || !rnd->mt || !rnd->cand || !rnd->ncand || !rnd->place || rnd->mt[MT_N] > MT_N)))
		return -2;
	if (bestfit && (p->n_resources >= 8 || !bestfit_bounded(p, total, shape_b, pivot)))
		return -3; /* numpy sums 8+ terms pairwise, not left to right; or ratios could overflow */
	/* Round robin and the random rule read rooms from free (single picks)
	 * or a fresh room row (batches) unless the caller keeps a room cache,
	 * as the Python loop does. */
	if (ctx_init(&c, p, s, rows, bestfit || ((rr || rd) && !rows) ? ROOMS_NONE : ROOMS_LATER, 1)) {
		ctx_free(&c);
		return -1;
	}
	c.rnd = rd ? rnd : NULL;
	if (rr) {
		c.rr = rrr;
		c.ord = calloc(c.F, sizeof *c.ord);
		c.ordlen = malloc(c.F * sizeof *c.ordlen);
		if (!c.ord || !c.ordlen) {
			ctx_free(&c);
			return -1;
		}
		for (int64_t n = 0; n < c.F; n++)
			c.ordlen[n] = -1;
	}
	if (bestfit) {
		c.total = total;
		c.shape_b = shape_b;
		c.pivot = pivot;
		c.room0 = rows; /* NULL: room_start computes start values on demand */
		c.q = malloc(c.S * c.R * c.R * sizeof *c.q);
		if (!c.q) {
			ctx_free(&c);
			return -1;
		}
		for (int64_t n = 0; n < c.F; n++)
			c.pivot_used[pivot[n]] = 1;
		for (int64_t i = 0; i < c.S; i++)
			q_refresh(&c, i);
		if (bvh_build(&c)) {
			ctx_free(&c);
			return -1;
		}
	}
	int64_t *x = s->x;
	const int64_t *lim = s->limit;
	for (int64_t n = 0; n < c.F; n++)
		if (active[n])
			heap_push(&c, q12((double)x[n] * unit[n]), n);
	int64_t sorted_at = 0;
	while (c.nheap > 0 && !err) {
		struct entry top = heap_pop(&c);
		int64_t n = top.n, limit = lim[n] - x[n], count;
		if (bestfit && c.nplace - sorted_at >= REORDER) {
			if (bvh_reorder(&c)) {
				err = -1;
				break;
			}
			sorted_at = c.nplace;
		}
		if (c.nheap > 0) {
			count = count_before_crossing(x[n], unit[n], n, c.heap[0].key, c.heap[0].n);
			if (count > limit)
				count = limit;
		} else {
			count = limit;
		}
		if (count <= 0)
			continue;
		if (count == 1) {
			int64_t i;
			if (bestfit) {
				i = bvh_pick(&c, n);
				if (i < 0)
					continue;
			} else if (rr) {
				i = rrr_pick(&c, n);
				if (i == -2) {
					err = -1;
					break;
				}
				if (i < 0)
					continue;
			} else if (rd) {
				i = random_pick(&c, n);
				if (i < 0)
					continue;
			} else {
				ensure_rows(&c);
				i = lazy_argmax(&c, n, -1);
				if (c.rows[n * c.S + i] <= 0)
					continue;
			}
			if (place(&c, n, i, 1))
				err = -1;
		} else {
			int64_t *fit = c.s_fit;
			const unsigned char *el = c.p->elig + n * c.S, *chg = s->changed;
			if (bestfit) {
				/* the cached row: start values, refreshed where placed */
				for (int64_t i = 0; i < c.S; i++)
					fit[i] = chg[i] ? (el[i] ? room_alive(&c, n, i) : 0) : room_start(&c, n, i);
			} else if (c.rows_pending || !c.rows) {
				/* FillState.room_row */
				for (int64_t i = 0; i < c.S; i++) {
					double m = floor(min_ratio(&c, n, i) + 1e-9);
					fit[i] = el[i] ? (int64_t)(m < TASK_LIMIT ? m : TASK_LIMIT) : 0;
				}
			} else {
				fit = row(&c, n);
			}
			wide room = sum_i64(fit, c.S);
			if (room < count)
				count = (int64_t)room;
			if (count <= 0)
				continue;
			if (bestfit) {
				bestfit_place(&c, n, count, fit);
			} else if (rr) {
				if (rrr_place(&c, n, count, fit)) {
					err = -1;
					break;
				}
			} else if (rd) {
				/* RandomFit.place, in Python (rare: single tasks are the rule) */
				if (rnd->place(rnd->handle, n, count, fit, c.s_placed)) {
					err = -1;
					break;
				}
			} else {
				water_fill(fit, c.S, count, c.s_placed);
			}
			wide got = place_vector(&c, n, c.s_placed, &err);
			if (got < count)
				continue;
		}
		if (x[n] < lim[n])
			heap_push(&c, q12((double)x[n] * unit[n]), n);
	}
	ctx_free(&c);
	return err;
}

/* ---------- server-specific criteria (filling._fill_server_specific) ---------- */

struct key {
	double key;
	int64_t i, j, g2, gi;
};

/* PS-DSF's per-framework server order: gamma descending, index ascending
 * (numpy's stable argsort of -gamma), by a stable LSD radix sort on
 * (max - gamma): a comparison sort of 10,000 servers per framework would
 * cost more than the whole fill. */
static int32_t *sorted_servers(const int64_t *g, int64_t S, int64_t *len_out)
{
	int64_t len = 0, gmax = 0;
	for (int64_t i = 0; i < S; i++)
		if (g[i] > 0) {
			len++;
			if (g[i] > gmax)
				gmax = g[i];
		}
	int32_t *a = malloc((len + 1) * sizeof *a), *b = malloc((len + 1) * sizeof *b);
	if (!a || !b) {
		free(a);
		free(b);
		return NULL;
	}
	len = 0;
	for (int64_t i = 0; i < S; i++)
		if (g[i] > 0)
			a[len++] = (int32_t)i;
	for (int shift = 0; shift < 64 && (gmax >> shift) > 0; shift += 11) {
		int64_t cnt[2049] = {0};
		for (int64_t k = 0; k < len; k++)
			cnt[(((uint64_t)(gmax - g[a[k]])) >> shift & 2047) + 1]++;
		for (int d = 0; d < 2048; d++)
			cnt[d + 1] += cnt[d];
		for (int64_t k = 0; k < len; k++)
			b[cnt[((uint64_t)(gmax - g[a[k]])) >> shift & 2047]++] = a[k];
		int32_t *t = a;
		a = b;
		b = t;
	}
	free(b);
	*len_out = len;
	return a;
}

struct ss {
	struct ctx c;
	int residual;
	const int64_t *gamma_full;
	int32_t **order;
	int64_t *order_len, *cursor;
	double *dtol; /* demand - 1e-9 */
};

static int fits_tol(const struct ss *z, int64_t n, int64_t i)
{
	const double *f = z->c.s->free + i * z->c.R, *dn = z->dtol + n * z->c.R;
	for (int64_t r = 0; r < z->c.R; r++)
		if (!(f[r] >= dn[r]))
			return 0;
	return 1;
}

/* key_of: 1 with *k filled, 0 if n fits nowhere, -1 out of memory. */
static int key_of(struct ss *z, int64_t n, struct key *k)
{
	struct ctx *c = &z->c;
	double xn1 = (double)(c->s->x[n] + 1), w = c->p->weight[n];
	if (z->residual) {
		int64_t *room = c->rows + n * c->S;
		int64_t i = lazy_argmax(c, n, -1), gi = room[i];
		if (gi <= 0)
			return 0;
		int64_t j = lazy_argmax(c, n, i), g2 = j == i ? -1 : room[j];
		*k = (struct key){xn1 / (w * (double)gi), i, j, g2, gi};
		return 1;
	}
	if (!z->order[n]) {
		z->order[n] = sorted_servers(z->gamma_full + n * c->S, c->S, &z->order_len[n]);
		if (!z->order[n])
			return -1;
		z->cursor[n] = 0;
	}
	const int32_t *srv = z->order[n];
	int64_t kk = z->cursor[n], len = z->order_len[n];
	while (kk < len && !fits_tol(z, n, srv[kk]))
		kk++;
	z->cursor[n] = kk;
	if (kk == len)
		return 0;
	int64_t i = srv[kk], g = z->gamma_full[n * c->S + i];
	*k = (struct key){xn1 / (w * (double)g), i, -1, -1, g};
	return 1;
}

/* filling._residual_count */
static int64_t residual_count(int64_t xn, double wn, int64_t n, const struct key *k, int64_t limit,
			      const struct entry *ru)
{
	int64_t upper = limit < k->gi ? limit : k->gi;
	if (k->j >= 0 && k->g2 > 0) {
		int64_t u2 = k->gi - k->g2 + (k->i < k->j ? 1 : 0);
		if (u2 < upper)
			upper = u2;
	}
	if (!ru || upper <= 1)
		return upper > 1 ? upper : 1;
	int64_t lo = 1, hi = upper;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if (key_below((double)(xn + mid + 1) / (wn * (double)(k->gi - mid)), n, ru))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 1 ? lo : 1;
}

/* filling._residual_spread into placed[]. */
static void residual_spread(struct ctx *c, const int64_t *room, int64_t xn, double wn, int64_t n, int64_t left,
			    const struct entry *ru, int64_t *placed)
{
	wide total = sum_i64(room, c->S);
	int64_t lo = 0, hi = (wide)left < total ? left : (int64_t)total;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		int64_t level = water_level(room, c->S, mid);
		if (level > 0 && key_below((double)(xn + mid + 1) / (wn * (double)level), n, ru))
			lo = mid + 1;
		else
			hi = mid;
	}
	water_fill(room, c->S, lo, placed);
}

static int push_key_of(struct ss *z, int64_t n)
{
	struct key k;
	int r = key_of(z, n, &k);
	if (r > 0)
		heap_push(&z->c, q12(k.key), n);
	return r < 0 ? -1 : 0;
}

int fs_fill_server_specific(const struct fs_problem *p, struct fs_state *s, const unsigned char *active,
			    int residual, int64_t *rows, const int64_t *gamma_full)
{
	struct ss z;
	int err = 0;
	if (p->n_resources > FS_MAX_RESOURCES || p->n_servers < 1 || (!residual && !gamma_full))
		return -2;
	memset(&z, 0, sizeof z);
	struct ctx *c = &z.c;
	if (ctx_init(c, p, s, rows, residual ? ROOMS_NOW : ROOMS_NONE, residual))
		goto oom;
	z.residual = residual;
	z.gamma_full = gamma_full;
	z.order = calloc(c->F, sizeof *z.order);
	z.order_len = calloc(c->F, sizeof *z.order_len);
	z.cursor = calloc(c->F, sizeof *z.cursor);
	z.dtol = malloc(c->F * c->R * sizeof *z.dtol);
	if (!z.order || !z.order_len || !z.cursor || !z.dtol)
		goto oom;
	for (int64_t k = 0; k < c->F * c->R; k++)
		z.dtol[k] = p->demand[k] - 1e-9;
	int64_t *x = s->x;
	const int64_t *lim = s->limit;
	const double *w = p->weight;
	for (int64_t n = 0; n < c->F && !err; n++)
		if (active[n])
			err = push_key_of(&z, n);
	while (c->nheap > 0 && !err) {
		struct entry top = heap_pop(c);
		int64_t n = top.n;
		struct key k;
		int r = key_of(&z, n, &k);
		if (r < 0)
			goto oom;
		if (r == 0)
			continue;
		double qk = q12(k.key);
		if (qk > top.key) {
			heap_push(c, qk, n);
			continue;
		}
		const struct entry *ru = c->nheap > 0 ? &c->heap[0] : NULL;
		int64_t i = k.i, count;
		int64_t limit = residual ? k.gi : room_one(c, n, i);
		if (limit <= 0) {
			/* _fill_server_specific: the cursor's tolerance test passed a
			 * server with room for no whole task; placing 0 would re-queue n
			 * first in line forever.  Free only shrinks: pass it for good. */
			z.cursor[n]++;
			err = push_key_of(&z, n);
			continue;
		}
		if (lim[n] - x[n] < limit)
			limit = lim[n] - x[n];
		if (!residual) {
			count = limit;
			if (ru) {
				int64_t b = count_before_crossing(x[n] + 1, 1.0 / (w[n] * (double)k.gi), n, ru->key, ru->n);
				if (b < 1)
					b = 1;
				if (b < count)
					count = b;
			}
		} else {
			count = residual_count(x[n], w[n], n, &k, limit, ru);
			int64_t left = lim[n] - x[n];
			int64_t best = k.gi - count > k.g2 ? k.gi - count : k.g2;
			if (count < left && best > 0 &&
			    key_below((double)(x[n] + count + SPREAD_MIN) / (w[n] * (double)best), n, ru)) {
				residual_spread(c, row(c, n), x[n], w[n], n, left, ru, c->s_placed);
				if (sum_i64(c->s_placed, c->S) > count) {
					place_vector(c, n, c->s_placed, &err);
					if (x[n] < lim[n] && !err)
						err = push_key_of(&z, n);
					continue;
				}
			}
		}
		if (place(c, n, i, count))
			err = -1;
		if (x[n] < lim[n] && !err) {
			int64_t best = residual ? (k.gi - count > k.g2 ? k.gi - count : k.g2) : k.gi;
			if (best > 0)
				heap_push(c, q12((double)(x[n] + 1) / (w[n] * (double)best)), n);
			else
				err = push_key_of(&z, n);
		}
	}
	goto out;
oom:
	err = -1;
out:
	if (z.order)
		for (int64_t n = 0; n < c->F; n++)
			free(z.order[n]);
	free(z.order);
	free(z.order_len);
	free(z.cursor);
	free(z.dtol);
	ctx_free(c);
	return err;
}

/* ---------- room matrix ---------- */

#define FIT_TILE 256 /* servers per tile: their eligibility bytes and output rows stay in cache */

/* Problem.fit_counts(free) transposed, in the layout the offer cycle reads:
 * cols[i * F + n] = tasks of n that fit in free[i] (tasks_fitting), 0 where n is
 * not eligible on i; without numpy's float temporaries and a transposing
 * copy. */
void fs_fit_counts_by_server(const struct fs_problem *p, const double *free, int64_t *cols)
{
	const int64_t F = p->n_frameworks, S = p->n_servers, R = p->n_resources;
	for (int64_t i0 = 0; i0 < S; i0 += FIT_TILE) {
		int64_t i1 = i0 + FIT_TILE < S ? i0 + FIT_TILE : S;
		for (int64_t n = 0; n < F; n++) {
			const double *d = p->demand + n * R;
			const unsigned char *elig = p->elig + n * S;
			for (int64_t i = i0; i < i1; i++)
				cols[i * F + n] = elig[i] ? tasks_fitting(free + i * R, d, R) : 0;
		}
	}
}

/* ---------- exact references: placing the floored targets ---------- */

/* exact._place_floors step for step: for each fraction, each framework in
 * `order` and each class c it has a target in (ascending, eligible only),
 * want = floor(target * frac + 1e-9) - placed, taken greedily from the
 * class's servers in order, as many as fit on one before the next.  Servers
 * are in class order (free is S x R in that order, class c is rows
 * start[c] .. start[c + 1]); by_class maps a row to the server's index in
 * X (F x S).  The room is tasks_fitting's, and free
 * drops by take * demand per resource as numpy's block update does; the
 * walk stops once the want is met (numpy's later takes are 0).  free only
 * drops, so a server without room for n never has room for it again:
 * cursor[n * C + c] (starting at start[c]) skips the leading ones. */
void fs_place_floors(const struct fs_problem *p, double *free, const int64_t *start, int64_t n_classes,
		     const int64_t *by_class, const int64_t *order, const int64_t *targets,
		     const unsigned char *class_elig, int64_t *placed, int64_t *X, int64_t *cursor)
{
	static const double fracs[] = {0.5, 0.8, 0.9, 1.0};
	const int64_t F = p->n_frameworks, S = p->n_servers, R = p->n_resources;
	for (int k = 0; k < 4; k++) {
		for (int64_t o = 0; o < F; o++) {
			int64_t n = order[o];
			const double *d = p->demand + n * R;
			for (int64_t c = 0; c < n_classes; c++) {
				int64_t at = n * n_classes + c;
				if (!targets[at] || !class_elig[at])
					continue;
				int64_t want = (int64_t)floor((double)targets[at] * fracs[k] + 1e-9) - placed[at];
				for (int64_t j = cursor[at]; j < start[c + 1] && want > 0; j++) {
					double *f = free + j * R;
					int64_t fit = tasks_fitting(f, d, R);
					int64_t take = fit < want ? fit : want;
					if (take <= 0) {
						if (j == cursor[at])
							cursor[at] = j + 1; /* no room for n: never again */
						continue;
					}
					for (int64_t r = 0; r < R; r++)
						f[r] -= (double)take * d[r];
					X[n * S + by_class[j]] += take;
					placed[at] += take;
					want -= take;
				}
			}
		}
	}
}

/* ---------- offer cycle (online.offer_cycle), one round ---------- */

/*
 * A visit offers server i to the open framework with the lowest share among
 * those with room there (ties within 1e-12 relative: the lowest index).
 * Scanning all F frameworks per visit made the late rounds, where most
 * servers are full, as dear as the first ones.  Instead each server keeps a
 * candidate list: frameworks that had room on it and were open when it was
 * last visited, in index order (l->cand[i * F ..], l->ncand[i] entries;
 * ncand[i] < 0 until the first visit builds it).
 *
 * Invariant: within one cycle a room only shrinks (free only shrinks) and an
 * open framework only closes (x only grows), so a framework that leaves a
 * list never comes back, and every framework outside the list has no room
 * or is closed.  Visits drop entries that no longer qualify (order kept, so
 * the lowest index still wins ties); a server with an empty list is passed
 * over at once.
 *
 * Rooms are not kept current: the room of n on i is the column entry until
 * the server's first placement of the cycle (changed[i] == 0), and after it
 * the refreshed formula evaluated when needed (what FillState._refresh
 * would have stored).  The caller re-derives whole columns of the servers
 * marked changed afterwards.
 *
 * Shares that ignore the room (pooled x_n unit_n, PS-DSF x_n / (w_n
 * gamma_n,i), gamma on full capacity) are computed exactly on every pass; only "has room" is unknown.
 * If the holder of the lowest share has room, that minimum is the true one
 * and the pick is the first listed framework within the tie margin that has
 * room; if not, the whole list is checked once (dropping every framework
 * without room) and the minimum recomputed.
 *
 * rPS-DSF's share x_n / (w_n room_n,i) needs every listed room, which is
 * recomputed (and stored in the column) on each visit after a placement.
 */

/* Room of n on i now (listed frameworks had room: eligible). */
static int64_t room_now(const struct ctx *c, const int64_t *col, int64_t n, int64_t i)
{
	return c->s->changed[i] ? room_alive(c, n, i) : col[n];
}

/* Equal shares within float noise go to the lowest framework index: the
 * first listed framework whose share is within the tie margin of `low` (the
 * exact minimum) and that has room.  With `checked` every listed framework
 * is known to have room; otherwise each candidate's room is checked and one
 * without room is marked -1 (dropped by the next pass). */
static int64_t first_within_margin(const struct ctx *c, const int64_t *col, int64_t i, int32_t *list, int64_t len,
				   const double *v, int checked, double low)
{
	double thr = low + 1e-12 * fmax(1.0, fabs(low));
	for (int64_t j = 0; j < len; j++) {
		if (list[j] < 0 || v[j] > thr)
			continue;
		if (checked || room_now(c, col, list[j], i) > 0)
			return list[j];
		list[j] = -1;
	}
	return -1; /* not reached: the holder of low qualifies */
}

/* Pooled or PS-DSF share; returns the framework to place on i, or -1.  The
 * list (length *len) is compacted in place. */
static int64_t pick_by_share(const struct ctx *c, const int64_t *col, const unsigned char *open,
			     const double *share, const int64_t *gamma, int64_t i, int32_t *list, int64_t *len,
			     double *v)
{
	const int64_t *x = c->s->x;
	/* masked = where(room > 0 & open, share, inf); low = min.  Entries
	 * marked -1 or closed leave the list. */
	double low = INFINITY;
	int64_t kept = 0, arg = -1;
	for (int64_t j = 0; j < *len; j++) {
		int64_t n = list[j];
		if (n < 0 || !open[n])
			continue;
		/* x / (w gamma) with w gamma in floats, as numpy forms it */
		double s = share ? share[n] : (double)x[n] / (c->p->weight[n] * (double)gamma[i * c->F + n]);
		list[kept] = (int32_t)n;
		v[kept] = s;
		if (s < low) {
			low = s;
			arg = kept;
		}
		kept++;
	}
	*len = kept;
	if (low == INFINITY)
		return -1;
	int checked = 0;
	if (room_now(c, col, list[arg], i) <= 0) {
		/* the minimum has no room: check the whole list once */
		low = INFINITY;
		kept = 0;
		for (int64_t j = 0; j < *len; j++) {
			if (room_now(c, col, list[j], i) <= 0)
				continue;
			list[kept] = list[j];
			v[kept] = v[j];
			if (v[kept] < low)
				low = v[kept];
			kept++;
		}
		*len = kept;
		checked = 1;
		if (low == INFINITY)
			return -1;
	}
	/* the holder of `low` has room, so low is the exact minimum */
	return first_within_margin(c, col, i, list, *len, v, checked, low);
}

/* rPS-DSF: share x_n / (w_n room_n,i); returns the framework to place on i,
 * or -1.  Every listed room is recomputed after a placement on i (it changes
 * for every framework there).  Computing only where a lower bound (the share
 * with the room last computed) could reach the minimum was tried: the
 * bounds are too loose after a placement to skip enough, and it ran no
 * faster on the 10,000 x 1,000 bench. */
static int64_t pick_by_residual(const struct ctx *c, int64_t *col, const unsigned char *open, int64_t i,
				int32_t *list, int64_t *len, double *v)
{
	const int64_t *x = c->s->x;
	const double *w = c->p->weight;
	const int stale = c->s->changed[i]; /* rooms older than the last placement on i */
	double low = INFINITY;
	int64_t kept = 0;
	for (int64_t j = 0; j < *len; j++) {
		int64_t n = list[j];
		if (n < 0 || !open[n])
			continue;
		if (stale && (col[n] = room_alive(c, n, i)) <= 0)
			continue;
		list[kept] = (int32_t)n;
		v[kept] = (double)x[n] / (w[n] * (double)col[n]);
		if (v[kept] < low)
			low = v[kept];
		kept++;
	}
	*len = kept;
	if (low == INFINITY)
		return -1;
	return first_within_margin(c, col, i, list, *len, v, 1, low);
}

int fs_offer_round(const struct fs_problem *p, struct fs_state *s, int64_t *cols, unsigned char *open,
		   double *share, const double *unit, const int64_t *gamma, const int64_t *order, int64_t n_order,
		   int fill_server, const struct fs_offer_lists *l)
{
	struct ctx c;
	int placed_any = 0;
	if (p->n_resources > FS_MAX_RESOURCES || p->n_frameworks > INT32_MAX)
		return -2;
	memset(&c, 0, sizeof c);
	c.p = p;
	c.s = s;
	c.F = p->n_frameworks;
	c.S = p->n_servers;
	c.R = p->n_resources;
	for (int64_t k = 0; k < n_order; k++) {
		int64_t i = order[k];
		if (i < 0 || i >= c.S)
			return -2;
		int64_t *col = cols + i * c.F;
		int32_t *list = l->cand + i * c.F;
		int64_t len = l->ncand[i];
		if (len < 0) {
			len = 0;
			for (int64_t n = 0; n < c.F; n++)
				if (col[n] > 0 && open[n])
					list[len++] = (int32_t)n;
		}
		while (len > 0) {
			int64_t pick = share || gamma ? pick_by_share(&c, col, open, share, gamma, i, list, &len, l->scratch)
						   : pick_by_residual(&c, col, open, i, list, &len, l->scratch);
			if (pick < 0)
				break;
			place(&c, pick, i, 1);
			if (share)
				share[pick] = (double)s->x[pick] * unit[pick];
			if (s->x[pick] >= s->limit[pick])
				open[pick] = 0;
			placed_any = 1;
			if (!fill_server)
				break;
		}
		l->ncand[i] = len;
	}
	return placed_any;
}
