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
 * Room cache.  rows[n][i] = tasks of n that fit on server i.  It starts from
 * the caller's values (fit_counts at the start of the fill) and is re-derived
 * lazily: every placement appends its server to a log, and a framework about
 * to look at its row first recomputes the entries of the servers logged since
 * it last looked (the Python FillState keeps the same invariant with a
 * server-major copy; recomputing from free is cheaper here than maintaining
 * that copy on every placement).
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
#define BLOCK 64                      /* servers per block of the row extrema */

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
	int64_t *rows;
	unsigned char *alive; /* rows[n][i] > 0, a byte per entry: a fifth of the
			       * memory traffic of reading the room to skip it */
	int64_t *log;   /* servers changed, in order */
	int64_t nlog, caplog;
	int64_t *last;   /* per server: log position of its last change, -1 never */
	int64_t *synced; /* per framework: log length its row reflects */
	/* Per block of BLOCK servers of each row: the largest room and the
	 * smallest distance, valid when the flag is set.  Rooms only shrink
	 * during a fill, so a block's maximum goes stale only when the entry
	 * holding it drops; distances move both ways. */
	int64_t nblocks;
	int64_t *bmax;
	unsigned char *bmax_ok;
	double *bmin;
	unsigned char *bmin_ok;
	int nan_seen; /* a NaN distance: argmin falls back to numpy's full scan */
	/* best fit: per-framework distance rows, synced with the room rows */
	double *dist;
	const double *total;
	const double *shape_b; /* F x R: (d/total) / (d/total)[pivot] */
	const int64_t *pivot;
	/* min-heap of (key, framework) */
	struct entry *heap;
	int64_t nheap;
	/* scratch, S long */
	int64_t *s_room, *s_placed;
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

/* min over resources of free / demand, as free * (1/d) + (0 or 1e300 where
 * n needs none of the resource): FillState's arithmetic, term for term. */
static inline double min_ratio(const struct ctx *c, int64_t n, int64_t i)
{
	const double *f = c->s->free + i * c->R;
	const double *inv = c->p->inv + n * c->R, *big = c->p->big + n * c->R;
	double m = f[0] * inv[0] + big[0];
	for (int64_t r = 1; r < c->R; r++) {
		double v = f[r] * inv[r] + big[r];
		if (v < m)
			m = v;
	}
	return m;
}

/* FillState._refresh for one (framework, server) pair. */
static int64_t room_of(const struct ctx *c, int64_t n, int64_t i)
{
	double m = min_ratio(c, n, i);
	m += 1e-9;
	m = floor(m);
	if (m > c->p->room_max)
		m = c->p->room_max;
	m *= c->p->elig[n * c->S + i] ? 1.0 : 0.0;
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
	int64_t at = n * c->S + i, b = n * c->nblocks + i / BLOCK;
	if (!c->alive[at])
		return; /* free only shrinks during a fill: no room stays no room (distance inf) */
	int64_t old = c->rows[at];
	int64_t v = room_of(c, n, i);
	if (v == 0)
		c->alive[at] = 0;
	if (v != old) {
		c->rows[at] = v;
		if (old == c->bmax[b])
			c->bmax_ok[b] = 0;
	}
	if (c->dist) {
		double was = c->dist[at], d = v > 0 ? distance(c, n, c->s->free + i * c->R) : INFINITY;
		c->dist[at] = d;
		if (isnan(d))
			c->nan_seen = 1;
		else if (d < c->bmin[b])
			c->bmin[b] = d;
		else if (was == c->bmin[b] && d != was)
			c->bmin_ok[b] = 0;
	}
}

/* Bring rows[n] (and dist[n]) up to date with the placements since n looked:
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

/* numpy argmax of rows[n] (first maximum) with entry `skip` read as -1 (or
 * skip < 0), through the block maxima. */
static int64_t row_argmax(struct ctx *c, int64_t n, int64_t skip)
{
	const int64_t *v = c->rows + n * c->S;
	int64_t *bm = c->bmax + n * c->nblocks;
	unsigned char *ok = c->bmax_ok + n * c->nblocks;
	int64_t best = INT64_MIN, bb = 0, sb = skip >= 0 ? skip / BLOCK : -1;
	for (int64_t b = 0; b < c->nblocks; b++) {
		int64_t lo = b * BLOCK, hi = lo + BLOCK < c->S ? lo + BLOCK : c->S, m;
		if (b == sb || !ok[b]) {
			m = INT64_MIN;
			for (int64_t i = lo; i < hi; i++) {
				int64_t x = i == skip ? -1 : v[i];
				if (x > m)
					m = x;
			}
			if (b != sb) {
				bm[b] = m;
				ok[b] = 1;
			}
		} else {
			m = bm[b];
		}
		if (m > best) {
			best = m;
			bb = b;
		}
	}
	int64_t lo = bb * BLOCK, hi = lo + BLOCK < c->S ? lo + BLOCK : c->S;
	for (int64_t i = lo; i < hi; i++)
		if ((i == skip ? -1 : v[i]) == best)
			return i;
	return lo; /* not reached */
}

static int64_t argmin_f64(const double *v, int64_t len);

/* numpy argmin of dist[n] through the block minima. */
static int64_t dist_argmin(struct ctx *c, int64_t n)
{
	const double *v = c->dist + n * c->S;
	if (c->nan_seen)
		return argmin_f64(v, c->S);
	double *bm = c->bmin + n * c->nblocks;
	unsigned char *ok = c->bmin_ok + n * c->nblocks;
	double best = INFINITY;
	int64_t bb = -1;
	for (int64_t b = 0; b < c->nblocks; b++) {
		if (!ok[b]) {
			int64_t lo = b * BLOCK, hi = lo + BLOCK < c->S ? lo + BLOCK : c->S;
			double m = INFINITY;
			for (int64_t i = lo; i < hi; i++)
				if (v[i] < m)
					m = v[i];
			bm[b] = m;
			ok[b] = 1;
		}
		if (bb < 0 || bm[b] < best) {
			best = bm[b];
			bb = b;
		}
	}
	int64_t lo = bb * BLOCK, hi = lo + BLOCK < c->S ? lo + BLOCK : c->S;
	for (int64_t i = lo; i < hi; i++)
		if (v[i] == best)
			return i;
	return lo; /* all inf: numpy's argmin is 0, the first */
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
		dist[i] = room[i] > 0 ? distance(c, n, c->s->free + i * R) : INFINITY;
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

/* ---------- set-up ---------- */

static void ctx_free(struct ctx *c)
{
	free(c->log);
	free(c->last);
	free(c->synced);
	free(c->heap);
	free(c->alive);
	free(c->bmax);
	free(c->bmax_ok);
	free(c->bmin);
	free(c->bmin_ok);
	free(c->s_room);
	free(c->s_placed);
	free(c->s_dist);
	free(c->s_free);
	free(c->s_touched);
	free(c->s_over);
}

static int ctx_init(struct ctx *c, const struct fs_problem *p, struct fs_state *s, int64_t *rows, int scratch)
{
	memset(c, 0, sizeof *c);
	c->p = p;
	c->s = s;
	c->F = p->n_frameworks;
	c->S = p->n_servers;
	c->R = p->n_resources;
	c->rows = rows;
	c->heap = malloc((c->F + 1) * sizeof *c->heap);
	if (!c->heap)
		return -1;
	if (rows) {
		c->last = malloc(c->S * sizeof *c->last);
		c->synced = calloc(c->F, sizeof *c->synced);
		if (!c->last || !c->synced || grow_log(c))
			return -1;
		for (int64_t i = 0; i < c->S; i++)
			c->last[i] = -1;
		c->alive = malloc(c->F * c->S);
		if (!c->alive)
			return -1;
		for (int64_t k = 0; k < c->F * c->S; k++)
			c->alive[k] = rows[k] > 0;
		c->nblocks = (c->S + BLOCK - 1) / BLOCK;
		c->bmax = malloc(c->F * c->nblocks * sizeof *c->bmax);
		c->bmax_ok = calloc(c->F * c->nblocks, 1);
		c->bmin = malloc(c->F * c->nblocks * sizeof *c->bmin);
		c->bmin_ok = calloc(c->F * c->nblocks, 1);
		if (!c->bmax || !c->bmax_ok || !c->bmin || !c->bmin_ok)
			return -1;
	}
	if (scratch) {
		c->s_room = malloc(c->S * sizeof *c->s_room);
		c->s_placed = malloc(c->S * sizeof *c->s_placed);
		c->s_dist = malloc(c->S * sizeof *c->s_dist);
		c->s_free = malloc(c->S * c->R * sizeof *c->s_free);
		c->s_touched = malloc(c->S * sizeof *c->s_touched);
		c->s_over = calloc(c->S, 1);
		if (!c->s_room || !c->s_placed || !c->s_dist || !c->s_free || !c->s_touched || !c->s_over)
			return -1;
	}
	return 0;
}

/* ---------- pooled criteria (filling._fill_pooled) ---------- */

int fs_fill_pooled(const struct fs_problem *p, struct fs_state *s, const double *unit, const unsigned char *active,
		   int rule, int64_t *rows, double *dist, const double *total, const double *shape_b,
		   const int64_t *pivot)
{
	struct ctx c;
	int err = 0;
	if (p->n_resources > FS_MAX_RESOURCES || p->n_servers < 1 || !rows)
		return -2;
	if (ctx_init(&c, p, s, rows, 1)) {
		ctx_free(&c);
		return -1;
	}
	if (rule == FS_RULE_BESTFIT) {
		if (p->n_resources >= 8 || !dist)
			return ctx_free(&c), -2; /* numpy sums 8+ terms pairwise, not left to right */
		c.dist = dist;
		c.total = total;
		c.shape_b = shape_b;
		c.pivot = pivot;
		/* BestFit.begin_fill: inf where the task does not fit. */
		for (int64_t n = 0; n < c.F; n++)
			for (int64_t i = 0; i < c.S; i++)
			{
				double d = rows[n * c.S + i] > 0 ? distance(&c, n, s->free + i * c.R) : INFINITY;
				dist[n * c.S + i] = d;
				if (isnan(d))
					c.nan_seen = 1;
			}
	}
	int64_t *x = s->x;
	const int64_t *lim = s->limit;
	for (int64_t n = 0; n < c.F; n++)
		if (active[n])
			heap_push(&c, q12((double)x[n] * unit[n]), n);
	while (c.nheap > 0 && !err) {
		struct entry top = heap_pop(&c);
		int64_t n = top.n, limit = lim[n] - x[n], count;
		if (c.nheap > 0) {
			count = count_before_crossing(x[n], unit[n], n, c.heap[0].key, c.heap[0].n);
			if (count > limit)
				count = limit;
		} else {
			count = limit;
		}
		if (count <= 0)
			continue;
		int64_t *fit = row(&c, n);
		if (count == 1) {
			int64_t i;
			if (rule == FS_RULE_BESTFIT) {
				i = dist_argmin(&c, n);
				if (c.dist[n * c.S + i] == INFINITY)
					continue;
			} else {
				i = row_argmax(&c, n, -1);
				if (fit[i] <= 0)
					continue;
			}
			if (place(&c, n, i, 1))
				err = -1;
		} else {
			wide room = sum_i64(fit, c.S);
			if (room < count)
				count = (int64_t)room;
			if (count <= 0)
				continue;
			if (rule == FS_RULE_BESTFIT)
				bestfit_place(&c, n, count, fit);
			else
				water_fill(fit, c.S, count, c.s_placed);
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
		int64_t *room = row(c, n);
		int64_t i = row_argmax(c, n, -1), gi = room[i];
		if (gi <= 0)
			return 0;
		int64_t j = row_argmax(c, n, i), g2 = j == i ? -1 : room[j];
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
	if (p->n_resources > FS_MAX_RESOURCES || p->n_servers < 1 || (residual && !rows) ||
	    (!residual && !gamma_full))
		return -2;
	memset(&z, 0, sizeof z);
	struct ctx *c = &z.c;
	if (ctx_init(c, p, s, residual ? rows : NULL, residual))
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

/* Tasks of demand d that fit in free f, as Problem.fit_counts computes it
 * (Problem._ratios): the minimum of f / d over the resources d needs (a
 * resource it does not need never binds), then floor(max(m, 0) + 1e-9),
 * capped at TASK_LIMIT: the same divisions, so the same count bit for bit. */
static inline int64_t fit_count(const double *f, const double *d, int64_t R)
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

/* Problem.fit_counts(free) transposed, in the layout the offer cycle reads:
 * cols[i * F + n] = tasks of n that fit in free[i] (fit_count), 0 where n is
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
				cols[i * F + n] = elig[i] ? fit_count(free + i * R, d, R) : 0;
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
 * X (F x S).  The room is fit_count's, and free
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
					int64_t fit = fit_count(f, d, R);
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

/* Column i's room for framework n as FillState._refresh writes it after a
 * placement on i, for an eligible pair (eligibility factor 1). */
static int64_t offer_room(const struct ctx *c, int64_t n, int64_t i)
{
	double m = min_ratio(c, n, i) + 1e-9;
	m = floor(m);
	if (m > c->p->room_max)
		m = c->p->room_max;
	return (int64_t)m;
}

/* Room of n on i now (listed frameworks had room: eligible). */
static int64_t room_now(const struct ctx *c, const int64_t *col, int64_t n, int64_t i)
{
	return c->s->changed[i] ? offer_room(c, n, i) : col[n];
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
		if (stale && (col[n] = offer_room(c, n, i)) <= 0)
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
