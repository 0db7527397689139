"""Themis (Mahajan et al., NSDI'20): finish-time fair GPU auctions.

Every lease all GPUs return to the arbiter, which offers them to the
ceil((1 - f) n) active jobs with the worst rho (f: the fairness knob; f -> 1
only the worst job bids).  Each bidder reports a valuation table over GPU
bundles: V(b) = rho(no GPUs this lease) / rho(b this lease), where a bundle
is its gang packed on one server or spread over servers of one GPU model
(slower by the job's placement sensitivity).  V >= 1 and larger is better.

Partial allocation (Cole, Gkatzelis, Goel): the winner determination picks
the bundles maximising the product of valuations (sum of logs) over feasible
assignments; each winner i then keeps its bundle for the fraction
c_i = prod_{j != i} V_j(PF) / prod_{j != i} V_j(PF without i) of the lease,
which makes reporting true valuations a dominant strategy.  The withheld
1 - c_i of the lease and every GPU no bidder won go to the other jobs, worst
rho first (work conservation).

Winner determination: exact search over the bidders' options when there are
few, else a MILP (HiGHS).  Both use the same feasibility: packed gangs fit
their server, and per GPU model the spread gangs fit the GPUs left there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .sim import Grant, Policy, View, place, take

EXACT_SEARCH_LIMIT = 2_000


@dataclass(frozen=True)
class Bid:
    job: int
    gpus: int
    packed: float                               # valuation packed on any one server
    spread: dict = field(default_factory=dict)  # GPU model -> valuation spread over its servers


def valuation(view: View, j: int, speed: float) -> float:
    """rho(nothing this lease) / rho(holding a bundle of this speed this lease).
    T_independent cancels; both assume the job runs packed afterwards."""
    age, rem, L = view.now - view.jobs[j].arrival, view.remaining[j], view.lease
    run = min(L, rem / speed)
    return (age + L + rem) / (age + run + (rem - run * speed))


def make_bid(view: View, j: int) -> Bid:
    job = view.jobs[j]
    models = {}
    for s in view.servers:
        models.setdefault(s.model, []).append(s.gpus)
    spread = {m: valuation(view, j, 1.0 / job.slowdown({m})) for m, caps in models.items()
              if len(caps) > 1 and sum(caps) >= job.gpus}
    return Bid(j, job.gpus, valuation(view, j, 1.0), spread)


def _options(bid: Bid, free, model_of):
    """(log value, server or None, model or None) per option, 'nothing' first."""
    out = [(0.0, None, None)]
    out += [(math.log(bid.packed), s, None) for s in range(len(free)) if free[s] >= bid.gpus]
    out += [(math.log(v), None, m) for m, v in sorted(bid.spread.items())]
    return out


def _feasible(choice, bids, free, model_of) -> bool:
    load = np.zeros(len(free))
    spread = {}
    for (lv, s, m), b in zip(choice, bids):
        if s is not None:
            load[s] += b.gpus
        elif m is not None:
            spread[m] = spread.get(m, 0) + b.gpus
    if (load > free).any():
        return False
    for m, need in spread.items():
        idx = [s for s in range(len(free)) if model_of[s] == m]
        if need > sum(free[s] - load[s] for s in idx):
            return False
    return True


def _exact_search(bids, free, model_of):
    opts = [_options(b, free, model_of) for b in bids]
    best, best_val = [opts[k][0] for k in range(len(bids))], 0.0

    def rec(k, chosen, val):
        nonlocal best, best_val
        if k == len(bids):
            if val > best_val + 1e-12 and _feasible(chosen, bids, free, model_of):
                best, best_val = list(chosen), val
            return
        # Upper bound: everyone left gets their best option.
        if val + sum(max(o[0] for o in opts[q]) for q in range(k, len(bids))) <= best_val + 1e-12:
            return
        for o in opts[k]:
            chosen.append(o)
            if _feasible(chosen, bids[:k + 1], free, model_of):
                rec(k + 1, chosen, val + o[0])
            chosen.pop()

    rec(0, [], 0.0)
    return best_val, best


def _milp(bids, free, model_of):
    """Aggregated MILP: one binary per (bidder, packed) and (bidder, spread
    model), and integer counts k[g, s] of packed gangs of size g on server s
    (gangs of one size are interchangeable, so jobs are not tied to servers:
    this removes the symmetry that makes a job x server model slow)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    models = sorted(set(model_of))
    var = []                                          # (bidder, server-or-None(packed), model-or-None)
    for k, b in enumerate(bids):
        if (free >= b.gpus).any():
            var.append((k, "packed", None))
        var += [(k, None, m) for m in sorted(b.spread)]
    sizes = sorted({b.gpus for b in bids})
    counts = [(g, s) for g in sizes for s in range(len(free)) if free[s] >= g]
    n = len(var) + len(counts)
    if not var:
        return 0.0, [(0.0, None, None)] * len(bids)
    A, lo, hi = [], [], []

    def add(coefs, lb, ub):
        r = np.zeros(n)
        for v, a in coefs:
            r[v] += a
        A.append(r); lo.append(lb); hi.append(ub)

    for k in range(len(bids)):                        # one option per bidder
        add([(v, 1) for v, (kk, _, _) in enumerate(var) if kk == k], 0, 1)
    for g in sizes:                                   # packed winners of size g = gangs placed
        add([(v, 1) for v, (k, p, _) in enumerate(var) if p and bids[k].gpus == g]
            + [(len(var) + c, -1) for c, (gg, _) in enumerate(counts) if gg == g], 0, 0)
    for s in range(len(free)):                        # packed gangs fit each server
        add([(len(var) + c, g) for c, (g, ss) in enumerate(counts) if ss == s], 0, free[s])
    for m in models:                                  # packed + spread fit each model's GPUs
        idx = {s for s in range(len(free)) if model_of[s] == m}
        add([(len(var) + c, g) for c, (g, ss) in enumerate(counts) if ss in idx]
            + [(v, bids[k].gpus) for v, (k, _, mm) in enumerate(var) if mm == m], 0, sum(free[s] for s in idx))
    value = {(k, m): math.log(bids[k].packed if m is None else bids[k].spread[m]) for k, _, m in var}
    c = np.zeros(n)
    c[:len(var)] = [-value[(k, m)] for k, _, m in var]
    ub = np.concatenate([np.ones(len(var)), [free[s] // g for g, s in counts]])
    res = milp(c, integrality=np.ones(n), bounds=Bounds(0, ub),
               constraints=LinearConstraint(np.array(A), lo, hi))
    if res.status != 0:
        raise RuntimeError(f"themis winner determination: {res.message}")
    x = np.round(res.x).astype(int)
    # Packed winners onto servers: per size (largest first) fill the counts.
    slots = {g: [s for c, (gg, s) in enumerate(counts) if gg == g for _ in range(x[len(var) + c])] for g in sizes}
    choice = [(0.0, None, None)] * len(bids)
    for v, (k, p, m) in enumerate(var):
        if x[v]:
            server = slots[bids[k].gpus].pop(0) if p else None
            choice[k] = (value[(k, m)], server, m)
    return float(-res.fun), choice


def winner_determination(bids, free, model_of):
    """(sum of log valuations, chosen option per bid) maximising Nash welfare."""
    free = np.asarray(free)
    size = math.prod(len(_options(b, free, model_of)) for b in bids)
    if size <= EXACT_SEARCH_LIMIT:
        return _exact_search(bids, free, model_of)
    return _milp(bids, free, model_of)


@dataclass
class Award:
    bid: Bid
    server: int | None     # packed on this server, or
    model: str | None      # spread over this model's servers
    value: float           # the winner's valuation
    keep: float            # c_i: fraction of the lease it keeps


def partial_allocation(bids, free, model_of) -> list[Award]:
    total, choice = winner_determination(bids, free, model_of)
    awards = []
    for k, (lv, s, m) in enumerate(choice):
        if s is None and m is None:
            continue
        others = bids[:k] + bids[k + 1:]
        without, _ = winner_determination(others, free, model_of) if others else (0.0, None)
        keep = math.exp(min(0.0, (total - lv) - without))
        awards.append(Award(bids[k], s, m, math.exp(lv), keep))
    return awards


def bidders(view: View, knob: float) -> list[int]:
    """The ceil((1 - knob) n) active jobs with the worst rho, worst first."""
    order = sorted(view.active, key=lambda j: (-view.rho_now(j), view.jobs[j].arrival, j))
    k = max(1, math.ceil((1.0 - knob) * len(order) - 1e-9))
    return [int(j) for j in order[:k]]


class Themis(Policy):
    name = "themis"

    def __init__(self, knob: float = 0.2):
        if not 0 <= knob < 1:
            raise ValueError(f"themis fairness knob must be in [0, 1), got {knob}")
        self.knob = knob
        self.auctions = 0
        self.withheld = []

    def allocate(self, view: View) -> list[Grant]:
        free = np.array([s.gpus for s in view.servers])
        model_of = [s.model for s in view.servers]
        worst_first = sorted(view.active, key=lambda j: (-view.rho_now(j), view.jobs[j].arrival, j))
        bids = [make_bid(view, j) for j in bidders(view, self.knob)]
        awards = partial_allocation(bids, free, model_of)
        self.auctions += 1
        grants, granted, windows = [], set(), []
        for a in awards:                       # packed winners first: spread ones take what is left
            if a.server is not None:
                gpus = ((a.server, a.bid.gpus),)
                take(free, gpus)
                grants.append(Grant(a.bid.job, gpus, a.keep))
                granted.add(a.bid.job)
        for a in awards:
            if a.model is not None:
                idx = [s for s in range(len(free)) if model_of[s] == a.model]
                sub = np.zeros_like(free)
                sub[idx] = free[idx]
                gpus = place(a.bid.gpus, sub)
                take(free, gpus)
                grants.append(Grant(a.bid.job, gpus, a.keep))
                granted.add(a.bid.job)
        for g in grants:
            self.withheld.append(1.0 - g.fraction)
            if g.fraction < 1 - 1e-9:
                windows.append(g)
        for j in worst_first:                  # leftovers, work-conserving
            if j in granted:
                continue
            gpus = place(view.jobs[j].gpus, free)
            if gpus is not None:
                take(free, gpus)
                grants.append(Grant(int(j), gpus))
                granted.add(j)
        for w in windows:                      # withheld part of each winner's lease
            wfree = np.zeros_like(free)
            for s, c in w.gpus:
                wfree[s] = c
            for j in worst_first:
                if j in granted:
                    continue
                gpus = place(view.jobs[j].gpus, wfree)
                if gpus is not None:
                    take(wfree, gpus)
                    grants.append(Grant(int(j), gpus, 1.0 - w.fraction, w.fraction))
                    granted.add(j)
        return grants
