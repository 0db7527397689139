"""Incremental re-allocation when frameworks arrive and leave equals a full
re-fill from the same running tasks under the same tie rule."""
import numpy as np
import pytest

from fairshare.criteria import CRITERIA
from fairshare.filling import FillState, fill
from fairshare.online import Reallocator
from fairshare.workload import synthetic_problem

# (criterion, selection): every deterministic rule, and random with its seed.
CASES = [("drfh", None), ("bfdrf", None), ("psdsf", None), ("rpsdsf", None), ("drf", "residual"),
         ("tsf", "bestfit"), ("drf", "random"), ("drf", "rrr")]


def full_refill(problem, crit_name, realloc, x_running, active):
    state = FillState(problem, x_running)
    crit = CRITERIA[crit_name](problem)
    fill(problem, crit, state, active, realloc.selection_for_next_fill())
    return state.x_server


@pytest.mark.parametrize("crit_name,selection", CASES)
@pytest.mark.parametrize("size", [(12, 6), (200, 40)])
def test_events_equal_full_refill(crit_name, selection, size):
    p = synthetic_problem(size[0], size[1], 3, 0.3, seed=size[0])
    rng = np.random.default_rng(size[1])
    active = rng.random(p.n_frameworks) < 0.6
    r = Reallocator(p, CRITERIA[crit_name], selection, seed=3, active=active)
    assert r.allocation().is_feasible()
    _events_equal_full_refill(p, crit_name, r, rng, 12)


@pytest.mark.parametrize("crit_name", ["drf", "tsf"])
def test_random_rule_on_a_large_cluster_equals_full_refill(crit_name):
    """Above RandomFit.state_pick_min_servers the random rule draws by
    rejection sampling, and the re-allocator rebuilds its candidate lists
    from the servers an event changed only: the draws must not change."""
    from fairshare.selection.random_fit import RandomFit
    p = synthetic_problem(RandomFit.state_pick_min_servers + 400, 30, 4, 0.3, seed=5)
    rng = np.random.default_rng(7)
    r = Reallocator(p, CRITERIA[crit_name], seed=11, active=rng.random(p.n_frameworks) < 0.7)
    _events_equal_full_refill(p, crit_name, r, rng, 10)


def _events_equal_full_refill(p, crit_name, r, rng, events):
    for _ in range(events):
        n = int(rng.integers(p.n_frameworks))
        running = r.state.x_server.copy()
        if r.active[n]:
            running[n] = 0
            act = r.active.copy()
            act[n] = False
            expect = full_refill(p, crit_name, r, running, act)
            r.leave(n)
        else:
            act = r.active.copy()
            act[n] = True
            expect = full_refill(p, crit_name, r, running, act)
            r.arrive(n)
        assert np.array_equal(r.state.x_server, expect)
        assert not r.state.x_server[~r.active].any()
        assert r.allocation().is_feasible()


def test_fit_row_on_some_servers_is_the_whole_row_there():
    p = synthetic_problem(300, 20, 4, 0.3, seed=2)
    free = p.capacity * np.random.default_rng(1).random((p.n_servers, 1))
    servers = np.array([0, 3, 17, 120, 299])
    for n in range(p.n_frameworks):
        assert np.array_equal(p.fit_row(free, n, servers), p.fit_row(free, n)[servers])
        assert np.array_equal(p.fits_row(free, n, servers), p.fit_row(free, n)[servers] > 0)
    # On the edge: free exactly one task's demand, and a hair below it.
    d = p.demand[0]
    edge = np.vstack([d, d * (1 - 2e-9), d * (1 - 5e-10), np.zeros_like(d)])
    q = p.restricted(np.arange(4))
    q.eligible = np.ones((p.n_frameworks, 4), dtype=bool)
    assert np.array_equal(q.fits_row(edge, 0), q.fit_row(edge, 0) > 0)
    assert q.fits_row(edge, 0).tolist() == [True, False, True, False]


def test_fill_from_nothing_equals_progressive_fill():
    from fairshare.filling import progressive_fill
    p = synthetic_problem(50, 10, 3, 0.3, seed=1)
    r = Reallocator(p, CRITERIA["psdsf"], active=np.ones(p.n_frameworks, bool))
    assert np.array_equal(r.state.x_server, progressive_fill(p, CRITERIA["psdsf"]).x)


def test_event_errors_name_the_framework():
    p = synthetic_problem(12, 4, 3, 0.3, seed=1)
    r = Reallocator(p, CRITERIA["drfh"])
    with pytest.raises(ValueError, match="f0001.*not active"):
        r.leave(1)
    r.arrive(1)
    with pytest.raises(ValueError, match="already active"):
        r.arrive(1)
