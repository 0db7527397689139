"""Max-min fair completion times of multi-task jobs (Shafiee & Ghaderi,
IFIP Networking 2020; the algorithms are our reconstruction, see
docs/fairshare-notes.md §7 and docs/fairshare.md).

Job j has a task on every server i with p[i, j] > 0; each server runs its
tasks one at a time, back to back from time 0; C_j = max_i C_ij.  Costs are
linear: cost_j = rate_j * C_j (default rate = weight / max_i p[i, j], i.e.
weighted slowdown).  The goal is the lexicographically max-min fair utility
vector (utility = -cost): the smallest vector of costs sorted worst first.

Three solvers, all returning per-server run orders:

* `mmf_dp` - iterative fixing.  Element 1 is exact: min max_j cost_j splits
  by server (a job's cost is the max of its tasks' costs), and on one server
  Lawler's backward rule is optimal for the max of non-decreasing functions:
  among the unplaced tasks put last the one whose cost at the current
  remaining load is smallest.  Fixed jobs enter as deadlines (cost 0 if met,
  infinite if not).  After each level the jobs that cannot finish strictly
  earlier (EDF test) are fixed at it; when every tied job could improve alone
  but not all together (alternative bottleneck sets: where the problem is
  strongly NP-hard) one job sharing a server with them is fixed, chosen by a
  one-level lookahead (the lowest next level), a heuristic.
* `perturb` - random perturbation: run `mmf_dp` (without the lookahead) on
  processing times scaled by independent factors in [1 - eps, 1 + eps] (ties
  vanish with probability 1), replay the orders on the true times, keep the
  lexicographically best, starting from plain `mmf_dp`.
* `exact` - lexicographic minimax by a sequence of MILPs (HiGHS): step k
  minimises the sum of the k largest costs (k t + sum_j max(0, cost_j - t),
  Ogryczak's linearisation), steps 1..k-1 held at their optima; server
  order is disjunctive (one binary per pair of tasks on a server).
  `brute_force` enumerates all per-server orders (tests, tiny instances).
"""
from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

EPS = 1e-9


class TooLargeError(ValueError):
    """The instance is beyond what the exact solver handles in reasonable time."""


@dataclass
class MMFResult:
    costs: np.ndarray            # cost per job in the returned schedule
    order: list                  # per server: job indices in run order
    completion: np.ndarray       # C_j

    def sorted_costs(self) -> np.ndarray:
        return np.sort(self.costs)[::-1]


def _matrix(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if p.ndim != 2 or not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("p must be a servers x jobs matrix of finite non-negative processing times")
    empty = np.flatnonzero(p.sum(axis=0) <= 0)
    if len(empty):
        raise ValueError(f"job {int(empty[0])} has no task on any server")
    return p


def _rates(p: np.ndarray, rate) -> np.ndarray:
    if rate is None:
        return 1.0 / p.max(axis=0)
    r = np.asarray(rate, dtype=float)
    if r.shape != (p.shape[1],) or not (np.isfinite(r) & (r > 0)).all():
        raise ValueError("rate must hold one positive finite number per job")
    return r


def replay(p: np.ndarray, order: Sequence[Sequence[int]]) -> np.ndarray:
    """Completion time of every job when each server runs `order[i]` back to back."""
    completion = np.zeros(p.shape[1])
    for i, seq in enumerate(order):
        t = 0.0
        for j in seq:
            t += p[i, j]
            if t > completion[j]:
                completion[j] = t
    return completion


def _result(p, rate, order) -> MMFResult:
    c = replay(p, order)
    return MMFResult(rate * c, [list(s) for s in order], c)


def _lawler(p_i: np.ndarray, jobs: list, rate: np.ndarray, deadline: np.ndarray):
    """Backward rule on one server: order minimising the max cost of the
    unfixed jobs (deadline NaN) while fixed jobs meet their deadlines.
    Returns (order, worst unfixed cost; inf when a deadline cannot be met).

    With linear costs the unfixed job to put last is always the one with the
    smallest rate, so a heap on rate serves them; a fixed job may go last
    whenever the remaining load meets its deadline (cost 0), and of those we
    take the latest deadline (it stays eligible the longest otherwise)."""
    load = float(p_i[jobs].sum())
    free = [(rate[j], j) for j in jobs if math.isnan(deadline[j])]
    heapq.heapify(free)
    fixed = sorted((j for j in jobs if not math.isnan(deadline[j])), key=lambda j: (deadline[j], j))
    rev, worst = [], 0.0
    while free or fixed:
        if fixed and deadline[fixed[-1]] * (1 + EPS) + EPS >= load:
            j = fixed.pop()
        elif free:
            r, j = heapq.heappop(free)
            worst = max(worst, r * load)
        else:
            return None, math.inf
        rev.append(j)
        load -= p_i[j]
    return rev[::-1], worst


def _edf_ok(p_i: np.ndarray, jobs: list, deadline: np.ndarray) -> bool:
    t = 0.0
    for j in sorted(jobs, key=lambda j: (deadline[j], j)):
        t += p_i[j]
        if t > deadline[j] * (1 + EPS) + EPS:
            return False
    return True


def mmf_dp(p, rate=None, lookahead: bool = True) -> MMFResult:
    p = _matrix(p)
    rate = _rates(p, rate)
    M, J = p.shape
    on = [list(np.flatnonzero(p[i] > 0)) for i in range(M)]
    servers_of = [list(np.flatnonzero(p[:, j] > 0)) for j in range(J)]
    deadline = np.full(J, np.nan)
    # Per-server Lawler result; only the servers of newly fixed jobs change.
    cache = [_lawler(p[i], on[i], rate, deadline) for i in range(M)]
    unfixed = J
    while unfixed:
        worst = np.array([w for _, w in cache])
        level = float(worst.max())
        completion = replay(p, [o for o, _ in cache])
        tied = [j for j in range(J) if math.isnan(deadline[j])
                and rate[j] * completion[j] >= level * (1 - 1e-9) - EPS]
        trial = np.where(np.isnan(deadline), level / rate, deadline)
        bottleneck = []
        for k in tied:
            d = trial.copy()
            d[k] = level / rate[k] * (1 - 1e-7)
            if not all(_edf_ok(p[i], on[i], d) for i in servers_of[k]):
                bottleneck.append(k)
        if not bottleneck and lookahead:
            bottleneck = [_lookahead(p, on, rate, deadline, level, tied, servers_of, worst)]
        elif not bottleneck:
            bottleneck = [max(tied, key=lambda k: (p[:, k].sum(), -k))]
        touched = set()
        for k in bottleneck:
            deadline[k] = level / rate[k]
            touched.update(servers_of[k])
        for i in touched:
            cache[i] = _lawler(p[i], on[i], rate, deadline)
            if cache[i][0] is None:  # cannot happen: the previous schedule met these deadlines
                raise AssertionError("internal error: fixed deadlines became infeasible")
        unfixed -= len(bottleneck)
    return _result(p, rate, [o for o, _ in cache])


def _lookahead(p, on, rate, deadline, level, tied, servers_of, worst) -> int:
    """Alternative bottleneck sets: every tied job could finish earlier alone,
    but one job sharing a server with them must stay at `level`.  Try each
    such job fixed at `level` and keep the one that leaves the lowest next
    level (one step of the first-k-elements search; most work breaks ties).
    Fixing k changes only k's servers: the others keep their `worst`."""
    cands = sorted({j for k in tied for i in servers_of[k] for j in on[i] if math.isnan(deadline[j])})
    best, key = tied[0], None
    for k in cands:
        d = deadline.copy()
        d[k] = level / rate[k]
        mine = set(servers_of[k])
        nxt = max((worst[i] for i in range(p.shape[0]) if i not in mine), default=0.0)
        for i in mine:
            order, w = _lawler(p[i], on[i], rate, d)
            nxt = max(nxt, w)
            if key is not None and nxt > key[0]:
                break
        cand_key = (nxt, -p[:, k].sum(), k)
        if key is None or cand_key < key:
            best, key = k, cand_key
    return best


def lex_less(a: np.ndarray, b: np.ndarray, tol: float = 1e-9) -> bool:
    """a < b lexicographically, comparing with a relative tolerance."""
    for x, y in zip(a, b):
        if abs(x - y) > tol * max(1.0, abs(x), abs(y)):
            return x < y
    return False


def perturb(p, rate=None, tries: int = 8, eps: float = 0.05, seed: int = 0) -> MMFResult:
    p = _matrix(p)
    rate = _rates(p, rate)
    rng = np.random.default_rng(seed)
    best = mmf_dp(p, rate)
    for _ in range(tries):
        q = p * rng.uniform(1 - eps, 1 + eps, size=p.shape)
        cand = _result(p, rate, mmf_dp(q, rate, lookahead=False).order)
        if lex_less(cand.sorted_costs(), best.sorted_costs()):
            best = cand
    return best


def brute_force(p, rate=None, limit: int = 200_000) -> np.ndarray:
    """Lexicographically smallest worst-first cost vector over all per-server orders."""
    p = _matrix(p)
    rate = _rates(p, rate)
    M, J = p.shape
    per_server = [list(itertools.permutations([j for j in range(J) if p[i, j] > 0])) for i in range(M)]
    if math.prod(len(x) for x in per_server) > limit:
        raise TooLargeError("instance too large for brute force")
    best = None
    for orders in itertools.product(*per_server):
        vec = tuple(np.round(np.sort(rate * replay(p, orders))[::-1], 9))
        if best is None or vec < best:
            best = vec
    return np.array(best)


def exact(p, rate=None, max_pairs: int = 120, time_limit: float = 30.0) -> MMFResult:
    """Lexicographically max-min fair schedule by sequential MILPs (HiGHS)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix
    p = _matrix(p)
    rate = _rates(p, rate)
    M, J = p.shape
    tasks = [(i, j) for i in range(M) for j in range(J) if p[i, j] > 0]
    pairs = [(i, a, b) for i in range(M) for a, b in itertools.combinations(np.flatnonzero(p[i] > 0), 2)]
    if len(pairs) > max_pairs:
        raise TooLargeError(f"instance too large for exact: {len(pairs)} pairs of tasks sharing a server "
                            f"(limit {max_pairs}); use mmf-dp or perturb")
    # Variables: start S per task | C per job | y per pair | t_k, u_kj per step (added as steps go).
    T, P = len(tasks), len(pairs)
    tix = {t: n for n, t in enumerate(tasks)}
    base = T + J + P
    nvar = base + J * (1 + J)
    col_t = lambda k: base + k * (1 + J)           # noqa: E731
    col_u = lambda k, j: base + k * (1 + J) + 1 + j  # noqa: E731
    rows, lo, hi = [], [], []

    def row(coefs, lb, ub):
        rows.append(coefs)
        lo.append(lb)
        hi.append(ub)

    for (i, j), n in tix.items():                    # C_j >= S_ij + p_ij
        row({T + j: 1.0, n: -1.0}, p[i, j], math.inf)
    for m, (i, a, b) in enumerate(pairs):            # y = 1: a before b
        big = float(p[i].sum())
        sa, sb, y = tix[(i, a)], tix[(i, b)], T + J + m
        row({sb: 1.0, sa: -1.0, y: -big}, p[i, a] - big, math.inf)
        row({sa: 1.0, sb: -1.0, y: big}, p[i, b], math.inf)
    for k in range(J):                               # u_kj >= rate_j C_j - t_k
        for j in range(J):
            row({col_u(k, j): 1.0, col_t(k): 1.0, T + j: -rate[j]}, 0.0, math.inf)
    integrality = np.zeros(nvar)
    integrality[T + J:T + J + P] = 1
    lb = np.zeros(nvar)
    ub = np.full(nvar, math.inf)
    ub[T + J:T + J + P] = 1
    lb[[col_t(k) for k in range(J)]] = -math.inf
    sol = None
    for k in range(J):
        c = np.zeros(nvar)
        c[col_t(k)] = k + 1
        c[[col_u(k, j) for j in range(J)]] = 1.0
        A = lil_matrix((len(rows), nvar))
        for r, coefs in enumerate(rows):
            for v, a in coefs.items():
                A[r, v] = a
        problem = dict(integrality=integrality, bounds=Bounds(lb, ub),
                       constraints=LinearConstraint(A.tocsr(), lo, hi))
        res = milp(c, **problem, options={"time_limit": time_limit, "mip_rel_gap": 0.0})
        if res.status in (2, 4):
            # The model is feasible by construction (the last step's solution meets
            # every row, the bound rows with slack), yet HiGHS's presolve reports a
            # solve error or infeasibility on some tiny instances: p = [[1, 1], [2, 4]]
            # with rates 0.5, 0.25, and p = [[1, 3, 1, 6]] with rates 2, 1/3, 3, 0.5,
            # every time.  The same model solves without presolve.
            res = milp(c, **problem, options={"time_limit": time_limit, "mip_rel_gap": 0.0, "presolve": False})
        if res.status != 0:
            raise TooLargeError(f"exact: the MILP solver stopped without an optimum ({res.message.strip()}); "
                                "use mmf-dp or perturb")
        sol = res.x
        bound = float(res.fun) * (1 + 1e-7) + 1e-7
        row({col_t(k): k + 1, **{col_u(k, j): 1.0 for j in range(J)}}, -math.inf, bound)
    order = [sorted((j for j in range(J) if p[i, j] > 0), key=lambda j: (sol[tix[(i, j)]], j)) for i in range(M)]
    return _result(p, rate, order)


SOLVERS = {"exact": exact, "mmf-dp": mmf_dp, "perturb": perturb}
