"""Mesos-style online allocation, offer by offer, server by server.

Each round visits the servers in a fresh random order (randomised round
robin; Python `random.Random(seed)` so runs are reproducible).  The visited
server offers exactly one task ("fine-grained", one D-vector) to the eligible
framework that fits and has the lowest current share on that server,
share evaluated before the increment, ties to the lowest framework index.
Rounds repeat until one places nothing.

For server-specific criteria share(n, i) = x_n / (weight_n gamma_{n,i});
rPS-DSF recomputes gamma on the residual capacity.  Pooled criteria use
their pooled share x_n * unit_n.  With `fill_server=True` each visited server
keeps offering until nothing fits (the Mesos allocator's inner loop: pop the
minimum, offer one D-vector, re-key, push back) instead of one task per turn.
"""
from __future__ import annotations

import random

import numpy as np

from . import native_fill
from .allocation import Allocation
from .criteria import Criterion
from .model import Problem


def offer_cycle(problem: Problem, criterion: type[Criterion] | Criterion, seed: int = 0,
                fill_server: bool = False, initial: np.ndarray | None = None,
                active: np.ndarray | None = None, name: str | None = None,
                max_rounds: int | None = None) -> Allocation:
    from .filling import FillState
    crit = criterion(problem) if isinstance(criterion, type) else criterion
    rng = random.Random(seed)
    state = FillState(problem, initial)
    x = state.x
    act = np.ones(problem.n_frameworks, dtype=bool) if active is None else np.asarray(active, bool)
    w = problem.weight
    unit = None if crit.server_specific else crit.unit()
    static_gamma = crit.server_specific and not crit.residual
    servers = list(range(problem.n_servers))
    # Per-framework quantities kept up to date as tasks are placed, so a
    # visit costs a few whole-vector operations over the frameworks instead
    # of gathering candidates first.  `share` is pooled x_n * unit_n, or for
    # server-specific criteria x_n / (weight_n gamma_{n,i}) per server; the
    # arithmetic is the one of the candidate-wise form, so ties resolve alike.
    limit = state.limit
    open_ = act & (x < limit)
    share = x * unit if unit is not None else None
    inf = np.inf
    wg = None
    native = None
    if native_fill.OfferRounds.applies(state, open_, share):
        native = native_fill.OfferRounds(problem, state, open_, share, unit, static_gamma, fill_server)
    elif static_gamma:
        wg = np.ascontiguousarray((w[:, None] * state.gamma_full).T)  # servers x frameworks
    rounds = 0
    while max_rounds is None or rounds < max_rounds:
        rounds += 1
        rng.shuffle(servers)
        if native is not None:
            placed_any = native.run(servers)
        else:
            placed_any = False
            for i in servers:
                while True:
                    col = state.col(i)
                    ok = col > 0
                    ok &= open_
                    if unit is not None:
                        masked = np.where(ok, share, inf)
                    else:
                        with np.errstate(divide="ignore", invalid="ignore"):
                            masked = np.where(ok, x / (wg[i] if wg is not None else w * col), inf)
                    low = masked.min()
                    if low == inf:
                        break
                    # Equal shares (within float noise) go to the lowest framework index.
                    n = int(np.argmax(masked <= low + 1e-12 * max(1.0, abs(low))))
                    state.place(problem, n, i, 1)
                    if share is not None:
                        share[n] = x[n] * unit[n]
                    if x[n] >= limit[n]:
                        open_[n] = False
                    placed_any = True
                    if not fill_server:
                        break
        if not placed_any:
            break
    if native is not None:
        native.finish()
    label = name or f"{crit.name}_{'mesos' if fill_server else 'rr'}"
    return Allocation(problem, state.x_server, label, {"rounds": rounds})


class Reallocator:
    """Incremental progressive filling for frameworks that arrive and leave.

    Running tasks stay where they are (no preemption); after each event only
    the free capacity is handed out, by the same progressive filling and tie
    rule as `progressive_fill(problem, criterion, selection,
    initial=<current placement>, active=<current frameworks>)`, which is
    what a full re-fill gives and what the tests compare against.

    The saving is in what is not redone.  The FillState (and its room
    matrix) lives across events, and a fill ends with every active framework
    either at its cap or fitting nowhere, so after an event only these can
    take a task: the arriving framework, or, after a departure, the
    frameworks that fit one of the servers the departure freed.  Everyone
    else is left out of the heap without a frameworks x servers scan.

    Random selection keeps per-fill caches that assume capacity only
    shrinks, so each fill gets a fresh rule object (seeded seed + event
    number): results are reproducible, and equal to a re-fill that uses the
    same seed."""

    def __init__(self, problem: Problem, criterion: type[Criterion] | Criterion, selection: str | None = None,
                 seed: int = 0, active: np.ndarray | None = None):
        from .filling import FillState
        self.problem = problem
        self.crit = criterion(problem) if isinstance(criterion, type) else criterion
        self.selection = None if self.crit.server_specific else (selection or self.crit.default_selection)
        self.unit = None if self.crit.server_specific else self.crit.unit()
        self.seed = seed
        self.events = 0
        self.state = FillState(problem)
        self.active = np.zeros(problem.n_frameworks, dtype=bool) if active is None else np.array(active, bool)
        self._fill(np.flatnonzero(self.active))

    def selection_for_next_fill(self):
        """The rule object the next fill uses (a re-fill must use the same)."""
        from .filling import make_selection
        if self.selection is None:
            return None
        return make_selection(self.problem, self.selection, self.seed + self.events)

    def _fill(self, candidates: np.ndarray, servers: np.ndarray | None = None) -> None:
        """Fill among `candidates`; if `servers` is given, no candidate fits
        any other server, and deterministic rules fill only that part of the
        cluster (per-fill caches then cost candidates x those servers).  The
        random rules draw over the whole cluster to keep their streams."""
        from .filling import fill, make_selection
        mask = np.zeros(self.problem.n_frameworks, dtype=bool)
        mask[candidates] = True
        mask &= self.active
        if servers is not None and len(servers) == 0:
            pass  # nobody can take a task
        elif servers is not None and self.selection not in ("random", "rrr"):
            sub = self.state.restricted(servers)
            sel = None if self.selection is None else make_selection(sub.problem, self.selection, self.seed + self.events)
            fill(sub.problem, self.crit, sub, mask, sel, self.unit)
            self.state.absorb(sub, servers)
        else:
            sel = self.selection_for_next_fill()
            if servers is not None and hasattr(sel, "fits_only_on"):
                sel.fits_only_on(servers)
            fill(self.problem, self.crit, self.state, mask, sel, self.unit, all_fit=servers is not None)
        self.events += 1

    def arrive(self, n: int) -> None:
        if self.active[n]:
            raise ValueError(f"framework {self.problem.frameworks[n].name!r} is already active")
        self.active[n] = True
        # Everyone else fits nowhere (the last fill ended), so only the
        # servers the newcomer fits can change.
        self._fill(np.array([n]), np.flatnonzero(self._fits_on(n)))

    def leave(self, n: int) -> None:
        if not self.active[n]:
            raise ValueError(f"framework {self.problem.frameworks[n].name!r} is not active")
        self.active[n] = False
        state, p = self.state, self.problem
        freed = np.flatnonzero(state.x_server[n])
        for i in freed.tolist():
            state.release(n, i, int(state.x_server[n, i]))
        if len(freed) == 0:
            self.events += 1
            return
        # Who fits one of the freed servers now (the only ones that can gain).
        idx = np.flatnonzero(self.active & (state.x < state.limit))
        ok = p.fits_any(state.free, idx, freed)
        self._fill(idx[ok], freed)

    def _fits_on(self, n: int) -> np.ndarray:
        """Servers on which one task of n fits now."""
        need = self.problem.demand[n] > 0
        free = self.state.free[:, need]
        return self.problem.eligible[n] & (free >= self.problem.demand[n, need] - 1e-9).all(axis=1)

    def allocation(self, name: str | None = None) -> Allocation:
        return Allocation(self.problem, self.state.x_server.copy(), name or f"{self.crit.name} (online)")
