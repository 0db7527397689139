/*
 * Progressive filling in C (fairshare._fill): the per-task loops of
 * fairshare/filling.py and fairshare/online.py.  Arrays are row-major numpy
 * buffers owned by the caller; see fill.c for the invariants.
 */
#ifndef FAIRSHARE_FILL_H
#define FAIRSHARE_FILL_H

#include <stdint.h>

#define FS_MAX_RESOURCES 64
#define FS_RULE_RESIDUAL 0
#define FS_RULE_BESTFIT 1
#define FS_RULE_RRR 2
#define FS_RULE_RANDOM 3

struct fs_problem {
	int64_t n_frameworks, n_servers, n_resources;
	const double *demand;      /* frameworks x resources */
	const double *inv;         /* 1/demand, 0 where the demand is 0 */
	const double *big;         /* 0 where demand > 0, 1e300 elsewhere */
	const unsigned char *elig; /* frameworks x servers */
	const double *weight;      /* frameworks */
	double room_max;           /* largest room the caller's cache holds */
};

struct fs_state {
	double *free;            /* servers x resources, updated */
	int64_t *x_server;       /* frameworks x servers, updated */
	int64_t *x;              /* frameworks, updated */
	const int64_t *limit;    /* frameworks: task caps */
	unsigned char *changed;  /* servers: set to 1 when free changes */
};

/* Randomised round robin (selection/round_robin.py).  Each framework walks
 * its own random order of its eligible servers.  The caller draws an order
 * from its random stream the first time the fill needs it, so the C code
 * asks in the order the Python loop would: order_of(handle, n, &order, &len)
 * returns 0 with the order (len servers, caller-owned, alive for the call)
 * and cursor[n] set to the framework's position, or -1 on failure (the fill
 * then returns -1).  cursor is frameworks long and updated. */
struct fs_rrr {
	int (*order_of)(void *handle, int64_t n, const int64_t **order, int64_t *len);
	void *handle;
	int64_t *cursor;
};

/* Uniformly random fitting server per task (selection/random_fit.py, the
 * rejection-sampling pick of large clusters).  The draws are Python's
 * random.Random stream: mt is its Mersenne Twister state (624 words, then
 * the position; random.getstate()), advanced here exactly as
 * Random._randbelow would, and read back by the caller afterwards.  Each
 * framework's candidate servers live in its row of cand (frameworks x
 * servers, caller-owned, a row touched only once the framework draws);
 * ncand[n] is the row's length, -1 before its first draw.  A batch of more
 * than one task goes to place(handle, n, count, fit, placed), the rule's
 * own Python code, with mt synced both ways around the call; it returns 0,
 * or -1 on failure (the fill then returns -1). */
struct fs_random {
	uint32_t *mt; /* 625 words: state, then the position (0..624) */
	int32_t *cand;
	int64_t *ncand;
	int (*place)(void *handle, int64_t n, int64_t count, const int64_t *fit, int64_t *placed);
	void *handle;
};
/* Random._randbelow(n) on that state (1 <= n < 2^32); exposed for the tests. */
uint32_t fs_mt_below(uint32_t *mt, uint32_t n);

/* Return 0, -1 when out of memory, -2 for arguments this code does not take,
 * -3 (best fit, nothing changed) when the Python loop must run instead: 8 or
 * more resources, or demands so small against the totals that the shape
 * ratios could overflow.
 *
 * rows, frameworks x servers, is the room matrix the fill starts from and
 * scratch it overwrites (the residual rule, rPS-DSF), or only read for the
 * rooms a best-fit pick starts from; NULL computes them from free as
 * Problem.fit_counts does.  rrr is given for FS_RULE_RRR only, rnd for
 * FS_RULE_RANDOM only. */
int fs_fill_pooled(const struct fs_problem *p, struct fs_state *s, const double *unit, const unsigned char *active,
		   int rule, int64_t *rows, const double *total, const double *shape_b, const int64_t *pivot,
		   const struct fs_rrr *rrr, const struct fs_random *rnd);
int fs_fill_server_specific(const struct fs_problem *p, struct fs_state *s, const unsigned char *active,
			    int residual, int64_t *rows, const int64_t *gamma_full);
/* Problem.fit_counts(free) transposed (servers x frameworks), same counts. */
void fs_fit_counts_by_server(const struct fs_problem *p, const double *free, int64_t *cols);
/* exact._place_floors (the floored targets of an exact reference, placed
 * greedily per class); free, placed, X and cursor (frameworks x classes,
 * starting at each class's first row) are updated.  Reads only the sizes
 * and demand of p. */
void fs_place_floors(const struct fs_problem *p, double *free, const int64_t *start, int64_t n_classes,
		     const int64_t *by_class, const int64_t *order, const int64_t *targets,
		     const unsigned char *class_elig, int64_t *placed, int64_t *X, int64_t *cursor);
/* Per-server candidate lists of one offer cycle (fill.c), all caller-owned:
 * cand is servers x frameworks, ncand servers long (-1 before a server's
 * first visit), scratch n_frameworks long. */
struct fs_offer_lists {
	int32_t *cand;
	int64_t *ncand;
	double *scratch;
};
/* One round of the offer cycle over the servers in `order`; cols is the
 * servers x frameworks room matrix at the start of the cycle (rPS-DSF updates
 * the entries it recomputes), open and share are updated.  Exactly one of
 * share (pooled criteria, with unit), gamma (PS-DSF: servers x frameworks
 * tasks on full capacity) or neither (rPS-DSF) is given.  Returns 1 if something was placed, 0 if not, -2 for arguments
 * this code does not take. */
int fs_offer_round(const struct fs_problem *p, struct fs_state *s, int64_t *cols, unsigned char *open,
		   double *share, const double *unit, const int64_t *gamma, const int64_t *order, int64_t n_order,
		   int fill_server, const struct fs_offer_lists *l);

#endif
