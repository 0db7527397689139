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

/* Return 0, -1 when out of memory, -2 for arguments this code does not take,
 * -3 (best fit, nothing changed) when the Python loop must run instead: 8 or
 * more resources, or demands so small against the totals that the shape
 * ratios could overflow.
 *
 * rows, frameworks x servers, is the room matrix the fill starts from (the
 * residual rule, rPS-DSF) and scratch it overwrites; NULL computes it from
 * free as Problem.fit_counts does.  Best fit and PS-DSF do not use it. */
int fs_fill_pooled(const struct fs_problem *p, struct fs_state *s, const double *unit, const unsigned char *active,
		   int rule, int64_t *rows, const double *total, const double *shape_b, const int64_t *pivot);
int fs_fill_server_specific(const struct fs_problem *p, struct fs_state *s, const unsigned char *active,
			    int residual, int64_t *rows, const int64_t *gamma_full);
/* One round of the offer cycle over the servers in `order`; cols is the
 * servers x frameworks room cache, open and share are updated.  Returns 1 if
 * something was placed, 0 if not, -2 for arguments this code does not take. */
int fs_offer_round(const struct fs_problem *p, struct fs_state *s, int64_t *cols, unsigned char *open,
		   double *share, const double *unit, const double *wg, const int64_t *order, int64_t n_order,
		   int fill_server);

#endif
